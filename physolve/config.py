"""Run configs: check a composed config against the registries, then build the run's objects.

A config (docs/configs.md) names registered objects and gives their keyword arguments:

    problem: {name: burgers, hard: true}           -> physolve.pde.problems
    model:   {name: pinn, width: 32}               -> physolve.models.solvers
    optim:   {stages: [{name: adam, steps: 2000}]} -> physolve.optim.optimizers
    trainer: {dtype: float64, seed: 0}             -> physolve.train.Trainer
    checkpoint: {every: 500}     output: {formats: [vtu], ...}

The schema is read from the registered callables themselves -- their signatures and type
annotations -- so a new problem, solver or optimizer needs no schema of its own. `validate`
rejects an unknown key, a value of the wrong type or an unregistered name with a ConfigError
naming the key's dotted path and what is allowed; `build` constructs the objects and reports
the constructors' own complaints the same way. Nothing here imports a path named in a config.
"""
from __future__ import annotations

import inspect
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

SECTIONS = ("problem", "model", "optim", "trainer", "checkpoint", "output")
# Top-level keys besides the sections: resume names a run directory to continue; the runner
# (physolve.runner.resume_config) acts on it, the spec does not hold it.
TOP_LEVEL = (*SECTIONS, "resume")
# Trainer arguments that a config cannot give: stages come from optim, callbacks from the run.
_TRAINER_EXCLUDED = ("stages", "callbacks")


class ConfigError(ValueError):
    """An invalid config; `path` is the dotted key at fault ("model.width")."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


def config_dir() -> Path:
    """The directory of the Hydra config groups shipped with physolve.

    configs/ lives at the repository root. A wheel carries a copy inside the package (setup.py
    copies it at build time); an editable install or a source checkout reads the repository's
    own directory, so edits to the configs take effect without reinstalling.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "configs", here.parent / "configs"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"physolve's configs were not found next to {here}: reinstall "
                            "physolve (pip install physolve) or run from a source checkout")


# --- options of the run itself ------------------------------------------------------------
@dataclass
class CheckpointOptions:
    """every: steps between checkpoints (0: only at the end of each stage).
    every_s: seconds of training, on the trainer's clock, between checkpoints (0: off); a run
    killed before its first step checkpoint then still loses at most that much."""

    every: int = 500
    every_s: float = 60.0

    def __post_init__(self):
        if self.every < 0:
            raise ConfigError("checkpoint.every", f"must be >= 0, got {self.every}")
        if not self.every_s >= 0 or self.every_s == float("inf"):
            raise ConfigError("checkpoint.every_s", f"must be a finite number >= 0, got "
                              f"{self.every_s}")


OUTPUT_FORMATS = ("vtu", "xdmf")


@dataclass
class OutputOptions:
    """What a run writes after training (see physolve.io).

    formats: VTK formats, "vtu" (a PVD index for time series) and/or "xdmf".
    resolution: points along the longest side of the output mesh (None: by dimension).
    times: output times of a time-dependent problem.  plots: PNGs of solution, error, loss.
    vectors: vector arrays, name -> 2 or 3 outputs (None: u, v[, w] when they match).
    points_every: write the interior collocation points of every so many sampling rounds
        (points/points_<round>.vtu, plots/points_<round>.png; 0: never).
    """

    formats: list[str] = field(default_factory=lambda: ["vtu"])
    resolution: int | None = None
    times: int = 11
    plots: bool = True
    vectors: dict[str, list[str]] | None = None
    points_every: int = 0

    def __post_init__(self):
        for i, f in enumerate(self.formats):
            if f not in OUTPUT_FORMATS:
                raise ConfigError(f"output.formats[{i}]", f"unknown format {f!r}; allowed: "
                                  f"{', '.join(OUTPUT_FORMATS)}")
        if self.resolution is not None and self.resolution < 2:
            raise ConfigError("output.resolution", f"must be >= 2 or null, got {self.resolution}")
        if self.times < 1:
            raise ConfigError("output.times", f"must be >= 1, got {self.times}")
        if self.points_every < 0:
            raise ConfigError("output.points_every", f"must be >= 0, got {self.points_every}")


