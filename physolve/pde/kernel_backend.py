"""Derivative backends over tensor-product grids whose derivatives are per-axis linear maps
(kernel methods: d^a/dx^a at the nodes is a dense matrix along each axis).

On a grid, a field is a tensor of the grid's shape and d^a/dx_k^a is a matrix D_k^(a) acting
along axis k, so a mixed derivative d^(a+b)/dx^a dy^b is (D_x^(a) kron D_y^(b)) vec(U): one
small matrix product per differentiated axis (see kron.py). Where the matrices come from is
the solver's business (closed-form kernel derivatives times K^-1 for the GP solver). Local
finite-difference stencils are grid_backend.GridBackend's job; this backend is for dense
per-axis operators. Residuals see the usual interface; the point shape is the grid's.

`NodeBackend` restricts a kernel backend to some of its nodes (boundary nodes for conditions),
and `RowBackend` evaluates a kernel expansion u(x) = sum_i k(x, x_i) a_i of a product kernel at
scattered points (rows of per-axis kernel matrices against the coefficients; kron_rows).
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Callable, Mapping, Sequence

import torch
from torch import Tensor

from .backend import DerivativeBackend
from .kron import kron_matvec, kron_rows

# operator(output, axis, order) -> matrix applied along that axis
AxisOperator = Callable[[str, int, int], Tensor]
# basis(output, axes) -> the tensor the operators of those axes act on
Basis = Callable[[str, tuple[int, ...]], Tensor]


class _AxisOrders(DerivativeBackend):
    """Shared bookkeeping: derivative names -> per-axis orders, one cache entry per request."""

    def __init__(self, inputs, outputs, spatial):
        super().__init__(inputs, outputs, spatial)
        self._axis = {name: i for i, name in enumerate(self.inputs)}
        self._cache: dict[tuple[str, tuple[int, ...]], Tensor] = {}

    def orders(self, wrt: tuple[str, ...]) -> tuple[int, ...]:
        for n in wrt:
            if n not in self._axis:
                raise KeyError(f"unknown input '{n}'; inputs are {self.inputs}")
        count = Counter(self._axis[n] for n in wrt)
        return tuple(count.get(k, 0) for k in range(len(self.inputs)))

    def value(self, output: str) -> Tensor:
        return self.derivative(output, ())

    def derivative(self, output: str, wrt: tuple[str, ...]) -> Tensor:
        if output not in self.outputs:
            raise KeyError(f"unknown output '{output}'; outputs are {self.outputs}")
        key = (output, self.orders(wrt))
        if key not in self._cache:
            self._cache[key] = self._compute(output, key[1])
        return self._cache[key]

    def _compute(self, output: str, orders: tuple[int, ...]) -> Tensor:
        raise NotImplementedError


class KernelBackend(_AxisOrders):
    """Fields as tensors of a grid's shape; derivatives by per-axis operators.

    values: output -> tensor of the grid's shape. axes: the grid's nodes per input, in input
    order. operator(output, axis, order): the matrix of d^order/dx_axis^order on that axis.
    basis(output, axes): what those operators act on when the derivative involves exactly
    `axes` (default: the values). A kernel method factors its operator Phi_k K_k^-1 this way:
    operator = Phi_k and basis = (kron over `axes` of K_k^-1) U, which costs n_k per node
    instead of forming the n_k x n_k product.
    """

    def __init__(self, values: Mapping[str, Tensor], axes: Sequence[Tensor],
                 operator: AxisOperator, inputs, outputs, spatial, basis: Basis | None = None):
        super().__init__(inputs, outputs, spatial)
        if len(axes) != len(self.inputs):
            raise ValueError(f"KernelBackend: {len(axes)} axes for inputs {self.inputs}")
        self.values = dict(values)
        self.shape = tuple(a.numel() for a in axes)
        for name, v in self.values.items():
            if tuple(v.shape) != self.shape:
                raise ValueError(f"KernelBackend: values of '{name}' have shape {tuple(v.shape)}, "
                                 f"the grid has {self.shape}")
        self.axes = list(axes)
        self.operator = operator
        self.basis = basis or (lambda output, differentiated: self.values[output])
        self._mesh: list[Tensor] | None = None

    def coordinate(self, name: str) -> Tensor:
        if self._mesh is None:
            self._mesh = list(torch.meshgrid(*self.axes, indexing="ij"))
        return self._mesh[self._axis[name]]

    def _compute(self, output, orders):
        if not any(orders):
            return self.values[output]
        mats = [self.operator(output, k, o) if o else None for k, o in enumerate(orders)]
        differentiated = tuple(k for k, o in enumerate(orders) if o)
        return kron_matvec(mats, self.basis(output, differentiated))


class NodeBackend(DerivativeBackend):
    """A grid backend seen at some of its nodes: `index` into the flattened grid (C order)."""

    def __init__(self, grid: KernelBackend, index: Tensor):
        super().__init__(grid.inputs, grid.outputs, grid.spatial)
        self.grid, self.index = grid, index

    def value(self, output: str) -> Tensor:
        return self.grid.value(output).reshape(-1)[self.index]

    def derivative(self, output: str, wrt: tuple[str, ...]) -> Tensor:
        return self.grid.derivative(output, wrt).reshape(-1)[self.index]

    def coordinate(self, name: str) -> Tensor:
        return self.grid.coordinate(name).reshape(-1)[self.index]


class RowBackend(_AxisOrders):
    """A product-kernel expansion at scattered points.

    points: (P, d). coefficients: output -> tensor A of the grid's shape, so that
    u(x) = sum_i k(x, x_i) A_i. rows(output, axis, order, x): the matrix (P, n_axis) of
    d^order/dx^order k_axis(x_p, node_j) on that axis.
    """

    def __init__(self, points: Tensor, coefficients: Mapping[str, Tensor],
                 rows: Callable[[str, int, int, Tensor], Tensor], inputs, outputs, spatial):
        super().__init__(inputs, outputs, spatial)
        if points.ndim != 2 or points.shape[1] != len(self.inputs):
            raise ValueError(f"points must have shape (P, {len(self.inputs)}) for inputs "
                             f"{self.inputs}, got {tuple(points.shape)}")
        self.points, self.coefficients, self.rows = points, dict(coefficients), rows

    def coordinate(self, name: str) -> Tensor:
        return self.points[:, self._axis[name]]

    def _compute(self, output, orders):
        R = [self.rows(output, k, o, self.points[:, k]) for k, o in enumerate(orders)]
        return kron_rows(R, self.coefficients[output])


def condition_nodes(condition, grid, problem) -> tuple[Tensor, Tensor | None]:
    """Flat indices (C order) of the nodes of `grid` where `condition` applies, and the outward
    normals there (None where the condition needs none).

    Boundary conditions take the nodes on their selected boundary part (a corner node takes
    the normal of the first selected face it lies on), initial conditions the nodes at the
    first time, periodic conditions the nodes of the lower face followed by their images on
    the upper face. The grid must span the domain's bounding box.
    """
    ids = torch.arange(len(grid)).reshape(grid.shape)
    if condition.kind == "periodic":
        n = grid.shape[condition.axis]
        lower = ids.select(condition.axis, 0).reshape(-1)
        upper = ids.select(condition.axis, n - 1).reshape(-1)
        return torch.cat([lower, upper]), None
    if condition.points_kind == "initial":
        return ids.select(problem.inputs.index(problem.time), 0).reshape(-1), None
    if condition.points_kind != "boundary" or not hasattr(condition, "selector"):
        raise ValueError(f"condition {condition.name!r} ({condition.kind}) has no place on a "
                         "grid; boundary, initial and periodic conditions have")
    points = grid.points
    tol = 1e-9 * float(torch.linalg.vector_norm(grid.upper - grid.lower))
    normals = torch.full_like(points, math.nan)
    for piece in problem.domain.select(condition.selector):
        on = piece.distance(points).abs() <= tol
        if piece.keep is not None:
            on &= piece.keep(points)
        new = on & torch.isnan(normals[:, 0])
        normals[new] = piece.sign * piece.face.normal(points[new])
    index = torch.nonzero(~torch.isnan(normals[:, 0])).reshape(-1)
    return index, normals[index]
