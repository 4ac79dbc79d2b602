"""The `physolve` command: train from configs, list what is registered, export saved runs.

    physolve train problem=burgers model.width=64 trainer.dtype=float64
    physolve train -m model.width=20,40                      # a Hydra multirun sweep
    physolve train experiment=burgers_pinn hydra.run.dir=runs/b1
    physolve train resume=runs/b1                            # continue an interrupted run
    physolve train problem=burgers model.width=64 --dry-run  # check the config, train nothing
    physolve list
    physolve export runs/b1 --format xdmf --resolution 201

Exit status: 0 done, 1 failed (or the loss diverged), 2 invalid config or arguments.

`train` hands its arguments to Hydra after two steps of its own. Every key=value override
becomes ++key=value, so any argument of a registered problem, solver or optimizer can be set
even when its config file does not list it; whether it exists is then decided by physolve's
validation (physolve.config), which names the key and the allowed values. And every job of
the command is composed, validated and built (problem, solver, trainer) before the first one
starts, so a bad value in a sweep stops it at once, with exit status 2 rather than a traceback.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

CONFIG_ERROR = 2
# Hydra options after which the command does not train (it prints and exits).
_HYDRA_INFO = ("help", "hydra_help", "cfg", "info", "shell_completion")


def _fail(message: str, status: int = CONFIG_ERROR, one_line: bool = True):
    """Print the refusal and exit; one line (the messages of Hydra, YAML and the constructors
    may span several) so that the key it names is where a reader and a script look."""
    if one_line:
        message = " ".join(message.split())
    print(f"physolve: {message}", file=sys.stderr)
    raise SystemExit(status)


# --- train ----------------------------------------------------------------------------------
def _parse_overrides(overrides: list[str]):
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser, parsed = OverridesParser.create(), []
    for text in overrides:  # one at a time, so that the message names the one at fault
        try:
            parsed += parser.parse_overrides([text])
        except OverrideParseException as err:
            _fail(f"cannot read the override {text!r}: {err}")
    return parsed


def _is_group(key: str, search: list[Path]) -> bool:
    return key.startswith("hydra/") or any((d / key).is_dir() for d in search)


def _prepare(overrides: list[str], search: list[Path]) -> tuple[list[str], list]:
    """Overrides with key=value turned into ++key=value (see the module doc), and parsed."""
    parsed = _parse_overrides(overrides)
    out = []
    for text, ov in zip(overrides, parsed):
        plain = not (ov.is_add() or ov.is_force_add() or ov.is_delete() or ov.package)
        key = ov.key_or_group
        if plain and not key.startswith("hydra.") and not _is_group(key, search):
            text = "++" + text
        out.append(text)
    return out, _parse_overrides(out)


def _jobs(parsed, multirun: bool) -> list[list[str]]:
    """The override lists of the jobs a command will run (sweeps expanded)."""
    fixed, sweeps = [], []
    for ov in parsed:
        if ov.key_or_group.startswith("hydra.") or ov.key_or_group.startswith("hydra/"):
            continue
        element = ov.get_key_element()
        if ov.is_sweep_override():
            if not multirun:
                _fail(f"{ov.input_line!r} sweeps several values: add -m (--multirun)")
            sweeps.append([f"{element}={v}" for v in ov.sweep_string_iterator()])
        else:
            fixed.append(ov.input_line)
    return [fixed + list(combo) for combo in itertools.product(*sweeps)]


def _compose(job: list[str], config_name: str, search: list[Path]) -> dict:
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException, MissingConfigException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    extra = [f"hydra.searchpath=[{','.join('file://' + str(d) for d in search[1:])}]"] \
        if len(search) > 1 else []
    try:
        with initialize_config_dir(config_dir=str(search[0]), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=job + extra)
        return OmegaConf.to_container(cfg, resolve=True)
    except MissingConfigException as err:
        if err.options is None or not err.missing_cfg_file:
            _fail(str(err).strip())
        group, _, name = err.missing_cfg_file.rpartition("/")
        _fail(f"invalid config: {group}: no config {name!r} in configs/{group}/; allowed: "
              f"{', '.join(err.options)}")
    except (HydraException, OmegaConfBaseException) as err:
        # some of Hydra's composition errors carry no text (a config group given a list,
        # problem=[{}]): then the overrides are what the message names
        _fail(str(err).strip() or f"invalid config: the overrides {' '.join(job)} cannot be "
              f"composed ({type(err).__name__})")
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as err:
        # Hydra applies overrides that contradict each other (optim=[true] and then
        # optim.stages.0.lr=...) without a check of its own and fails inside; the overrides
        # are the only input here, so they are what the message names.
        _fail(f"invalid config: the overrides {' '.join(job)} cannot be applied together "
              f"({type(err).__name__}: {err})")


def _resume_target(parsed) -> str | None:
    for ov in parsed:
        if ov.key_or_group == "resume" and not ov.is_delete():
            value = ov.value()
            if value is not None and not isinstance(value, str):
                _fail(f"invalid config: resume: expected a run directory, got {value!r}")
            return value
    return None


def _explicit(job: list[str]) -> bool:
    """Whether a job's overrides set anything besides resume=."""
    return any(o.lstrip("+~").split("=", 1)[0] != "resume" for o in job)


