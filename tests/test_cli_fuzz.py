"""The config surface of `physolve train`, fuzzed: random overrides of every key a config can
set (values of every type, wrong ones included, missing and unreadable files, unknown keys),
checked with --dry-run in this process. Whatever the input, the command either accepts it
(exit 0) or refuses it with exit status 2 and one line on stderr naming the section at fault;
no other exception, and no traceback, may come out.

PHYSOLVE_FUZZ_EXAMPLES sets the number of examples (default 50).
"""
import contextlib
import inspect
import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from physolve.cli import main
from physolve.config import CheckpointOptions, OutputOptions, config_dir
from physolve.models import solvers
from physolve.optim.registry import optimizers
from physolve.optim.stages import STAGE_KEYS
from physolve.pde.library import problems
from physolve.train.trainer import Trainer

EXAMPLES = int(os.environ.get("PHYSOLVE_FUZZ_EXAMPLES", "50"))

PROBLEMS = sorted(p.stem for p in (config_dir() / "problem").glob("*.yaml"))
MODELS = sorted(p.stem for p in (config_dir() / "model").glob("*.yaml"))
# Sizes that keep building cheap; a fuzzed key of the same name replaces its entry.
SMALL = {
    "pinn": {"width": 8, "depth": 2, "n_interior": 16, "n_boundary": 4},
    "pig": {"n_gaussians": 8, "n_interior": 16, "n_boundary": 4},
    "gp_spectral": {"grid": 8, "n_components": 2},
    "mgno": {"channels": 4, "layers": 2, "n_train": 2, "n_test": 1, "batch_size": 1},
}
SMALL_PROBLEM = {"darcy64": {"n": 16}}


def _keys(fn, skip=()) -> list[str]:
    return [n for n, p in inspect.signature(fn).parameters.items()
            if n not in skip and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _config(kind: str, stem: str) -> dict:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(config_dir() / kind / f"{stem}.yaml"))


def _own_keys(kind: str, stem: str, registry) -> list[str]:
    """The keys of a config file and of the signature of what it names (whose **options the
    file may list)."""
    config = _config(kind, stem)
    return sorted({*config, *_keys(registry.get(config["name"]))})


def keys_of(problem: str, model: str) -> list[str]:
    """Every key a config of this problem and model can set, by dotted path."""
    stage = sorted({*STAGE_KEYS, *_keys(optimizers.get("adam").factory, skip=("params",))})
    return ([f"problem.{k}" for k in _own_keys("problem", problem, problems)]
            + [f"model.{k}" for k in _own_keys("model", model, solvers)]
            + [f"trainer.{k}" for k in _keys(Trainer, skip=("stages", "callbacks"))]
            + [f"checkpoint.{k}" for k in _keys(CheckpointOptions)]
            + [f"output.{k}" for k in _keys(OutputOptions)]
            + ["optim.stages"] + [f"optim.stages.0.{k}" for k in stage]
            + ["resume", "problem", "model", "optim", "trainer", "checkpoint", "output"])


def _files(tmp: Path) -> dict[str, Path]:
    """Paths a config may name: missing, a directory, unreadable content."""
    junk = tmp / "junk.msh"
    junk.write_text("not a mesh\n")
    text = tmp / "notes.txt"
    text.write_text("1 2 3\n")
    return {"missing": tmp / "missing" / "plate.msh", "dir": tmp, "junk": junk, "text": text}


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render(value) -> str:
    """A value in Hydra's override syntax."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if value == value and abs(value) != float("inf") else \
            {"nan": "nan", "inf": "inf", "-inf": "-inf"}[repr(value)]
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, list):
        return "[" + ",".join(render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{render(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


WORDS = st.sampled_from(["adam", "lbfgs", "tanh", "float64", "sobol", "vtu", "xdmf", "u", "pde",
                         "cpu", "auto", "process", "wall", "gelu", "whitened", "spectrum", ""])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 40),
                    st.floats(-1e3, 1e3) | st.sampled_from([1e-3, float("nan"), float("inf")]),
                    WORDS, st.text("abcxyz019_.-/ ", max_size=8))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(["pde", "u", "a", "name", "steps"]),
                                        inner, max_size=2), max_leaves=5)


@st.composite
def commands(draw, files, cache):
    problem, model = draw(st.sampled_from(PROBLEMS)), draw(st.sampled_from(MODELS))
    settings_ = {"trainer.progress": False, "output.formats": [], "output.plots": False,
                 **({"model.cache_dir": str(cache)} if model == "mgno" else {}),
                 **{f"model.{k}": v for k, v in SMALL.get(model, {}).items()},
                 **{f"problem.{k}": v for k, v in SMALL_PROBLEM.get(problem, {}).items()}}
    keys = keys_of(problem, model)
    chosen = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["value", "value", "value", "file", "unknown", "raw"]))
        key = draw(st.sampled_from(keys))
        if kind == "unknown":
            key = f"{key.split('.')[0]}.{draw(st.sampled_from(['widht', 'x', 'lr_', 'mesh_']))}"
        if kind == "raw":  # text that Hydra's override grammar may not even parse
            chosen.append((key, draw(st.text("abc=[]{},:'\"$%\\ 1.e-", max_size=10)), True))
        else:
            value = str(files[draw(st.sampled_from(sorted(files)))]) if kind == "file" \
                else draw(VALUES)
            chosen.append((key, value, False))
    for key, value, raw in chosen:
        settings_[key] = (value, raw)
    args = [f"problem={problem}", f"model={model}"]
    for key, value in settings_.items():
        text, raw = value if isinstance(value, tuple) else (value, False)
        args.append(f"{key}={text if raw else render(text)}")
    return args, [k for k, _, _ in chosen]


def _section(key: str) -> str:
    return key.split(".")[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return _files(tmp_path_factory.mktemp("files"))


def test_fuzzed_overrides_exit_0_or_2_with_one_line(files, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("fuzz") / "run"
    cache = tmp_path_factory.mktemp("cache")
    seen = {"accepted": 0, "refused": 0}

    # No shrinking: each example runs the command (~0.1 s), shrinking one failure takes minutes,
    # and the assertion messages already give the failing command line.
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(commands(files, cache))
    @example((["problem=poisson1d", "model=pinn", "trainer.progress=false",
               "output.formats=[]", "model.width=4", "model.n_interior=8"], ["model.width"]))
    @example((["problem=poisson1d", "model=pinn", "optim=[true]",
               "optim.stages.0.lr=0.1"], ["optim", "optim.stages.0.lr"]))  # Hydra's TypeError
    def check(command):
        args, keys = command
        argv = ["train", *args, "--dry-run", f"hydra.run.dir={run_dir}"]
        err = io.StringIO()
        code = 0
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                main(argv)
            except SystemExit as exit_:
                code = exit_.code
        text = err.getvalue()
        assert "Traceback" not in text, (argv, text)
        assert code in (0, 2), (argv, code, text)
        assert not run_dir.exists(), argv  # a dry run writes nothing
        if code == 2:
            lines = [line for line in text.splitlines() if line.startswith("physolve: ")]
            assert len(lines) == 1 and text.rstrip().endswith(lines[0]), (argv, text)
            named = {_section(k) for k in keys} | {"problem", "model"}
            assert any(name in lines[0] for name in named), (argv, lines[0])
            seen["refused"] += 1
        else:
            seen["accepted"] += 1

    check()
    # Both outcomes occur (a valid command is among the explicit examples).
    assert seen["refused"] > 0 and seen["accepted"] > 0, seen
