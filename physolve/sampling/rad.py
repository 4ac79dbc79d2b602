"""Residual-based adaptive distribution (RAD; Wu, Zhu, Tan, Kartha, Lu 2023)."""
from __future__ import annotations

import torch
from torch import Tensor

from .base import Sampler, check_number, check_positive_int, residual_in_chunks
from .registry import samplers


def rad_density(r: Tensor, k: float, c: float) -> Tensor:
    """Wu et al.'s eq. (2) up to normalisation: p(x) ∝ |r|^k / mean(|r|^k) + c."""
    e = r.abs().pow(k)
    mean = e.mean()
    # a zero residual everywhere (an exact solution) leaves the uniform part alone
    return (e / mean if mean > 0 else torch.zeros_like(e)) + c


@samplers.register("rad")
class RAD(Sampler):
    """Redraw the n points every round with density p(x) ∝ |r(x)|^k / E|r|^k + c.

    Round 0 draws as "uniform" does. Round r >= 1 draws `candidates` fresh points of the
    domain (uniformly distributed), evaluates |r| there and picks n of them without
    replacement with probabilities p / sum p (as the authors' code does), which follows p
    closely while n is a small fraction of the pool. k sharpens the density toward large
    residuals; c >= 0 keeps a uniform share (c -> inf is uniform sampling, k = 0 too).

    Settings: k (default 1), c (default 1), candidates (default 20000; at least n).
    """

    name = "rad"
    adaptive = True

    def __init__(self, k: float = 1.0, c: float = 1.0, candidates: int = 20000):
        self.k = check_number(self.name, "k", k)
        self.c = check_number(self.name, "c", c)
        self.candidates = check_positive_int(self.name, "candidates", candidates)

    def _sample(self, round_index: int, n: int, residual) -> Tensor:
        if round_index == 0 or self.points is None:
            return self.uniform(n, round_index)
        if n > self.candidates:
            raise ValueError(f"sampler 'rad': candidates ({self.candidates}) must be at least "
                             f"the number of points drawn ({n})")
        pool = self.uniform(self.candidates, round_index, stream=1)
        p = rad_density(residual_in_chunks(residual, pool), self.k, self.c)
        if not p.sum() > 0:  # k > 0 with c = 0 and a zero residual: nothing to prefer
            p = torch.ones_like(p)
        g = torch.Generator().manual_seed(self.seeds(round_index, 2))
        return pool[torch.multinomial(p, n, replacement=False, generator=g)]

    def __repr__(self) -> str:
        return f"RAD(k={self.k:g}, c={self.c:g}, candidates={self.candidates})"
