"""Differential operators over the spatial inputs: grad, div, laplacian, and d for expressions.

They act on Fields (using the backend's cached derivatives) and, where the backend can, on
arbitrary tensor expressions of the fields (`div([k * u.x, k * u.y])`).
"""
from __future__ import annotations

from typing import Sequence

import torch

from .backend import active_backend
from .fields import Field, as_tensor, spatial_names


def d(expr, *names: str):
    """Partial derivative of a Field (exact, cached) or of a tensor expression of the fields."""
    if isinstance(expr, Field):
        return expr.d(*names)
    backend = active_backend()
    out = expr
    for n in names:
        if n not in backend.inputs:
            raise ValueError(f"'{n}' is not an input; inputs are {backend.inputs}")
        out = backend.diff(out, n)
    return out


def grad(u: Field, over: Sequence[str] | None = None) -> list[Field]:
    """The gradient of a scalar field over the spatial inputs (or the names in `over`)."""
    if not isinstance(u, Field):
        names = over if over is not None else active_backend().spatial
        return [d(u, n) for n in names]
    return [u.d(n) for n in spatial_names(u, over)]


def div(components: Sequence, over: Sequence[str] | None = None) -> torch.Tensor:
    """Divergence of a vector given by its components (Fields or expressions)."""
    components = list(components)
    names = tuple(over) if over is not None else active_backend_or_field(components).spatial
    if len(components) != len(names):
        raise ValueError(
            f"div needs one component per spatial input {names}, got {len(components)}"
        )
    return sum(as_tensor(d(c, n)) for c, n in zip(components, names))


def laplacian(u, over: Sequence[str] | None = None) -> torch.Tensor:
    """Sum of second derivatives over the spatial inputs."""
    if isinstance(u, Field):
        return sum(u.d(n, n).value for n in spatial_names(u, over))
    return div(grad(u, over), over)


def active_backend_or_field(components):
    for c in components:
        if isinstance(c, Field):
            return c.backend
    return active_backend()
