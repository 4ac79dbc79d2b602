"""Checkpoints: everything a run needs to continue as if it had never been interrupted.

A checkpoint holds the solver's state (parameters and sampling round; points are regenerated
from the seed and round), the running stage's optimizer and LR-scheduler states, the position
(stage, step within it, global step), the metrics history, the finished stages' summaries and
the global random states. Resuming from it with the same problem, solver and trainer settings
gives bitwise the same parameters as an uninterrupted run (on CPU; CUDA kernels may not be
deterministic).

Files are written atomically -- to a temporary file in the same directory, flushed to disk,
then renamed over the old one -- so a run killed at any moment leaves either the previous
checkpoint or the new one, never a torn file. They hold only tensors and plain Python values
and are read with `torch.load(weights_only=True)`, which cannot execute code from the file.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from .callbacks import Callback

FORMAT = 1


def _rng_states() -> dict:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    states = {"torch": torch.get_rng_state(), "python": random.getstate(),
              "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                        "has_gauss": int(has_gauss), "gauss": float(gauss), "kind": kind}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    random.setstate(states["python"])
    n = states["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["gauss"]))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def snapshot(state) -> dict:
    """The checkpoint of a TrainState taken between steps (see Trainer.fit)."""
    solution = state.solution
    # Inside a stage when its summary has not been appended yet and it has taken steps.
    in_stage = len(solution.stages) == state.stage_index and state.stage_step > 0
    return {
        "format": FORMAT,
        "stages_spec": [str(s) for s in state.trainer.stages],
        "seed": state.trainer.seed,
        "solver": state.solver.state_dict(),
        "step": state.step,
        "round": state.round,
        "elapsed": state.elapsed,
        "stage_step": state.stage_step if in_stage else 0,
        "stage_time": state.stage_time if in_stage else 0.0,
        "optimizer": state.optimizer.state_dict() if in_stage else None,
        "scheduler": (state.scheduler.state_dict()
                      if in_stage and state.scheduler is not None else None),
        "history": [dict(r) for r in solution.history],
        "stages": [dict(s) for s in solution.stages],
        "rng": _rng_states(),
    }


def restore(checkpoint: dict, state) -> None:
    """Put a freshly set-up TrainState back where `checkpoint` was taken."""
    if checkpoint.get("format") != FORMAT:
        raise ValueError(f"checkpoint format {checkpoint.get('format')!r} is not supported "
                         f"(this physolve writes format {FORMAT})")
    trainer = state.trainer
    if checkpoint["seed"] is None:
        raise ValueError("the checkpoint's run had no seed, so its points cannot be drawn "
                         "again: only runs with a seed can be resumed")
    spec = [str(s) for s in trainer.stages]
    if checkpoint["stages_spec"] != spec or checkpoint["seed"] != trainer.seed:
        raise ValueError(f"the checkpoint was written by a run with stages "
                         f"{checkpoint['stages_spec']} and seed {checkpoint['seed']}; this "
                         f"trainer has stages {spec} and seed {trainer.seed}: resume with the "
                         "run's own settings")
    state.solver.load_state_dict(checkpoint["solver"])
    for key in ("step", "round", "elapsed", "stage_step", "stage_time"):
        setattr(state, key, checkpoint[key])
    state.solution.history[:] = checkpoint["history"]
    state.solution.stages[:] = checkpoint["stages"]
    state.stage_index = len(checkpoint["stages"])
    if checkpoint["optimizer"] is not None:
        state.resumed = {"optimizer": _state_to(checkpoint["optimizer"], trainer.device),
                         "scheduler": checkpoint["scheduler"]}
    _set_rng_states(checkpoint["rng"])


def _state_to(optimizer_state: dict, device) -> dict:
    """Optimizer.load_state_dict moves the per-parameter state to the parameters' device; state
    kept under other keys (our L-BFGS's "lbfgs" entry) is moved here."""
    def move(obj):
        if torch.is_tensor(obj):
            return obj.to(device)
        if isinstance(obj, dict):
            return {k: move(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return type(obj)(move(v) for v in obj)
        return obj

    state = {k: v if isinstance(k, int) else move(v) for k, v in optimizer_state["state"].items()}
    return {**optimizer_state, "state": state}


def save_checkpoint(payload: dict, path: str | Path) -> Path:
    """Write `payload` to `path` atomically (temporary file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Read a checkpoint; only tensors and plain values are accepted (weights_only=True)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, map_location=map_location, weights_only=True)


class Checkpoint(Callback):
    """Saves the run to `path` every `every` steps (0: only at stage ends), every `every_s`
    seconds of training (0: off) and at the end of every stage.

    every_s is measured on the trainer's own clock (Trainer(clock=...): wall or process time),
    from the last checkpoint written, so a run killed before its first step checkpoint -- a
    slow one, or one with a large `every` -- still loses at most that much training. Steps that
    end a stage are left to the end-of-stage checkpoint, which follows at once and records the
    stage as finished.
    """

    def __init__(self, path: str | Path, every: int = 0, every_s: float = 60.0):
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise ValueError(f"Checkpoint: every must be an integer >= 0, got {every!r}")
        if (isinstance(every_s, bool) or not isinstance(every_s, (int, float))
                or not 0 <= every_s < float("inf")):
            raise ValueError(f"Checkpoint: every_s must be a finite number of seconds >= 0 "
                             f"(0: off), got {every_s!r}")
        self.path, self.every, self.every_s = Path(path), every, float(every_s)
        self._saved_at = 0.0  # the trainer's elapsed time at the last checkpoint

    def save(self, state) -> None:
        save_checkpoint(snapshot(state), self.path)
        self._saved_at = state.elapsed

    def on_fit_start(self, state):
        self._saved_at = state.elapsed  # a resumed run counts from its checkpoint

    def on_step_end(self, state):
        if state.stage_done:
            return
        by_steps = self.every and state.step % self.every == 0
        by_time = self.every_s and state.elapsed - self._saved_at >= self.every_s
        if by_steps or by_time:
            self.save(state)

    def on_stage_end(self, state, summary):
        self.save(state)
