"""Residual-based adaptive refinement (RAR; Lu, Meng, Mao, Karniadakis 2021, DeepXDE)."""
from __future__ import annotations

import torch
from torch import Tensor

from .base import Sampler, SettingError, check_positive_int, residual_in_chunks
from .registry import samplers


@samplers.register("rar")
class RAR(Sampler):
    """Keep the points and add, every round, the k points of largest |r| among a dense pool.

    Round 0 draws n points as "uniform" does. Round r >= 1 draws `candidates` fresh points
    of the domain, evaluates |r| there and appends the k largest; the set grows by k per
    round (n + k r points in round r) and earlier points are never dropped, as in DeepXDE's
    RAR. The solver's `n_interior` sizes round 0 only.

    Settings: k (points added per round, default 100), candidates (pool size, default 10000).
    """

    name = "rar"
    adaptive = True

    def __init__(self, k: int = 100, candidates: int = 10000):
        self.k = check_positive_int(self.name, "k", k)
        self.candidates = check_positive_int(self.name, "candidates", candidates)
        if self.k > self.candidates:
            raise SettingError(self.name, "k", f"must be <= candidates ({candidates}): the "
                               f"points added are chosen among them, got {k!r}")

    def _sample(self, round_index: int, n: int, residual) -> Tensor:
        if round_index == 0 or self.points is None:
            return self.uniform(n, round_index)
        pool = self.uniform(self.candidates, round_index, stream=1)
        score = residual_in_chunks(residual, pool)
        # ties broken by position (stable), so the choice does not depend on sort internals
        top = torch.sort(score, descending=True, stable=True).indices[:self.k]
        return torch.cat([self.points, pool[top]])

    def __repr__(self) -> str:
        return f"RAR(k={self.k}, candidates={self.candidates})"