def _preflight(args, overrides: list[str], parsed, search: list[Path]) -> list[str]:
    """Check every job of the command; return the overrides to hand to Hydra."""
    from .config import ConfigError, build, validate
    from .runner import resume_config

    resume = _resume_target(parsed)
    if resume is not None:
        if args.multirun:
            _fail("resume continues one run; it cannot be combined with -m (--multirun)")
        if not any(ov.key_or_group == "hydra.run.dir" for ov in parsed):
            overrides = [*overrides, f"hydra.run.dir={resume}"]  # continue in its directory
    for job in _jobs(parsed, args.multirun):
        config = _compose(job, args.config_name or "config", search)
        config.pop("resume", None)
        try:
            if resume is not None:
                config = resume_config(config, resume, _explicit(job))
            build(validate(config))  # constructing checks values too (names of activations...)
        except ConfigError as err:
            _fail(f"invalid config: {err}")
    return overrides


def _train_job(cfg) -> None:
    """One Hydra job: train into Hydra's output directory, print the directory last."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from .config import ConfigError
    from .runner import resume_config, train_run
    from .train.trainer import TrainingDiverged

    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    config = OmegaConf.to_container(cfg, resolve=True)
    resume = config.pop("resume", None)
    try:
        if resume is not None:
            config = resume_config(config, resume, _explicit(list(hydra_cfg.overrides.task)))
            run_dir = Path(resume)
        train_run(config, run_dir, resume=resume is not None)
    except ConfigError as err:
        _fail(f"invalid config: {err}")
    except TrainingDiverged as err:
        print(run_dir)
        _fail(f"training diverged: {err}", status=1)
    print(run_dir, flush=True)


DRY_RUN = "--dry-run"


def _nproc(argv: list[str]) -> int:
    for a in argv:
        if a.lstrip("+").startswith("trainer.nproc="):
            value = a.split("=", 1)[1]
            if not value.isdigit() or int(value) < 1:
                _fail(f"invalid config: trainer.nproc={value!r}: an integer >= 1 is allowed")
            return int(value)
    return 1


def _launch(argv: list[str], nproc: int) -> None:
    """Run `physolve train argv` on `nproc` ranks through torch.distributed.run (one node).
    Every rank must write into one run directory, so one is fixed here when none is given."""
    import subprocess
    import time

    if not any(a.startswith("hydra.run.dir=") for a in argv) and "-m" not in argv \
            and "--multirun" not in argv and not any(a.startswith("resume=") for a in argv):
        stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
        argv = [*argv, "hydra.run.dir=outputs/${problem.name}/" + stamp]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc}", "-m", "physolve", "train", *argv]
    status = subprocess.call(cmd)
    if status:
        _fail(f"distributed run on {nproc} ranks failed (exit status {status}); the failing "
              "rank's error is printed above by torch.distributed.run", status=status or 1)


def train(argv: list[str]) -> None:
    import os

    nproc = _nproc(argv)
    if nproc > 1 and int(os.environ.get("WORLD_SIZE", "1")) == 1 and DRY_RUN not in argv:
        return _launch(argv, nproc)
    import hydra
    from hydra._internal.utils import get_args_parser  # the parser hydra.main itself uses

    from .config import config_dir

    # --dry-run is physolve's own option: check every job (compose, validate, build the
    # problem and the solver) and stop before training; Hydra's parser never sees it.
    dry_run = DRY_RUN in argv
    argv = [a for a in argv if a != DRY_RUN]
    args = get_args_parser().parse_args(argv)
    search = [config_dir()]
    if args.config_dir:
        extra = Path(args.config_dir).resolve()
        if not extra.is_dir():
            _fail(f"--config-dir: {args.config_dir} is not a directory")
        search.append(extra)
    overrides, parsed = _prepare(args.overrides, search)
    if not any(getattr(args, name, None) for name in _HYDRA_INFO):
        overrides = _preflight(args, overrides, parsed, search)
        if dry_run:
            n = len(_jobs(parsed, args.multirun))
            print(f"config valid: {n} job{'s' if n != 1 else ''} checked, nothing trained")
            return
    argv = [a for a in argv if a not in args.overrides] + overrides
    entry = hydra.main(config_path=str(search[0]), config_name="config",
                       version_base="1.3")(_train_job)
    saved = sys.argv
    sys.argv = ["physolve train", *argv]
    try:
        entry()
    finally:
        sys.argv = saved


# --- list and export --------------------------------------------------------------------------
def _summary(obj, width: int = 96) -> str:
    """The first paragraph of a docstring (or an optimizer's description), on one line."""
    doc = getattr(obj, "description", "") or (obj.__doc__ or "")
    text = " ".join(doc.strip().split("\n\n")[0].split())
    return text if len(text) <= width else text[:width - 3].rstrip() + "..."


def list_registered() -> None:
    from .config import config_dir
    from .models import solvers
    from .optim.registry import optimizers
    from .pde.library import problems

    for title, registry in (("problems", problems), ("solvers", solvers),
                            ("optimizers", optimizers)):
        print(f"{title}:")
        for name in registry.names():
            print(f"  {name:<20} {_summary(registry.get(name))}")
    experiments = sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))
    print("experiments (physolve train experiment=NAME):")
    for name in experiments:
        print(f"  {name}")


