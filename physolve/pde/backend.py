"""The derivative backend: how a solver family supplies fields and their derivatives.

A PDE residual is written once against named fields (`f.u.xx`); it never says how derivatives are
computed. Each solver family provides a `DerivativeBackend` over its own discretisation: automatic
differentiation at collocation points (PINN, PIG), finite-difference stencils on a grid, or
closed-form kernel derivatives (GP solver). Residual code only sees the interface below.
"""
from __future__ import annotations

import contextlib
import contextvars
from abc import ABC, abstractmethod
from typing import Iterator, Sequence

import torch

_ACTIVE: contextvars.ContextVar["DerivativeBackend | None"] = contextvars.ContextVar(
    "physolve_active_backend", default=None
)


class DerivativeBackend(ABC):
    """Values and partial derivatives of named outputs on one discretisation.

    `inputs` are the coordinate names in order (space first, then time); `spatial` is the subset
    the differential operators (grad, div, laplacian) act on. Every returned tensor has the
    backend's point shape: `(N,)` for scattered points, the grid shape for grid backends.
    """

    def __init__(self, inputs: Sequence[str], outputs: Sequence[str], spatial: Sequence[str]):
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)
        self.spatial = tuple(spatial)

    @abstractmethod
    def value(self, output: str) -> torch.Tensor:
        """The field `output` itself."""

    @abstractmethod
    def derivative(self, output: str, wrt: tuple[str, ...]) -> torch.Tensor:
        """The partial derivative of `output` with respect to the inputs named in `wrt`
        (repeats allowed, order irrelevant: mixed partials commute for smooth fields)."""

    @abstractmethod
    def coordinate(self, name: str) -> torch.Tensor:
        """The coordinate `name` at every point."""

    def diff(self, expr: torch.Tensor, name: str) -> torch.Tensor:
        """Derivative of an arbitrary expression of the fields; not every backend can."""
        raise NotImplementedError(
            f"{type(self).__name__} cannot differentiate arbitrary expressions; "
            "write the residual with derivatives of the fields themselves (e.g. k * u.xx)"
        )

    @contextlib.contextmanager
    def active(self) -> Iterator["DerivativeBackend"]:
        """Make this backend the one free functions such as `physolve.d(expr, "x")` use."""
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)


class PointBackend(DerivativeBackend):
    """A backend at scattered points (N, inputs): coordinates are columns of `points` and a
    derivative is keyed by its output and the sorted axes it is taken along, so u.xy and u.yx
    are one entry."""

    def __init__(self, points: torch.Tensor, inputs: Sequence[str], outputs: Sequence[str],
                 spatial: Sequence[str]):
        super().__init__(inputs, outputs, spatial)
        self.points = points
        self._axis = {name: i for i, name in enumerate(self.inputs)}

    def key(self, output: str, wrt: tuple[str, ...]) -> tuple[str, tuple[int, ...]]:
        return output, tuple(sorted(self._axis[n] for n in wrt))

    def value(self, output: str) -> torch.Tensor:
        return self.derivative(output, ())

    def coordinate(self, name: str) -> torch.Tensor:
        return self.points[:, self._axis[name]]


def active_backend() -> DerivativeBackend:
    backend = _ACTIVE.get()
    if backend is None:
        raise RuntimeError(
            "no derivative backend is active: differential operators on plain tensors only work "
            "inside a residual or condition while a solver evaluates it"
        )
    return backend
