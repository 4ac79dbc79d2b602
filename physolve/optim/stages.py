"""Multi-stage optimisation schedules: "adam:15000", then "lbfgs:5000", ...

A stage names a registered optimizer, a step budget and options. Stages are written as strings
("adam:5000", "adam:5000:lr=1e-3") or mappings ({"name": "lbfgs", "steps": 5000, "tol": 1e-12}).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from .batch_size import NormTest
from .registry import optimizers
from .schedules import schedule_spec

# Keys of a stage that the trainer interprets; everything else goes to the optimizer.
STAGE_KEYS = ("name", "steps", "tol", "time_limit", "decay", "resample", "schedule", "batch")


@dataclass
class Stage:
    """One optimisation stage.

    name: a registered optimizer.  steps: iteration budget.
    tol: end the stage once the loss falls below this.
    time_limit: end the stage after this many seconds.
    decay: the learning rate falls exponentially to lr * decay by the end of the stage.
    resample: draw new collocation points during this stage (default: only for optimizers
        that take no closure; a line search needs a fixed objective).
    schedule: a learning-rate schedule from physolve.optim.schedules, by name or as a mapping
        {name: onecycle, pct_start: 0.3, ...}; `decay` is the same as {name: exponential}.
    batch: options of the adaptive batch-size schedule (physolve.optim.batch_size.NormTest:
        eta, every, groups, ...); a mapping turns it on for any optimizer, False turns off the
        schedule an optimizer brings (adadagrad).
    options: keyword arguments for the optimizer (lr, history_size, ...).
    """

    name: str
    steps: int
    tol: float | None = None
    time_limit: float | None = None
    decay: float = 1.0
    resample: bool | None = None
    schedule: str | dict | None = None
    batch: Mapping | bool | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        optimizers.get(self.name)  # unknown names fail here, listing the registered ones
        if not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"stage '{self.name}': steps must be an integer >= 0, "
                             f"got {self.steps!r}")
        if not 0 < self.decay <= 1:
            raise ValueError(f"stage '{self.name}': decay must be in (0, 1], got {self.decay}")
        if self.time_limit is not None and self.time_limit <= 0:
            raise ValueError(f"stage '{self.name}': time_limit must be > 0 seconds")
        if self.schedule is not None and self.decay < 1:
            raise ValueError(f"stage '{self.name}': give either decay or schedule, not both")
        self.schedule = schedule_spec(self.schedule if self.decay == 1
                                      else {"name": "exponential", "decay": self.decay})
        if not (self.batch is None or isinstance(self.batch, (bool, Mapping))):
            raise ValueError(f"stage '{self.name}': batch must be a mapping of NormTest options "
                             f"or false, got {self.batch!r}")
        self.batch_schedule()  # bad schedule options fail here

    @property
    def spec(self):
        return optimizers.get(self.name)

    @property
    def resamples(self) -> bool:
        return (not self.spec.closure) if self.resample is None else bool(self.resample)

    def batch_schedule(self):
        """A fresh batch-size schedule for this stage, or None."""
        if self.batch is False or (self.batch is None and self.spec.batch_schedule is None):
            return None
        factory = self.spec.batch_schedule or NormTest
        options = dict(self.batch) if isinstance(self.batch, Mapping) else {}
        try:
            return factory(**options)
        except TypeError as err:
            raise ValueError(f"stage '{self.name}': bad batch options {options}: {err}") from None

    def __str__(self) -> str:
        return f"{self.name}:{self.steps}"


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_stage(spec: "str | Mapping | Stage") -> Stage:
    if isinstance(spec, Stage):
        return spec
    if isinstance(spec, str):
        name, *rest = spec.split(":")
        if not rest:
            raise ValueError(f"stage '{spec}' needs a step count, e.g. '{name}:1000'")
        kw: dict[str, Any] = {"name": name.strip(), "steps": _literal(rest[0])}
        for item in rest[1:]:
            key, sep, val = item.partition("=")
            if not sep:
                raise ValueError(f"stage option '{item}' in '{spec}' must look like key=value")
            kw[key.strip()] = _literal(val.strip())
        spec = kw
    if not isinstance(spec, Mapping):
        raise TypeError(f"a stage is a string like 'adam:1000' or a mapping, got {spec!r}")
    spec = dict(spec)
    if "name" not in spec or "steps" not in spec:
        raise ValueError(f"stage {spec} needs 'name' and 'steps'")
    own = {k: spec.pop(k) for k in STAGE_KEYS if k in spec}
    options = dict(spec.pop("options", {}) or {})
    options.update(spec)
    return Stage(options=options, **own)


def parse_stages(specs: "str | Sequence") -> list[Stage]:
    if isinstance(specs, (str, Mapping, Stage)):
        specs = [specs]
    stages = [parse_stage(s) for s in specs]
    if not stages:
        raise ValueError("at least one optimisation stage is needed, e.g. ['adam:1000']")
    return stages
