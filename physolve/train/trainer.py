"""The training loop: stages of optimizers over a solver's loss, with metrics and safeguards."""
from __future__ import annotations

import copy
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Literal, Sequence

import torch
from tqdm.auto import tqdm

from ..optim.schedules import build_schedule
from ..optim.stages import Stage, parse_stages
from .callbacks import Callback, History
from .metrics import reference_metrics
from ..precision import resolve_device, resolve_dtype
from .solution import Solution
from .threads import check_threads, training_threads
from . import distributed


CLOCKS = {"wall": time.perf_counter, "process": time.process_time}
# Metrics shown in the progress bar, by record key: label.
POSTFIX = {"loss": "loss", "rel_l2": "rel_l2", "causal_min_weight": "causal_w"}


class TrainingDiverged(RuntimeError):
    """The loss became NaN or inf. `solution` holds the last good state, restored."""

    def __init__(self, message: str, solution: Solution):
        super().__init__(message)
        self.solution = solution


@dataclass
class TrainState:
    """Where the loop is; callbacks read it (and checkpoints save it)."""

    stage_index: int = 0
    stage_step: int = 0
    step: int = 0
    round: int = 0
    elapsed: float = 0.0
    solver: object = None
    problem: object = None
    trainer: "Trainer | None" = None
    last_terms: dict = field(default_factory=dict)
    # Read by checkpoints (physolve.train.checkpoint): the running stage's optimizer and
    # scheduler, seconds spent in it, whether this step ends it, and the Solution being built.
    optimizer: object = None
    scheduler: object = None
    stage_time: float = 0.0
    stage_done: bool = False
    solution: object = None
    # Optimizer and scheduler states restored from a checkpoint, for the stage resumed.
    resumed: dict = field(default_factory=dict)


