"""Learnable PDE coefficients for inverse problems."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Unknown:
    """A scalar coefficient learned together with the solution.

    `positive=True` learns log(value), which keeps diffusion coefficients and the like positive
    and makes steps relative to the value's size.
    """

    init: float
    positive: bool = False

    def __post_init__(self):
        if not math.isfinite(self.init):
            raise ValueError(f"Unknown.init must be finite, got {self.init}")
        if self.positive and self.init <= 0:
            raise ValueError(f"Unknown.init must be > 0 when positive=True, got {self.init}")

    def raw_init(self) -> float:
        return math.log(self.init) if self.positive else float(self.init)

    def value(self, raw: torch.Tensor) -> torch.Tensor:
        return raw.exp() if self.positive else raw