@dataclass
class RunSpec:
    """A validated config: registered names with checked keyword arguments."""

    problem: str
    problem_args: dict
    model: str
    model_args: dict
    stages: list
    trainer_args: dict
    checkpoint: CheckpointOptions
    output: OutputOptions


# --- type checking against annotations ------------------------------------------------------
_SCALARS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
_LISTS = ("list", "Sequence", "Iterable", "tuple")
_MAPS = ("dict", "Mapping")


def _kind(hint) -> str | None:
    """"list", "map", "scalar", "union", "literal", "any", "none", or None for a Python object
    type (a module, a tensor, a callable) that no config can express."""
    origin = typing.get_origin(hint) or hint
    if hint is Any:
        return "any"
    if hint is type(None):
        return "none"
    if origin in (typing.Union, types.UnionType):
        return "union"
    if origin is typing.Literal:
        return "literal"
    if hint in _SCALARS:
        return "scalar"
    name = getattr(origin, "__name__", "")
    if getattr(origin, "__module__", "") in ("builtins", "collections.abc", "typing"):
        if name in _LISTS:
            return "list"
        if name in _MAPS:
            return "map"
    return None


def _describe(hint) -> str:
    kind, args = _kind(hint), typing.get_args(hint)
    if kind == "union":
        return " or ".join(_describe(a) for a in args if _kind(a) is not None)
    if kind == "list":
        fixed = typing.get_origin(hint) is tuple and args and args[-1] is not Ellipsis
        return (f"a list of {len(args)} values" if fixed else
                f"a list of {_describe(args[0]) if args else 'values'}")
    if kind == "map":
        return f"a mapping to {_describe(args[1])}" if args else "a mapping"
    return {"any": "any value", "none": "null", "scalar": _SCALARS.get(hint),
            "literal": "one of " + ", ".join(repr(a) for a in args)}.get(kind) or str(hint)


class _Mismatch(Exception):
    pass


def _not_settable(hint, path: str) -> ConfigError:
    return ConfigError(path, f"cannot be set from a config (it takes a Python object, "
                       f"{getattr(hint, '__name__', hint)}); leave it out")