def export(argv: list[str]) -> None:
    from .config import ConfigError
    from .runner import export_run

    parser = argparse.ArgumentParser(
        prog="physolve export", description="Evaluate a saved run's model on a new mesh and "
        "write it for ParaView.")
    parser.add_argument("run_dir", help="a run directory written by `physolve train`")
    parser.add_argument("--format", choices=("vtu", "xdmf"), default="vtu",
                        help="vtu: VTU files (a PVD index for time series); xdmf: XDMF + HDF5")
    parser.add_argument("--resolution", type=int, default=None,
                        help="points along the longest side of the domain")
    parser.add_argument("--times", type=int, default=None,
                        help="output times of a time-dependent problem")
    parser.add_argument("--out", default=None, help="output directory (default: RUN_DIR/export)")
    parser.add_argument("--device", default=None, help="evaluate on this device (default: the "
                        "run's own)")
    args = parser.parse_args(argv)
    try:
        files = export_run(args.run_dir, args.format, args.resolution, args.times, args.out,
                           args.device)
    except (ConfigError, FileNotFoundError) as err:
        _fail(str(err))
    for f in files:
        print(f)
    print(files[0].parent)


USAGE = """usage: physolve train [Hydra options] [key=value ...]   train from configs
       physolve train [...] --dry-run                      check the configs, train nothing
       physolve list                                       registered names, experiments
       physolve export RUN_DIR [--format vtu|xdmf] [...]   re-evaluate a saved run
See `physolve train --help`, `physolve export --help` and docs/configs_and_output.md."""


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    command, rest = (argv[0], argv[1:]) if argv else (None, [])
    if command == "train":
        train(rest)
    elif command == "export":
        export(rest)
    elif command == "list":
        list_registered()
    elif command in ("-h", "--help"):
        print(USAGE)
    else:
        _fail(f"unknown command {command!r}\n{USAGE}" if command else USAGE, one_line=False)


if __name__ == "__main__":
    main()
