"""Derivatives by finite differences of values on a structured grid.

Grid solvers (MgNO, NeuralStagger, hard-constraint operators) hold fields as values on a
`physolve.geometry.Grid`; this backend gives them the same named derivatives as the autograd
backend, so a residual written once (`f.u.xx + f.u.yy`, or `div([a * f.u.x, a * f.u.y])`)
serves as a physics-informed loss on the grid. Values may carry leading batch axes: a tensor
(B, n_x, n_y) is B fields on an n_x x n_y grid; every returned tensor has that shape.

Stencils are second order (central differences, spacing h of the grid axis). Each grid axis ends
in one of three ways:

- "dirichlet": the grid holds interior nodes only; the nodes one spacing beyond each end carry the
  boundary value (a ghost ring), so central stencils apply at every grid node. This is the
  convention of the Darcy family and of MgNO's zero padding.
- "periodic": the grid holds one period without its repeated end point; stencils wrap around.
- "one_sided": the grid includes its end points and nothing is known beyond them; the end nodes
  use second-order one-sided stencils, (-3, 4, -1) / 2h and (2, -5, 4, -1) / h^2.

First and second derivatives are second-order accurate at every node. Higher derivatives along
one axis are compositions (u_xxx = d/dx u_xx) whose inner result has no ghost values, so they use
one-sided stencils at the ends and may lose an order there. Derivatives of expressions
(`physolve.d(a * u.x, "x")`) use one-sided ends on non-periodic axes for the same reason.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch

from .backend import DerivativeBackend
from .functions import coordinate_function

BOUNDARY_KINDS = ("dirichlet", "periodic", "one_sided")


def _d1(v: torch.Tensor, dim: int, h: float, padded: bool) -> torch.Tensor:
    n = v.shape[dim]
    take = lambda start, length: v.narrow(dim, start, length)  # noqa: E731
    if padded:
        return (take(2, n - 2) - take(0, n - 2)) / (2 * h)
    if n < 3:
        raise ValueError(f"one-sided differences need at least 3 points along an axis, got {n}")
    inner = (take(2, n - 2) - take(0, n - 2)) / (2 * h)
    first = (-3 * take(0, 1) + 4 * take(1, 1) - take(2, 1)) / (2 * h)
    last = (3 * take(n - 1, 1) - 4 * take(n - 2, 1) + take(n - 3, 1)) / (2 * h)
    return torch.cat([first, inner, last], dim)


def _d2(v: torch.Tensor, dim: int, h: float, padded: bool) -> torch.Tensor:
    n = v.shape[dim]
    take = lambda start, length: v.narrow(dim, start, length)  # noqa: E731
    inner = (take(2, n - 2) - 2 * take(1, n - 2) + take(0, n - 2)) / (h * h)
    if padded:
        return inner
    if n < 4:
        raise ValueError(f"one-sided second differences need at least 4 points along an axis, "
                         f"got {n}")
    first = (2 * take(0, 1) - 5 * take(1, 1) + 4 * take(2, 1) - take(3, 1)) / (h * h)
    last = (2 * take(n - 1, 1) - 5 * take(n - 2, 1) + 4 * take(n - 3, 1) - take(n - 4, 1)) / (h * h)
    return torch.cat([first, inner, last], dim)


def _wrap(v: torch.Tensor, dim: int) -> torch.Tensor:
    n = v.shape[dim]
    return torch.cat([v.narrow(dim, n - 1, 1), v, v.narrow(dim, 0, 1)], dim)


class GridBackend(DerivativeBackend):
    """Finite-difference derivatives of fields given as values on `grid`.

    Parameters
    ----------
    values: output name -> tensor (..., *grid.shape); all of one shape.
    grid: the physolve.geometry.Grid the values live on.
    inputs: coordinate names, one per grid axis ("x y" or a sequence).
    boundary: "dirichlet", "periodic" or "one_sided" for every axis, or a mapping from input
        name to one of them (axes not named are "one_sided").
    boundary_values: output -> the value on the Dirichlet ghost ring: a number or a callable of
        named coordinates (default 0).
    spatial: the inputs that grad/div/laplacian act on (default all).
    """

    def __init__(self, values: Mapping[str, torch.Tensor], grid, inputs: Sequence[str],
                 boundary: str | Mapping[str, str] = "one_sided",
                 boundary_values: Mapping[str, float | Callable] | None = None,
                 spatial: Sequence[str] | None = None):
        inputs = tuple(inputs.split()) if isinstance(inputs, str) else tuple(inputs)
        super().__init__(inputs, tuple(values), spatial if spatial is not None else inputs)
        if len(self.inputs) != grid.dim:
            raise ValueError(f"GridBackend: {len(self.inputs)} inputs {self.inputs} for a "
                             f"{grid.dim}-dimensional grid")
        kinds = {n: boundary for n in self.inputs} if isinstance(boundary, str) else \
            {n: boundary.get(n, "one_sided") for n in self.inputs}
        unknown = [n for n in (boundary if isinstance(boundary, Mapping) else ())
                   if n not in self.inputs]
        bad = {n: k for n, k in kinds.items() if k not in BOUNDARY_KINDS}
        if unknown or bad:
            raise ValueError(f"GridBackend: boundary must map inputs {self.inputs} to one of "
                             f"{BOUNDARY_KINDS}; got unknown inputs {unknown}, kinds {bad}")
        self.kinds, self.grid = kinds, grid
        self.shape = next(iter(values.values())).shape
        for name, v in values.items():
            if v.shape != self.shape or tuple(v.shape[v.ndim - grid.dim:]) != tuple(grid.shape):
                raise ValueError(f"GridBackend: output '{name}' has shape {tuple(v.shape)}; every "
                                 f"output needs one shape ending in the grid shape {grid.shape}")
        self.values = dict(values)
        self.boundary_values = dict(boundary_values or {})
        ref = next(iter(values.values()))
        self.dtype, self.device = ref.dtype, ref.device
        self.h = [float(s) for s in grid.spacing]
        self._cache: dict[tuple, torch.Tensor] = {}

    # --- the interface ------------------------------------------------------------------------
    def value(self, output: str) -> torch.Tensor:
        if output not in self.values:
            raise KeyError(f"unknown output '{output}'; outputs are {self.outputs}")
        return self.values[output]

    def coordinate(self, name: str) -> torch.Tensor:
        k = self.inputs.index(name)
        axis = self.grid.axes[k].to(dtype=self.dtype, device=self.device)
        view = [1] * self.grid.dim
        view[k] = -1
        return axis.reshape(view).expand(self.shape)

    def derivative(self, output: str, wrt: tuple[str, ...]) -> torch.Tensor:
        counts = tuple(wrt.count(n) for n in self.inputs)
        key = (output, counts)
        if key not in self._cache:
            v, padded = self._padded(output)
            for k, c in enumerate(counts):
                while c > 0:
                    op = _d2 if c >= 2 else _d1
                    v = op(v, self._dim(k), self.h[k], padded[k])
                    padded[k] = False
                    c -= 2 if c >= 2 else 1
            self._cache[key] = self._crop(v, padded)
        return self._cache[key]

    def diff(self, expr: torch.Tensor, name: str) -> torch.Tensor:
        expr = torch.as_tensor(expr, dtype=self.dtype, device=self.device).expand(self.shape)
        k = self.inputs.index(name)
        dim = self._dim(k)
        if self.kinds[name] == "periodic":
            return _d1(_wrap(expr, dim), dim, self.h[k], True)
        return _d1(expr, dim, self.h[k], False)

    # --- ghost values -----------------------------------------------------------------------
    def _dim(self, k: int) -> int:
        return k - self.grid.dim

    def _padded(self, output: str) -> tuple[torch.Tensor, list[bool]]:
        """The field with one layer of ghost values on every periodic and Dirichlet axis."""
        v = self.value(output)
        padded = [self.kinds[n] != "one_sided" for n in self.inputs]
        for k, n in enumerate(self.inputs):
            if self.kinds[n] == "periodic":
                v = _wrap(v, self._dim(k))
        dirichlet = [k for k, n in enumerate(self.inputs) if self.kinds[n] == "dirichlet"]
        if dirichlet:
            ring = self._ghost_field(output, v.shape)
            inside = ring.clone()
            index = [slice(None)] * v.ndim
            for k in dirichlet:
                index[self._dim(k)] = slice(1, -1)
            inside[tuple(index)] = v
            v = inside
        return v, padded

    def _ghost_field(self, output: str, unpadded_shape) -> torch.Tensor:
        """The boundary value on the grid extended by one node beyond each Dirichlet end."""
        value = self.boundary_values.get(output, 0.0)
        shape = list(unpadded_shape)
        axes = []
        for k, n in enumerate(self.inputs):
            a = self.grid.axes[k]
            if self.kinds[n] == "dirichlet":
                a = torch.cat([a[:1] - self.h[k], a, a[-1:] + self.h[k]])
                shape[self._dim(k)] += 2
            elif self.kinds[n] == "periodic":
                a = torch.cat([a[:1] - self.h[k], a, a[-1:] + self.h[k]])
            axes.append(a)
        if not callable(value):
            return torch.full(shape, float(value), dtype=self.dtype, device=self.device)
        points = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(axes))
        g = coordinate_function(value, self.inputs, f"boundary value of '{output}'")(points)
        g = g.reshape(shape[len(shape) - len(axes):]).to(dtype=self.dtype, device=self.device)
        return g.expand(shape)

    def _crop(self, v: torch.Tensor, padded: list[bool]) -> torch.Tensor:
        for k, p in enumerate(padded):
            if p:
                dim = self._dim(k)
                v = v.narrow(dim, 1, v.shape[dim] - 2)
        return v
