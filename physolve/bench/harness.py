"""A benchmark case and the run of one: the budget is kept by the Trainer's own clock."""
from __future__ import annotations

import copy
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..hooks import Callback
from ..optim.stages import parse_stages
from ..train.metrics import reference_metrics
from ..train.threads import count_parameters
from ..train.trainer import CLOCKS, Trainer, TrainingDiverged
from .environment import load_average

PER = ("fit", "stage")


@dataclass(frozen=True)
class Budget:
    """Seconds of training on a Trainer clock ("process": CPU time of this process, steady on
    a shared machine with one thread; "wall": elapsed time).

    per="fit": the seconds cover the whole run, all stages (Trainer's time_limit); per="stage":
    each stage is capped at the seconds (its own time_limit, the smaller one where it has one).
    """

    seconds: float
    clock: str = "process"
    per: str = "fit"

    def __post_init__(self):
        if not self.seconds > 0:
            raise ValueError(f"Budget: seconds must be > 0, got {self.seconds!r}")
        if self.clock not in CLOCKS:
            raise ValueError(f"Budget: clock must be one of {sorted(CLOCKS)}, got {self.clock!r}")
        if self.per not in PER:
            raise ValueError(f"Budget: per must be one of {PER}, got {self.per!r}")

    def stages(self, stages: Sequence) -> list:
        """The stages as the Trainer gets them (capped one by one for per="stage")."""
        if self.per == "fit":
            return list(stages)
        capped = []
        for stage in parse_stages(stages):
            stage = copy.copy(stage)  # checked already; only the limit changes
            stage.time_limit = min(stage.time_limit or self.seconds, self.seconds)
            capped.append(stage)
        return capped

    def config(self, config: dict) -> dict:
        """A composed run config (plain containers) with this budget written into it: the
        clock in `trainer`, and the limit as trainer.time_limit (per="fit") or each stage's
        time_limit (per="stage", the smaller one where it has one)."""
        trainer = {**config.get("trainer", {}), "clock": self.clock}
        stages = list(config.get("optim", {}).get("stages", []))
        if self.per == "fit":
            trainer["time_limit"] = self.seconds
        else:
            stages = [{**s, "time_limit": min(s.get("time_limit") or self.seconds, self.seconds)}
                      for s in stages]
        return {**config, "optim": {**config.get("optim", {}), "stages": stages},
                "trainer": trainer}

    def trainer_options(self) -> dict:
        return {"clock": self.clock, "time_limit": self.seconds if self.per == "fit" else None}

    def describe(self) -> str:
        return f"{self.seconds:g} s {self.clock}" + (" per stage" if self.per == "stage" else "")


@dataclass
class Case:
    """One row of a benchmark: what is solved, by what, with which stages, for how long.

    name: the row's key in the results.  label: how the table names the method.
    problem, solver: factories (called once per run, so each run starts afresh).
    trainer: more Trainer options (dtype, seed, metrics_every, threads, ...).
    log: a JSON-lines file for the metrics records, written as training goes.
    """

    name: str
    problem: Callable[[], object]
    solver: Callable[[], object]
    stages: Sequence
    budget: Budget
    label: str = ""
    trainer: dict = field(default_factory=dict)
    log: Path | None = None

    @classmethod
    def from_config(cls, name: str, config: dict, budget: Budget, **options) -> "Case":
        """The case of a composed run config (plain containers, as `physolve train` has it):
        the same registered problem, model, stages and trainer settings."""
        from ..config import validate
        from ..models import solvers
        from ..pde.library import problems

        spec = validate(budget.config(config))
        return cls(name, problem=lambda: problems.get(spec.problem)(**spec.problem_args),
                   solver=lambda: solvers.get(spec.model)(**spec.model_args),
                   stages=spec.stages, budget=budget, trainer=dict(spec.trainer_args), **options)


class Progress(Callback):
    """One JSON line per metrics record on stderr (and in `path`), tagged with the case."""

    KEYS = ("stage", "step", "time", "loss", "rel_l2", "rel_h1")

    def __init__(self, case: str, path: Path | None = None, stream=None):
        self.case, self.path, self.stream = case, path, stream or sys.stderr

    def on_fit_start(self, state):
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("")

    def on_metrics(self, state, record):
        line = {"case": self.case, **{k: record[k] for k in self.KEYS if k in record}}
        print(json.dumps(line), file=self.stream, flush=True)
        if self.path is not None:
            with self.path.open("a") as fh:
                fh.write(json.dumps(record, default=float) + "\n")


def run(case: Case, stream=None) -> dict:
    """Train `case` within its budget; the row the results keep.

    rel_l2 and max_abs_err are of the final iterate (not the best seen); trace: (time, rel_l2)
    at each metrics record, time on the budget's clock; status: "ok" or "diverged" (the last
    good state is then the one measured).
    """
    problem, solver = case.problem(), case.solver()
    # the progress is logged by lines (Progress), not bars; the budget sets clock and limit
    options = {**case.trainer, "progress": False, **case.budget.trainer_options()}
    trainer = Trainer(case.budget.stages(case.stages),
                      callbacks=[Progress(case.name, case.log, stream)], **options)
    load_start = load_average()
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    try:
        solution, status = trainer.fit(problem, solver), "ok"
    except TrainingDiverged as err:
        solution, status = err.solution, "diverged"
    except MemoryError as err:  # an optimizer that refuses a problem too large for it
        return {"label": case.label or case.name, "status": f"refused: {err}", "trace": [],
                "stages": _plain(case.budget.stages(case.stages)),
                "budget": case.budget.describe(), "clock": case.budget.clock,
                "budget_s": case.budget.seconds}
    wall, cpu = time.perf_counter() - t_wall, time.process_time() - t_cpu
    final = reference_metrics(solver, problem)
    history = solution.history
    return {"label": case.label or case.name, "status": status,
            **{k: v for k, v in final.items()},
            "steps": sum(s["steps"] for s in solution.stages),
            "time_s": solution.wall_time, "wall_s": wall, "cpu_s": cpu,
            "parameters": count_parameters(solver),
            "reasons": [s["reason"] for s in solution.stages],
            "stages": [s for s in _plain(case.budget.stages(case.stages))],
            "budget": case.budget.describe(), "clock": case.budget.clock,
            "budget_s": case.budget.seconds, "threads": options.get("threads"),
            "load_start": load_start, "load_end": load_average(),
            "trace": [(r["time"], r["rel_l2"]) for r in history if "rel_l2" in r]}


def _plain(stages):
    """Stages as JSON-ready mappings (names, steps and options)."""
    out = []
    for stage in parse_stages(stages):
        d = {"name": stage.name, "steps": stage.steps, **stage.options}
        for key in ("tol", "time_limit", "schedule"):
            if getattr(stage, key) is not None:
                d[key] = getattr(stage, key)
        out.append(d)
    return out
