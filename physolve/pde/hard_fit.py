"""A smooth global fit of the hard Dirichlet data, and per-part extensions built around it.

The blended lift A = sum_i w_i E_i / sum_i w_i (hard.py) is only as smooth inside the domain
as the differences E_i - E_j between the parts' extensions: its weights change by O(1) over the
domain, so a lift built from extensions that disagree by O(1) away from the boundary has O(1)
curvature that the network must then cancel. Data written per face (a function of the face's
own coordinate) disagree like that. Here the extensions are

    E_i(x) = F(x) + (g_i - F)(P_i x),

with F one smooth function fitted once, by least squares, to the data of all parts, and P_i
the projection onto the line carrying part i. E_i = g_i on part i, and E_i - F is the fit's
residual on part i carried along the normals, so the extensions differ only by that residual.

F is a tensor Chebyshev series of total degree <= _DEGREE on the bounding box; the data fix
it on the boundary only, so the fit also minimises its squared second derivatives over the
domain (the smoothest such function, not any particular PDE's solution), weighted lightly.

Used for 2-D domains whose hard parts are straight faces each (polygon edges, rectangle
faces); elsewhere the extensions stay the data themselves.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ..geometry.base import Geometry
from ..geometry.polygon import _EdgeFace
from ..geometry.primitives import _BoxFace
from ..geometry.spacetime import SpaceTime

_DEGREE = 8
# Points per part for the fit (Chebyshev-spaced along the face), and inside for the curvature.
_PER_PART = 200
_INTERIOR = 2000
# Weight of the curvature term against the boundary misfit (both as means).
_SMOOTHING = 1e-6


def _chebyshev(t: Tensor, degree: int, derivatives: int = 0) -> list[Tensor]:
    """T_0..T_degree at t and their first `derivatives` derivatives, each (N, degree + 1),
    by the three-term recurrence and its derivatives."""
    one, zero = torch.ones_like(t), torch.zeros_like(t)
    out = [[one, t], [zero, one], [zero, zero]][:derivatives + 1]
    for _ in range(degree - 1):
        T, D, DD = (out + [None, None])[:3]
        T.append(2 * t * T[-1] - T[-2])
        if D is not None:
            D.append(2 * T[-2] + 2 * t * D[-1] - D[-2])
        if DD is not None:
            DD.append(4 * D[-2] + 2 * t * DD[-1] - DD[-2])
    return [torch.stack(c[:degree + 1], 1) for c in out]


class _Series2D:
    """sum c_ab T_a(xi) T_b(eta) over a + b <= degree, (xi, eta) the box mapped to [-1, 1]^2."""

    def __init__(self, lower: Tensor, upper: Tensor, degree: int):
        self.lower, self.upper, self.degree = lower, upper, degree
        index = [(a, b) for a in range(degree + 1) for b in range(degree + 1 - a)]
        self.a = torch.tensor([i for i, _ in index])
        self.b = torch.tensor([j for _, j in index])
        self.coef: Tensor | None = None

    def _scaled(self, x: Tensor) -> Tensor:
        return 2 * (x - self.lower.to(x)) / (self.upper - self.lower).to(x) - 1

    def basis(self, x: Tensor) -> Tensor:
        t = self._scaled(x)
        (tx,), (ty,) = _chebyshev(t[:, 0], self.degree), _chebyshev(t[:, 1], self.degree)
        return tx[:, self.a.to(x.device)] * ty[:, self.b.to(x.device)]

    def hessian_basis(self, x: Tensor) -> Tensor:
        """Second derivatives of every basis function, (N, 3, n_basis): xx, xy (x sqrt 2), yy."""
        t = self._scaled(x)
        k = 2 / (self.upper - self.lower).to(x)
        X, Y = _chebyshev(t[:, 0], self.degree, 2), _chebyshev(t[:, 1], self.degree, 2)
        a, b = self.a, self.b
        return torch.stack([X[2][:, a] * Y[0][:, b] * k[0] ** 2,
                            2**0.5 * X[1][:, a] * Y[1][:, b] * k[0] * k[1],
                            X[0][:, a] * Y[2][:, b] * k[1] ** 2], 1)

    def __call__(self, x: Tensor) -> Tensor:
        return self.basis(x) @ self.coef.to(x)


class _Series1D:
    """A polynomial of s given by its Chebyshev coefficients on s in [0, 1] (exact anywhere)."""

    def __init__(self, coef: Tensor):
        self.coef = coef

    def __call__(self, s: Tensor) -> Tensor:
        return _chebyshev(2 * s - 1, len(self.coef) - 1)[0] @ self.coef.to(s)


def _segment(face) -> tuple[Tensor, Tensor]:
    """Start and direction of a straight face: its points are a + s e, s in [0, 1]."""
    ends = face.map(torch.tensor([[0.0], [1.0]], dtype=torch.float64))
    return ends[0], ends[1] - ends[0]


class FittedLift:
    """F and the residuals r_i = (g_i - F) o P_i, so that E_i = F + r_i (module docstring)."""

    def __init__(self, series: _Series2D, values: list[Callable], segments):
        self.F = series
        self.values, self.segments = values, segments
        # F along each carrier line is a polynomial of degree <= _DEGREE in s: fit it exactly.
        s = (1 - torch.cos(torch.linspace(0, torch.pi, 4 * _DEGREE, dtype=torch.float64))) / 2
        cheb = _chebyshev(2 * s - 1, _DEGREE)[0]
        self.on_line = [_Series1D(torch.linalg.lstsq(cheb, series(a + s[:, None] * e)[:, None]
                                                     ).solution[:, 0]) for a, e in segments]

    def residual(self, i: int, x: Tensor) -> Tensor:
        a, e = (v.to(x) for v in self.segments[i])
        s = ((x - a) @ e) / (e @ e)
        return self.values[i](a + s[:, None] * e) - self.on_line[i](s)

    def extension(self, i: int) -> Callable[[Tensor], Tensor]:
        return lambda x: self.F(x) + self.residual(i, x)


def fitted_lift(domain: Geometry, values: list[Callable], selectors: list) -> FittedLift | None:
    """The fitted lift's parts, or None where it does not apply (see the module's docstring)."""
    if domain.dim != 2 or len(values) < 2 or isinstance(domain, SpaceTime):
        return None
    segments = []
    for sel in selectors:
        pieces = domain.select(sel)
        if len(pieces) != 1 or pieces[0].trims or pieces[0].keep is not None \
                or not isinstance(pieces[0].face, (_EdgeFace, _BoxFace)):
            return None
        segments.append(_segment(pieces[0].face))
    lower, upper = domain.bbox
    series = _Series2D(lower, upper, _DEGREE)
    # Chebyshev-spaced points along each face weigh its ends, where the parts meet.
    s = (1 - torch.cos(torch.linspace(0, torch.pi, _PER_PART, dtype=torch.float64))) / 2
    scale = (len(values) * _PER_PART) ** -0.5
    with torch.no_grad():
        pts = [a + s[:, None] * e for a, e in segments]
        rows = [series.basis(p) * scale for p in pts]
        rhs = [g(p) * scale for g, p in zip(values, pts)]
        x = domain.sample_interior(_INTERIOR, method="sobol", seed=0)
        hess = series.hessian_basis(x).reshape(-1, len(series.a))
    size = float((upper - lower).max())
    weight = (_SMOOTHING / _INTERIOR) ** 0.5 * size**2
    A = torch.cat(rows + [weight * hess])
    b = torch.cat(rhs + [torch.zeros(hess.shape[0], dtype=torch.float64)])
    series.coef = torch.linalg.lstsq(A, b[:, None], driver="gelsd").solution[:, 0]
    return FittedLift(series, values, segments)
