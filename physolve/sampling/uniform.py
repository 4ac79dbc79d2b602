"""Uniform (or quasi-random) points, fresh every round: the solvers' behaviour without a sampler."""
from __future__ import annotations

from torch import Tensor

from .base import Sampler
from .registry import samplers


@samplers.register("uniform")
class Uniform(Sampler):
    """n points of the domain per round, by the solver's `sampling` method (uniform, Sobol,
    Halton, LHS, grid), seeded by the solver's seed and the round: bitwise the points the
    solvers drew before samplers existed. Takes no settings."""

    name = "uniform"

    def _sample(self, round_index: int, n: int, residual) -> Tensor:
        return self.uniform(n, round_index)
