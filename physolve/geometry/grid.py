"""Structured tensor-product grids, for grid-based solvers and for evaluating solutions."""
from __future__ import annotations

import operator
from typing import Sequence

import torch
from torch import Tensor

from .primitives import as_vector


class Grid:
    """The grid of shape[k] evenly spaced points on [lower_k, upper_k] (endpoints included).

    `points` lists them in C order of "ij" indexing: point (i, j, ...) is row
    ((i * shape[1]) + j) * ..., so `reshape(values)` turns per-point values into arrays of
    `shape`, matching `torch.meshgrid(*axes, indexing="ij")`.
    """

    def __init__(self, lower, upper, shape: int | Sequence[int]):
        lo, hi = as_vector(lower, "lower", "Grid"), as_vector(upper, "upper", "Grid")
        if lo.shape != hi.shape or not bool(torch.all(lo < hi)):
            raise ValueError(f"Grid: lower and upper must have the same length with lower < "
                             f"upper, got {lo.tolist()} and {hi.tolist()}")
        try:
            shape = (operator.index(shape),) * lo.numel() if not isinstance(shape, Sequence) \
                else tuple(operator.index(s) for s in shape)
        except TypeError:
            shape = None
        if shape is None or len(shape) != lo.numel() or min(shape) < 2:
            raise ValueError(f"Grid: shape must be {lo.numel()} integers >= 2 (endpoints are "
                             f"included), got {shape!r}")
        self.lower, self.upper, self.shape = lo, hi, shape
        self.dim = lo.numel()
        self.axes = [torch.linspace(float(a), float(b), s, dtype=torch.float64)
                     for a, b, s in zip(lo, hi, shape)]
        self.spacing = (hi - lo) / (torch.tensor(shape, dtype=torch.float64) - 1)

    @property
    def points(self) -> Tensor:
        mesh = torch.meshgrid(*self.axes, indexing="ij")
        return torch.stack(mesh, -1).reshape(-1, self.dim)

    def __len__(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def reshape(self, values: Tensor) -> Tensor:
        """(N, ...) per-point values -> shape + (...)."""
        if values.shape[0] != len(self):
            raise ValueError(f"Grid.reshape: values must have {len(self)} rows (one per grid "
                             f"point), got {values.shape[0]}")
        return values.reshape(*self.shape, *values.shape[1:])

    def __repr__(self) -> str:
        return f"Grid({self.lower.tolist()}, {self.upper.tolist()}, shape={self.shape})"
