"""Derivatives by reverse-mode automatic differentiation at scattered points.

One backward pass through `sum(g)` gives the gradient of `g` with respect to every coordinate at
once (each point's output depends only on that point's input), so each call caches the whole
gradient row: `u.xx` computed for one term is reused by every other term of the same step.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from .backend import PointBackend


class AutogradBackend(PointBackend):
    """Backend over points `X` (N, d) and outputs `Y = model(X)` (N, m).

    `create_graph=True` keeps derivatives differentiable, which training needs (the loss is
    differentiated again with respect to the parameters) and higher-order derivatives need.
    """

    def __init__(
        self,
        model: Callable[[torch.Tensor], torch.Tensor],
        points: torch.Tensor,
        inputs: Sequence[str],
        outputs: Sequence[str],
        spatial: Sequence[str],
        create_graph: bool = True,
    ):
        inputs = tuple(inputs)
        if points.ndim != 2 or points.shape[1] != len(inputs):
            raise ValueError(
                f"points must have shape (N, {len(inputs)}) for inputs {inputs}, "
                f"got {tuple(points.shape)}"
            )
        super().__init__(points if points.requires_grad else points.detach().requires_grad_(True),
                         inputs, outputs, spatial)
        self.create_graph = create_graph
        values = model(self.points)
        if values.ndim == 1:
            values = values[:, None]
        if values.shape != (points.shape[0], len(self.outputs)):
            raise ValueError(
                f"model returned shape {tuple(values.shape)}, expected "
                f"({points.shape[0]}, {len(self.outputs)}) for outputs {self.outputs}"
            )
        self.values = values
        self._cache: dict[tuple[str, tuple[int, ...]], torch.Tensor] = {
            (name, ()): values[:, j] for j, name in enumerate(self.outputs)
        }
        self.backward_passes = 0  # counted so tests can check each derivative is computed once

    def derivative(self, output: str, wrt: tuple[str, ...]) -> torch.Tensor:
        key = self.key(output, wrt)
        if key not in self._cache:
            if output not in self.outputs:
                raise KeyError(f"unknown output '{output}'; outputs are {self.outputs}")
            # Peel off the last axis: d^k u = d/dx_last (d^{k-1} u), and cache every sibling.
            parent = key[1][:-1]
            self._cache_gradient((output, parent), self.derivative(output, self._names(parent)))
        return self._cache[key]

    def diff(self, expr: torch.Tensor, name: str) -> torch.Tensor:
        return self._gradient(expr)[:, self._axis[name]]

    def _names(self, axes: tuple[int, ...]) -> tuple[str, ...]:
        return tuple(self.inputs[a] for a in axes)

    def _gradient(self, g: torch.Tensor) -> torch.Tensor:
        self.backward_passes += 1
        if not g.requires_grad:  # g does not depend on the points (e.g. a constant output)
            return torch.zeros_like(self.points)
        (grad,) = torch.autograd.grad(
            g.sum(), self.points, create_graph=self.create_graph, allow_unused=True
        )
        return torch.zeros_like(self.points) if grad is None else grad

    def _cache_gradient(self, key: tuple[str, tuple[int, ...]], g: torch.Tensor) -> None:
        output, axes = key
        grad = self._gradient(g)
        for a in range(len(self.inputs)):
            self._cache.setdefault((output, tuple(sorted(axes + (a,)))), grad[:, a])