class Trainer:
    """Runs optimisation stages on a solver.

    Parameters
    ----------
    stages: e.g. ["adam:15000", "lbfgs:5000"] (see physolve.optim.stages).
    dtype: "float32" or "float64".  device: "cpu", "cuda", "cuda:N" or "auto".
    seed: seeds parameter initialisation and every set of sampled points.
    metrics_every: steps between metric evaluations against the reference (0: at stage ends).
    resample_every: draw new collocation points every so many steps (0: never) in stages that
        allow it (first-order ones by default).
    progress: show a tqdm bar per stage.
    callbacks: physolve.train.callbacks.Callback instances.
    clock: "wall" (elapsed time) or "process" (CPU time of this process: with one thread, the
        time a quiet machine would take, so time limits and timings hold on a shared machine).
    threads: CPU threads torch uses while training: "auto" (one for small solvers, torch's
        default for large ones; see physolve.train.threads), an integer, or None (leave
        torch's setting alone). torch's previous setting is restored when fit returns.
    time_limit: seconds on `clock` for the whole fit, all stages together (None: no limit);
        a stage's own time_limit still ends that stage. Stages not begun when it runs out
        are skipped. A time budget for a run of several stages (physolve.bench).
    nproc: processes to train on (torch.distributed; see docs/distributed.md). `physolve train
        trainer.nproc=N` launches N ranks through torch.distributed.run; under torchrun the
        world size is torchrun's and nproc must be 1 or equal to it.
    """

    def __init__(self, stages: Sequence = ("adam:1000",), dtype="float32", device="cpu",
                 seed: int | None = 0, metrics_every: int = 100, resample_every: int = 0,
                 progress: bool = True, callbacks: Sequence[Callback] = (), clock: str = "wall",
                 threads: int | Literal["auto"] | None = "auto",
                 time_limit: float | None = None, nproc: int = 1):
        if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
            raise ValueError(f"nproc must be an integer >= 1, got {nproc!r}")
        distributed.check_world_size(nproc)
        self.nproc = nproc
        self.stages: list[Stage] = parse_stages(stages)
        self.dtype = resolve_dtype(dtype)
        self.device = distributed.local_device(resolve_device(device))
        if seed is not None and (not isinstance(seed, int) or seed < 0):
            raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        for key, val in {"metrics_every": metrics_every, "resample_every": resample_every}.items():
            if not isinstance(val, int) or val < 0:
                raise ValueError(f"{key} must be an integer >= 0, got {val!r}")
        self.seed = seed
        self.metrics_every = metrics_every
        self.resample_every = resample_every
        self.progress = progress
        if clock not in CLOCKS:
            raise ValueError(f"clock must be one of {sorted(CLOCKS)}, got {clock!r}")
        self.clock = CLOCKS[clock]
        self.callbacks = list(callbacks)
        check_threads(threads)
        self.threads = threads
        if time_limit is not None and not (isinstance(time_limit, (int, float))
                                           and not isinstance(time_limit, bool)
                                           and time_limit > 0):
            raise ValueError(f"time_limit must be a number of seconds > 0 or None, "
                             f"got {time_limit!r}")
        self.time_limit = time_limit

    # ------------------------------------------------------------------------------------------
    def fit(self, problem, solver, resume: dict | None = None) -> Solution:
        """Train `solver` on `problem`. `resume`: a checkpoint (physolve.train.checkpoint) of
        this run to continue from; the result is then the same as an uninterrupted run's."""
        solver.setup(problem, dtype=self.dtype, device=self.device, seed=self.seed)
        if distributed.init(self.device):
            distributed.shard_points(solver)
        with training_threads(self.threads, solver):
            return self._fit(problem, solver, resume)

    def _fit(self, problem, solver, resume: dict | None) -> Solution:
        history = History()
        callbacks = [history, *self.callbacks]
        state = TrainState(solver=solver, problem=problem, trainer=self)
        solution = state.solution = Solution(problem, solver, history.records)
        if resume is not None:
            from .checkpoint import restore
            restore(resume, state)
        for cb in callbacks:
            cb.on_fit_start(state)
        t_start = self.clock() - state.elapsed
        good = (state.step, copy.deepcopy(solver.state_dict()))
        for state.stage_index, stage in enumerate(self.stages):
            if state.stage_index < len(solution.stages):
                continue  # completed before the run was resumed
            summary, good = self._run_stage(stage, state, callbacks, solution, good, t_start)
            solution.stages.append(summary)
            for cb in callbacks:
                cb.on_stage_end(state, summary)
            state.stage_step, state.stage_time = 0, 0.0
        state.elapsed = solution.wall_time = self.clock() - t_start
        for cb in callbacks:
            cb.on_fit_end(state, solution)
        return solution

    def _run_stage(self, stage: Stage, state: TrainState, callbacks, solution, good, t_start):
        solver = state.solver
        optimizer = stage.spec.create(solver.parameters(), **stage.options)
        scheduler = build_schedule(stage.schedule, optimizer, stage.steps)
        state.optimizer, state.scheduler = optimizer, scheduler
        if state.resumed:  # continuing this stage from a checkpoint
            optimizer.load_state_dict(state.resumed["optimizer"])
            if scheduler is not None:
                scheduler.load_state_dict(state.resumed["scheduler"])
            state.resumed = {}
        batch_schedule = stage.batch_schedule()
        for cb in callbacks:
            cb.on_stage_start(state, optimizer)
        t_stage = self.clock() - state.stage_time
        reason = f"step budget of {stage.steps} reached"
        bar = tqdm(total=stage.steps, initial=state.stage_step, desc=f"{stage.name}",
                   disable=not (self.progress and distributed.is_main()), file=sys.stderr, mininterval=1.0, leave=True,
                   dynamic_ncols=True)
        loss = math.nan
        first = state.stage_step
        if self._out_of_time(state):  # the fit's limit ran out in an earlier stage
            first, reason = stage.steps, self._fit_limit_reason()
        with bar:
            for k in range(first, stage.steps):
                if (stage.resamples and self.resample_every and state.step > 0
                        and state.step % self.resample_every == 0):
                    self._resample(state, optimizer)
                if batch_schedule is not None:
                    growth = batch_schedule(solver, k)
                    if growth is not None and solver.scale_points(growth):
                        self._resample(state, optimizer)
                self._begin_step(state, optimizer)
                loss = self._step(stage, optimizer, state)
                if scheduler is not None:
                    scheduler.step()
                state.step += 1
                state.stage_step = k + 1
                now = self.clock()
                state.elapsed, state.stage_time = now - t_start, now - t_stage
                if not math.isfinite(loss):
                    self._diverged(state, stage, loss, good, solution)
                record = {"stage": stage.name, "step": state.step, "loss": loss}
                for cb in callbacks:
                    cb.on_step(state, record)
                last = k + 1 == stage.steps
                stop = self._stop_reason(stage, optimizer, loss, t_stage, state)
                if (self.metrics_every and state.step % self.metrics_every == 0) or last or stop:
                    record = self._metrics_record(state, stage, loss)
                    for cb in callbacks:
                        cb.on_metrics(state, record)
                    bar.set_postfix({POSTFIX[k_]: f"{v:.3g}" for k_, v in record.items()
                                     if k_ in POSTFIX}, refresh=False)
                    good = (state.step, copy.deepcopy(solver.state_dict()))
                state.stage_done = bool(last or stop)
                for cb in callbacks:
                    cb.on_step_end(state)
                bar.update(1)
                if stop:
                    reason = stop
                    break
        summary = {"name": stage.name, "steps": state.stage_step, "reason": reason,
                   "loss": loss, "seconds": self.clock() - t_stage}
        if hasattr(optimizer, "evaluations"):
            summary["evaluations"] = optimizer.evaluations
        if self.progress and distributed.is_main():
            print(f"stage {stage}: {state.stage_step} steps, {reason}", file=sys.stderr)
        return summary, good

    @staticmethod
    def _begin_step(state: TrainState, optimizer) -> None:
        """The solver's per-iteration hook (adaptive loss weights, causal eps schedule):
        before the iteration, so its closure evaluations all see one objective. An optimizer
        that caches the loss and gradient at the current point (quasi-Newton, LM) is told
        when the objective changed, as after resampling."""
        if state.solver.begin_step(state.step):
            if hasattr(optimizer, "refresh"):
                optimizer.refresh()

    @staticmethod
    def _resample(state: TrainState, optimizer) -> None:
        state.round += 1
        state.solver.resample(state.round)
        if hasattr(optimizer, "refresh"):
            optimizer.refresh()

    @staticmethod
    def _diverged(state: TrainState, stage: Stage, loss: float, good, solution):
        """Restore the last good parameters and stop with a message that says what to try."""
        good_step, good_state = good
        state.solver.load_state_dict(good_state)
        solution.status = "diverged"
        solution.wall_time = state.elapsed
        bad = [k for k, v in state.last_terms.items() if not math.isfinite(float(v))]
        raise TrainingDiverged(
            f"loss became {loss} at step {state.stage_step} of stage '{stage}' (non-finite "
            f"terms: {bad or 'none; the total only'}); parameters restored to the last good "
            f"state, from step {good_step}. Lower the learning rate, use float64, or check the "
            "residual for divisions by zero.", solution)

    def _step(self, stage: Stage, optimizer, state: TrainState) -> float:
        solver = state.solver
        spec = stage.spec
        if spec.residuals:  # Gauss-Newton type: the optimizer differentiates the residuals
            if distributed.active():
                # the ranks' normal equations and squared norms are averaged, so every rank
                # solves the system of the union of the shards (levenberg_marquardt.py)
                optimizer.reduce = distributed.all_reduce_mean
            return float(optimizer.step(solver.residual_vector))

        # Gradients go to the optimizer's parameters only: the collocation points also require
        # grad (for the PDE's derivatives), and a gradient accumulated into them is wasted work
        # and, with create_graph, a graph kept alive from step to step by the reference cycle
        # point -> grad -> graph -> point, which nothing would ever break.
        params = [p for group in optimizer.param_groups for p in group["params"]
                  if p.requires_grad]

        def closure():
            # A gradient that carries its graph must not be zeroed in place.
            optimizer.zero_grad(set_to_none=spec.create_graph)
            total, terms = solver.loss()
            with warnings.catch_warnings():
                # The reference cycle it warns about is broken after the step (grads set to None).
                warnings.filterwarnings("ignore", message="Using backward.. with create_graph")
                total.backward(create_graph=spec.create_graph, inputs=params)
            if distributed.active():
                # every evaluation, line searches' included, is the loss on all ranks' points
                distributed.reduce_gradients(params)
                terms = {k: distributed.global_loss(v) for k, v in terms.items()}
                total = distributed.global_loss(total)
            state.last_terms = {k: v.detach() for k, v in terms.items()}
            return total

        if spec.closure:
            return float(optimizer.step(closure))
        total = closure()
        optimizer.step()
        if spec.create_graph:  # free the graph held by the gradients
            optimizer.zero_grad(set_to_none=True)
        return float(total.detach())

    def _out_of_time(self, state: TrainState) -> bool:
        return self.time_limit is not None and state.elapsed >= self.time_limit

    def _fit_limit_reason(self) -> str:
        return f"time limit of {self.time_limit:g} s for the fit reached"

    def _stop_reason(self, stage: Stage, optimizer, loss: float, t_stage: float,
                     state: TrainState) -> str | None:
        if getattr(optimizer, "stop_reason", None):
            return optimizer.stop_reason
        if stage.tol is not None and loss <= stage.tol:
            return f"loss {loss:.3g} below tol={stage.tol:g}"
        if stage.time_limit is not None and self.clock() - t_stage >= stage.time_limit:
            return f"time limit of {stage.time_limit:g} s reached"
        if self._out_of_time(state):
            return self._fit_limit_reason()
        return None

    def _metrics_record(self, state: TrainState, stage: Stage, loss: float) -> dict:
        record = {"stage": stage.name, "step": state.step, "time": state.elapsed, "loss": loss}
        record.update({f"loss_{k}": float(v) for k, v in state.last_terms.items()})
        record.update(reference_metrics(state.solver, state.problem))
        record.update({f"unknown_{k}": v for k, v in state.solver.unknown_values().items()})
        record.update(state.solver.training_metrics())
        return record


def solve(problem, model=None, optim: Sequence = ("adam:5000", "lbfgs:5000"), **trainer_options
          ) -> Solution:
    """Train `model` (a solver; default a PINN) on `problem` and return the Solution.

    `optim` lists the stages; other keywords go to Trainer (dtype, device, seed, ...).
    """
    if model is None:
        from ..models.pinn import PINN
        model = PINN()
    return Trainer(optim, **trainer_options).fit(problem, model)
