"""The run directory: where one training job keeps everything it produces.

    <run dir>/
      config.yaml            the resolved config (what `resume` and `export` rebuild from)
      metrics.jsonl          one JSON object per metrics record, written as training goes
      metrics.json           the final metrics: rel_l2, max_abs_err, wall_time_s, steps, loss,
                             loss_<term> per equation and condition, ...
      checkpoints/last.pt    the latest checkpoint (physolve.train.checkpoint)
      vtk/                   solution.vtu | solution.pvd + solution_NNNN.vtu | solution.xdmf
      plots/                 solution.png, error.png, loss.png (points_<round>.png)
      points/                points_<round>.vtu: interior collocation points (output.points_every)
      train.log              the training log: each metrics record with its loss terms, stages
      .hydra/                Hydra's record of the invocation (runs started by `physolve train`)
"""
from __future__ import annotations

import json
import logging
import math
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch

from ..hooks import Callback


class RunDir:
    """Paths inside a run directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    config = property(lambda self: self.root / "config.yaml")
    metrics_log = property(lambda self: self.root / "metrics.jsonl")
    metrics = property(lambda self: self.root / "metrics.json")
    train_log = property(lambda self: self.root / "train.log")
    checkpoint = property(lambda self: self.root / "checkpoints" / "last.pt")
    vtk = property(lambda self: self.root / "vtk")
    plots = property(lambda self: self.root / "plots")

    def __repr__(self) -> str:
        return f"RunDir({str(self.root)!r})"


def _plain(value):
    """JSON-safe: non-finite floats become null (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | Path, data: dict) -> Path:
    """Write a JSON file atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({k: _plain(v) for k, v in data.items()}, indent=2) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)
    return path


class MetricsLog(Callback):
    """Appends every metrics record to a JSON-lines file as it is made.

    A resumed run starts the file over from the checkpoint's history, so records that the
    interrupted run wrote after its last checkpoint are not repeated."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def on_fit_start(self, state):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w", encoding="utf-8") as fh:
            for record in state.solution.history:
                fh.write(self._line(record))

    def on_metrics(self, state, record):
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(self._line(record))

    @staticmethod
    def _line(record: dict) -> str:
        return json.dumps({k: _plain(v) for k, v in record.items()}) + "\n"


RUN_LOGGER = "physolve.run"


@contextmanager
def run_log(path: str | Path) -> Iterator[logging.Logger]:
    """The `physolve.run` logger, writing to `path` while the block runs.

    The file is appended to, so a resumed run continues its own log. The logger does not
    propagate meanwhile: under `physolve train` Hydra's root handlers would print every line
    to the console (where the run directory must stay the last line) and write it a second
    time into the same train.log. Add a handler to `physolve.run` to see the lines elsewhere.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(RUN_LOGGER)
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s %(message)s"))
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _number(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


class TrainLog(Callback):
    """Logs the run as it goes: its start (or resumption), every metrics record -- the loss,
    each loss term, the reference metrics -- at the trainer's metrics interval, every stage's
    end and the final metrics."""

    def __init__(self, logger: logging.Logger | None = None):
        self.log = logger or logging.getLogger(RUN_LOGGER)

    def on_fit_start(self, state):
        stages = ", ".join(str(s) for s in state.trainer.stages)
        # The thread count is read here, inside the fit, where the trainer's `threads` setting
        # is in force: a step's cost depends on it several-fold on a busy machine.
        self.log.info("%s %s with %s; stages: %s; seed %s; threads %d",
                      "resuming at step %d:" % state.step if state.step else "training",
                      getattr(state.problem, "name", type(state.problem).__name__),
                      type(state.solver).__name__, stages, state.trainer.seed,
                      torch.get_num_threads())

    def on_metrics(self, state, record):
        fields = " ".join(f"{k}={_number(v)}" for k, v in record.items()
                          if k not in ("stage", "step"))
        self.log.info("step %d [%s] %s", record["step"], record["stage"], fields)

    def on_stage_end(self, state, summary):
        self.log.info("stage %s: %d steps in %.3g s, loss %s (%s)", summary["name"],
                      summary["steps"], summary["seconds"], _number(summary["loss"]),
                      summary["reason"])

    def on_fit_end(self, state, solution):
        metrics = solution.metrics()
        self.log.info("done: %s", " ".join(f"{k}={_number(v)}" for k, v in metrics.items()))


def write_outputs(run: RunDir, problem, solver, history: list[dict], options) -> list[Path]:
    """VTK files and PNG plots of a trained solver, as `options` (config.OutputOptions) say."""
    from .plots import plot_error, plot_history, plot_solution
    from .vtk import solution_path, write_solution

    from .meshing import spatial_domain

    written: list[Path] = []
    formats = options.formats
    space_dim = spatial_domain(problem.domain).dim
    if formats and space_dim > 3:
        # ParaView's points have three coordinates; the plots still show a plane section
        logging.getLogger(RUN_LOGGER).warning(
            "no VTK output (output.formats=%s): the domain has %d spatial dimensions, "
            "ParaView output covers 1 to 3", list(formats), space_dim)
        formats = []
    for fmt in formats:
        written += write_solution(problem, solver, solution_path(run.vtk, fmt),
                                  options.resolution, options.times, options.vectors)
    if options.plots:
        run.plots.mkdir(parents=True, exist_ok=True)
        written += [p for p in (plot_solution(problem, solver, run.plots / "solution.png",
                                              options.resolution),
                                plot_error(problem, solver, run.plots / "error.png",
                                           options.resolution),
                                plot_history(history, run.plots / "loss.png")) if p]
    written += solver.write_outputs(run.root) if hasattr(solver, "write_outputs") else []
    return written
