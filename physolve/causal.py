"""Causal training for time-dependent problems (Wang, Sankaran, Perdikaris 2022).

The residual points are split by time into `chunks` equal slices of [t0, t1]; with L_i the
mean squared PDE residual in slice i, the PDE's loss is

    L_pde = (1 / M) sum_i w_i L_i,      w_i = exp(-eps sum_{k<i} L_k)   (w_0 = 1),

the weights computed from detached L_k: a slice is trained only once the slices before it
have small residuals, so the solution is built forward in time as causality requires.
The smallest weight (the last slice's) tells how far training has come: near 1 the whole
interval is resolved. With `eps_schedule` (an increasing list of eps values), eps moves to
the next value once the smallest weight exceeds `delta` (checked between optimizer
iterations, like the loss balancers).

This module depends on torch only and sits below the solver families, which apply it; the
trainer only calls their hook. Its import path is physolve.train.causal.
"""
from __future__ import annotations

import numbers
from typing import Mapping

import torch

from .checks import number_requirement
from .collectives import all_reduce, world_size

OPTIONS = ("chunks", "eps", "eps_schedule", "delta")


class CausalWeights:
    """Temporal weights of the PDE residual.

    chunks: number M of time slices.  eps: causality parameter (the first value of
    eps_schedule when one is given).  eps_schedule: increasing eps values to anneal through
    (None: eps throughout).  delta: the smallest weight above which eps moves on.
    """

    def __init__(self, chunks: int = 32, eps: float = 1.0, eps_schedule: list | None = None,
                 delta: float = 0.99):
        needed = number_requirement(chunks, 1, integer=True)
        if needed is not None:
            raise ValueError(f"causal.chunks: must be {needed}, got {chunks!r}")
        for key, val in {"eps": eps, "delta": delta}.items():
            needed = number_requirement(val, 0, lo_open=True)
            if needed is not None:
                raise ValueError(f"causal.{key}: must be {needed}, got {val!r}")
        if not delta <= 1:
            raise ValueError(f"causal.delta: must be in (0, 1], got {delta!r}")
        if eps_schedule is not None:
            ok = (isinstance(eps_schedule, (list, tuple)) and eps_schedule
                  and all(isinstance(e, numbers.Real) and not isinstance(e, bool) and e > 0
                          for e in eps_schedule)
                  and all(a < b for a, b in zip(eps_schedule[:-1], eps_schedule[1:])))
            if not ok:
                raise ValueError(f"causal.eps_schedule: must be an increasing list of numbers "
                                 f"> 0 or null, got {eps_schedule!r}")
        self.chunks, self.delta = int(chunks), float(delta)
        self.schedule = [float(e) for e in eps_schedule] if eps_schedule else [float(eps)]
        self.level = 0
        self.min_weight = 1.0  # of the last evaluation, for the schedule and metrics
        self.t0 = self.t1 = None

    @classmethod
    def from_options(cls, options: Mapping | None) -> "CausalWeights | None":
        if options is None:
            return None
        if not isinstance(options, Mapping):
            raise ValueError(f"causal: must be a mapping of {', '.join(OPTIONS)} or null, "
                             f"got {options!r}")
        unknown = [k for k in options if k not in OPTIONS]
        if unknown:
            raise ValueError(f"causal.{unknown[0]}: unknown key; allowed: {', '.join(OPTIONS)}")
        return cls(**options)

    @property
    def eps(self) -> float:
        return self.schedule[self.level]

    def setup(self, t0: float, t1: float) -> None:
        self.t0, self.t1 = float(t0), float(t1)

    def chunk_index(self, t: torch.Tensor) -> torch.Tensor:
        """Slice of each time, 0..M-1 (t1 itself in the last slice)."""
        s = (t - self.t0) / (self.t1 - self.t0) * self.chunks
        return s.floor().clamp(0, self.chunks - 1).long()

    def chunk_sums(self, squared: torch.Tensor, index: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sum of `squared` (N,) and number of points in each slice, over the points of every
        rank under torch.distributed (the union of the shards)."""
        total = squared.new_zeros(self.chunks).index_add(0, index, squared)
        count = torch.bincount(index, minlength=self.chunks).to(squared.dtype)
        return all_reduce(total), all_reduce(count)

    def chunk_losses(self, squared: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """L_i: the mean of `squared` (N,) over the points of each slice (0 for an empty one)."""
        total, count = self.chunk_sums(squared, index)
        return total / count.clamp_min(1)

    def weights(self, losses: torch.Tensor) -> torch.Tensor:
        """w_i = exp(-eps sum_{k<i} L_k), from detached L."""
        before = torch.cumsum(losses.detach(), 0) - losses.detach()
        return torch.exp(-self.eps * before)

    def point_scale(self, squared: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """s_j = w_i(j) / (M n_i(j)) from detached squared residuals, so that
        sum_j s_j r_j^2 = (1/M) sum_i w_i L_i; records the smallest weight."""
        total, count = self.chunk_sums(squared.detach(), index)
        w = self.weights(total / count.clamp_min(1))
        self.min_weight = float(w.min())
        # Under torch.distributed the trainer averages the ranks' losses: the factor
        # world_size makes that average the union's (1/M) sum_i w_i L_i.
        return (w * world_size() / (self.chunks * count.clamp_min(1)))[index]

    def advance(self) -> bool:
        """Move eps to the next value of the schedule if the last evaluation allows it;
        whether it moved (the objective then changed)."""
        if self.min_weight > self.delta and self.level + 1 < len(self.schedule):
            self.level += 1
            return True
        return False

    def summary(self) -> dict[str, float]:
        return {"causal_min_weight": self.min_weight, "causal_eps": self.eps}

    def state_dict(self) -> dict:
        return {"level": self.level, "min_weight": self.min_weight}

    def load_state_dict(self, state: dict) -> None:
        self.level, self.min_weight = int(state["level"]), float(state["min_weight"])
