"""Jobs from configs: train into a run directory, resume an interrupted run, export a saved one.

The command line (physolve.cli) composes configs with Hydra and calls these; they take plain
mappings, so the same runs can be started from Python:

    from physolve.runner import train_run
    train_run({"problem": {"name": "poisson1d"}, "model": {"name": "pinn"},
               "optim": {"stages": [{"name": "adam", "steps": 500}]}}, "runs/p1")
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

from .config import ConfigError, build, validate
from .io.rundir import MetricsLog, RunDir, TrainLog, run_log, write_json, write_outputs
from .train.checkpoint import Checkpoint, load_checkpoint
from .train.trainer import TrainingDiverged


def save_config(config: Mapping, path: str | Path) -> None:
    from omegaconf import OmegaConf

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create(dict(config)), path)


def load_config(path: str | Path) -> dict:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(path), resolve=True)


def differences(a, b, path: str = "") -> list[str]:
    """Dotted paths where two nested configs differ."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            out += differences(a.get(key), b.get(key), sub) if key in a and key in b else [sub]
        return out
    return [] if a == b else [path]


def resume_config(given: Mapping, run_dir: str | Path, explicit: bool) -> dict:
    """The config to resume `run_dir` with: its saved one. `explicit`: the command line set
    more than `resume=`; then those settings must be the run's own."""
    run = RunDir(run_dir)
    for path, what in ((run.config, "config.yaml"), (run.checkpoint, "checkpoint")):
        if not path.is_file():
            raise ConfigError("resume", f"{run.root} is not a physolve run directory with a "
                              f"checkpoint (no {what} at {path})")
    try:  # a run directory whose files are not physolve's is refused like a missing one
        saved = load_config(run.config)
        load_checkpoint(run.checkpoint)
    except Exception as err:  # omegaconf's, torch.load's and pickle's errors by content
        raise ConfigError("resume", f"{run.root} is not a physolve run directory with a "
                          f"checkpoint (cannot read it: {type(err).__name__}: "
                          f"{' '.join(str(err).split())})") from None
    if not isinstance(saved, dict):
        raise ConfigError("resume", f"{run.root} is not a physolve run directory with a "
                          f"checkpoint ({run.config} holds no mapping)")
    if "seed" in (saved.get("trainer") or {}) and saved["trainer"]["seed"] is None:
        raise ConfigError("resume", f"{run.root} was trained without a seed, so its points "
                          "cannot be drawn again: only runs with a seed can be resumed")
    if explicit:
        diff = differences(dict(given), saved)
        if diff:
            raise ConfigError("resume", f"the config differs from the run being resumed at "
                              f"{', '.join(diff)}; a resumed run keeps its own settings: repeat "
                              "its command line with resume=<run dir>, or give resume= alone")
    return saved


def train_run(config: Mapping, run_dir: str | Path, resume: bool = False):
    """Validate `config`, train, and write everything into `run_dir`; returns the Solution.

    resume: continue from the run directory's checkpoint (config: the run's saved one).
    Raises ConfigError before any training when the config is invalid.
    """
    from .train import distributed
    run = RunDir(run_dir)
    spec = validate(config)
    checkpoint = load_checkpoint(run.checkpoint) if resume else None
    main = distributed.is_main()  # rank 0 alone writes (checkpoints, metrics, VTK, logs)
    with run_log(run.train_log if main
                 else Path(run_dir) / f"train.rank{distributed.rank()}.log") as log:
        callbacks = ([MetricsLog(run.metrics_log), TrainLog(log),
                      Checkpoint(run.checkpoint, spec.checkpoint.every, spec.checkpoint.every_s)]
                     if main else [])
        if main and spec.output.points_every:
            from .io.points import PointsWriter

            callbacks.append(PointsWriter(run.root, spec.output.points_every))
        problem, solver, trainer = build(spec, callbacks)
        if not resume and main:
            save_config(config, run.config)
        try:
            solution = trainer.fit(problem, solver, resume=checkpoint)
        except TrainingDiverged as err:
            log.error("%s", err)
            if main:
                write_json(run.metrics, {**err.solution.metrics(),
                                         "status": err.solution.status,
                                         "world_size": distributed.world_size()})
            raise
        if not main:
            return solution
        # the final loss and its terms by name (loss_<equation>, loss_<condition>)
        terms = {k: v for k, v in (solution.history[-1] if solution.history else {}).items()
                 if k.startswith("loss_")}
        write_json(run.metrics, {**solution.metrics(), "status": solution.status,
                                 "loss": solution.final_loss(), **terms,
                                 "world_size": distributed.world_size()})
        files = write_outputs(run, problem, solver, solution.history, spec.output)
        log.info("wrote %d output files under %s", len(files), run.root)
    return solution


def load_run(run_dir: str | Path, device: str | None = None):
    """(problem, solver, spec) of a saved run, the solver holding its last checkpoint."""
    run = RunDir(run_dir)
    if not run.config.is_file():
        raise ConfigError("run_dir", f"{run.root} has no config.yaml: not a physolve run "
                          "directory")
    config = load_config(run.config)
    if device is not None:
        config.setdefault("trainer", {})["device"] = device
    spec = validate(config)
    problem, solver, _ = build(spec)
    solver.load_state_dict(load_checkpoint(run.checkpoint)["solver"])
    return problem, solver, spec


def export_run(run_dir: str | Path, fmt: str = "vtu", resolution: int | None = None,
               times: int | None = None, out: str | Path | None = None,
               device: str | None = None) -> list[Path]:
    """Evaluate a saved run's model on a new mesh and write it for ParaView."""
    from .io.vtk import FORMATS, solution_path, write_solution

    if fmt not in FORMATS:
        raise ConfigError("format", f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    problem, solver, spec = load_run(run_dir, device)
    out = Path(out) if out is not None else RunDir(run_dir).root / "export"
    return write_solution(problem, solver, solution_path(out, fmt), resolution,
                          times or spec.output.times, spec.output.vectors)