def _coerce(value, hint, path: str):
    """`value` checked against `hint` (ints pass as floats, lists as tuples); else raise."""
    kind, args = _kind(hint), typing.get_args(hint)
    if kind is None:
        raise _not_settable(hint, path)
    if kind == "any":
        return value
    if kind == "none":
        if value is None:
            return None
        raise _Mismatch
    if kind == "union":
        members = [a for a in args if _kind(a) is not None]
        if value is not None and all(_kind(a) == "none" for a in members):
            raise _not_settable(next(a for a in args if _kind(a) is None), path)
        for a in members:
            try:
                return _coerce(value, a, path)
            except _Mismatch:
                continue
        raise _Mismatch
    if kind == "literal":
        if value in args:
            return value
        raise _Mismatch
    if kind == "list":
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        if typing.get_origin(hint) is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise _Mismatch
            return tuple(check_value(v, a, f"{path}[{i}]")
                         for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        out = [check_value(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if (typing.get_origin(hint) or hint) is tuple else out
    if kind == "map":
        if not isinstance(value, Mapping):
            raise _Mismatch
        kt, vt = args if args else (Any, Any)
        return {check_value(k, kt, f"{path}.{k}"): check_value(v, vt, f"{path}.{k}")
                for k, v in value.items()}
    # scalars: bool is not an int here, an int is a float
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    raise _Mismatch


def check_value(value, hint, path: str):
    try:
        return _coerce(value, hint, path)
    except _Mismatch:
        hint_text = ""
        if isinstance(value, str) and _is_number(value):
            hint_text = " (YAML reads numbers such as 1e-3 as strings: write 1.0e-3)"
        raise ConfigError(path, f"expected {_describe(hint)}, got {value!r} "
                          f"({type(value).__name__}){hint_text}") from None


def _is_number(text: str) -> bool:
    return re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text.strip()) is not None


def _parameters(fn: Callable, skip=()) -> tuple[dict[str, tuple[Any, Any]], bool]:
    """name -> (type hint, default) of fn's keyword parameters; and whether it takes **kw.

    Parameters without an annotation take the type of their default (Any if it is None)."""
    target = fn.__init__ if inspect.isclass(fn) else fn
    sig = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(target)
    except Exception:  # annotations naming types that cannot be resolved here
        hints = {}
    params, var_kw = {}, False
    for name, p in sig.parameters.items():
        if p.kind == p.VAR_KEYWORD:
            var_kw = True
        if name in skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        hint = hints.get(name)
        if hint is None:
            hint = Any if p.default is p.empty or p.default is None else type(p.default)
        params[name] = (hint, p.default)
    return params, var_kw


def check_arguments(values: Mapping, fn: Callable, path: str, skip=(), reserved=()
                    ) -> dict:
    """Keyword arguments for fn: unknown keys, missing required ones and types are errors."""
    params, var_kw = _parameters(fn, skip)
    out = {}
    for key, value in values.items():
        if key in reserved:
            continue
        if key not in params:
            if var_kw:
                out[key] = value
                continue
            allowed = sorted({*params, *reserved})
            raise ConfigError(f"{path}.{key}" if path else key,
                              f"unknown key; allowed keys: {', '.join(allowed) or 'none'}")
        out[key] = check_value(value, params[key][0], f"{path}.{key}" if path else key)
    missing = [k for k, (_, d) in params.items() if d is inspect.Parameter.empty and k not in out]
    if missing:
        raise ConfigError(f"{path}.{missing[0]}", "is required but missing")
    return out


def _section(config: Mapping, key: str) -> Mapping:
    value = config.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"expected a mapping, got {value!r}")
    return value


def _registered_name(section: Mapping, registry, path: str) -> str:
    name = section.get("name")
    if name is None:
        raise ConfigError(f"{path}.name", f"is required; allowed: {', '.join(registry.names())}")
    if not isinstance(name, str) or name not in registry:
        raise ConfigError(f"{path}.name", f"unknown {registry.kind} {name!r}; allowed: "
                          f"{', '.join(registry.names())}")
    return name


def _options(cls, values: Mapping, path: str):
    """A dataclass of run options from a mapping, checked like a constructor's arguments."""
    args = check_arguments(values, cls, path)
    return cls(**args)


# --- validation ---------------------------------------------------------------------------
def validate(config: Mapping) -> RunSpec:
    """Check a composed config (plain dicts and lists) and return the run's spec."""
    from .models import solvers
    from .optim.registry import optimizers
    from .pde.library import problems
    from .train.trainer import Trainer

    if not isinstance(config, Mapping):
        raise ConfigError("", f"a config is a mapping with keys {', '.join(SECTIONS)}")
    for key in config:
        if key not in TOP_LEVEL:
            raise ConfigError(str(key), f"unknown key; allowed keys: {', '.join(TOP_LEVEL)}")
    check_value(config.get("resume"), str | None, "resume")

    problem = _section(config, "problem")
    pname = _registered_name(problem, problems, "problem")
    pargs = check_arguments(problem, problems.get(pname), "problem", reserved=("name",))

    model = _section(config, "model")
    mname = _registered_name(model, solvers, "model")
    margs = check_arguments(model, solvers.get(mname), "model", reserved=("name",))

    optim = _section(config, "optim")
    for key in optim:
        if key != "stages":
            raise ConfigError(f"optim.{key}", "unknown key; allowed keys: stages")
    stages = optim.get("stages")
    if not isinstance(stages, list) or not stages:
        raise ConfigError("optim.stages", "expected a non-empty list of stages such as "
                          "{name: adam, steps: 1000, lr: 1.0e-3}")
    stage_list = [_stage(s, f"optim.stages[{i}]", optimizers) for i, s in enumerate(stages)]

    targs = check_arguments(_section(config, "trainer"), Trainer, "trainer",
                            skip=_TRAINER_EXCLUDED)
    return RunSpec(pname, pargs, mname, margs, stage_list, targs,
                   _options(CheckpointOptions, _section(config, "checkpoint"), "checkpoint"),
                   _options(OutputOptions, _section(config, "output"), "output"))


def _stage(spec, path: str, optimizers):
    from .optim.stages import STAGE_KEYS, Stage, parse_stage

    if not isinstance(spec, Mapping):
        raise ConfigError(path, f"expected a mapping such as {{name: adam, steps: 1000}}, "
                          f"got {spec!r}")
    name = _registered_name(spec, optimizers, path)
    if "steps" not in spec:
        raise ConfigError(f"{path}.steps", "is required (the stage's step budget)")
    own = check_arguments({k: v for k, v in spec.items() if k in STAGE_KEYS}, Stage, path,
                          skip=("options",))
    options = check_arguments({k: v for k, v in spec.items() if k not in STAGE_KEYS},
                              optimizers.get(name).factory, path, skip=("params",),
                              reserved=STAGE_KEYS)
    return _built(lambda: parse_stage({**own, **options}), path, {**own, **options})


# --- building -----------------------------------------------------------------------------
def _built(make: Callable, path: str, keys: Mapping):
    """make(); a ValueError or TypeError becomes a ConfigError on the key its message names."""
    try:
        return make()
    except ConfigError:
        raise
    except (ValueError, TypeError) as err:
        text = str(err)
        named = [k for k in keys if re.search(rf"\b{re.escape(str(k))}\b", text)]
        raise ConfigError(f"{path}.{named[0]}" if len(named) == 1 else path, text) from None


def _check_pairing(problem, solver, spec: RunSpec) -> None:
    """A problem family (inputs drawn at random, physolve.pde.families) is learned by an
    operator solver, one problem by the others; the operator solvers check the first case
    themselves, the pointwise ones would fail deep inside their setup."""
    from .models.operator import OperatorSolver

    if hasattr(problem, "input_fields") and not isinstance(solver, OperatorSolver):
        from .models import solvers

        operators = [n for n in solvers.names() if isinstance(solvers.get(n), type)
                     and issubclass(solvers.get(n), OperatorSolver)]
        raise ConfigError("model.name", f"{spec.model!r} solves one problem, but "
                          f"{spec.problem!r} is a problem family; choose an operator solver: "
                          f"{', '.join(operators)}")


def build(spec: RunSpec, callbacks=()):
    """(problem, solver, trainer) for a validated spec, checked by setting the solver up."""
    from .models import solvers
    from .pde.library import problems
    from .train.trainer import Trainer

    problem = _built(lambda: problems.get(spec.problem)(**spec.problem_args), "problem",
                     spec.problem_args)
    solver = _built(lambda: solvers.get(spec.model)(**spec.model_args), "model", spec.model_args)
    trainer = _built(lambda: Trainer(spec.stages, callbacks=callbacks, **spec.trainer_args),
                     "trainer", spec.trainer_args)
    _check_pairing(problem, solver, spec)
    # Setting up builds the network and draws the points: the remaining argument checks
    # (activation names, loss weights of unknown terms, ...) happen here, before training.
    _built(lambda: solver.setup(problem, dtype=trainer.dtype, device=trainer.device,
                                seed=trainer.seed), "model", spec.model_args)
    if spec.output.vectors:
        from .io.vtk import vector_groups

        _built(lambda: vector_groups(problem.outputs, len(problem.spatial), spec.output.vectors),
               "output", {"vectors": None})
    return problem, solver, trainer
