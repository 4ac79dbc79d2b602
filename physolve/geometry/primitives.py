"""Boxes and balls in any dimension, with their faces.

Box faces are named by axis ("xmin", "xmax", "ymin", ..., "x3min" beyond z); a ball has the
single face "boundary".
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from .base import BoundaryPiece, Face, Geometry, check_name
from .rfunctions import r_and_all, sqrt0


def as_vector(value, field: str, owner: str, dim: int | None = None) -> Tensor:
    """A 1-D float64 tensor of finite numbers (a scalar counts as one coordinate)."""
    try:
        v = np.atleast_1d(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {field} must be a sequence of numbers, got {value!r}") from None
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"{owner}: {field} must be a non-empty sequence of finite numbers, "
                         f"got {value!r}")
    if dim is not None and v.size != dim:
        raise ValueError(f"{owner}: {field} must have {dim} coordinates, got {v.size}")
    return torch.from_numpy(v.copy())


def as_scalar(value, field: str, owner: str, positive: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: {field} must be a number, got {value!r}") from None
    if not math.isfinite(v) or (positive and v <= 0):
        raise ValueError(f"{owner}: {field} must be a finite number{' > 0' if positive else ''}, "
                         f"got {value!r}")
    return v


# ---------------------------------------------------------------------------------------------
class _BoxFace(Face):
    """The face {x_axis = lower or upper} of a box (a point for a 1-D box)."""

    def __init__(self, box: "Box", axis: int, upper: bool):
        lo, hi = box._lower, box._upper
        others = [k for k in range(box.dim) if k != axis]
        name = f"{box.axis_name(axis)}{'max' if upper else 'min'}"
        super().__init__(box.name, name, box.dim, float(torch.prod((hi - lo)[others])),
                         box.dim - 1, box._scale, axis)
        self._lo, self._hi, self._others, self._upper = lo, hi, others, upper

    def map(self, u: Tensor) -> Tensor:
        lo, hi, k = self._lo, self._hi, self.axis
        x = torch.empty(u.shape[0], self.dim, dtype=torch.float64)
        x[:, self._others] = lo[self._others] + u * (hi - lo)[self._others]
        x[:, k] = hi[k] if self._upper else lo[k]
        return x

    def _normal(self, x: Tensor) -> Tensor:
        n = torch.zeros_like(x)
        n[:, self.axis] = 1.0 if self._upper else -1.0
        return n

    def carrier(self, x: Tensor) -> Tensor:
        k = self.axis
        return (self._hi[k].to(x) - x[:, k]) if self._upper else (x[:, k] - self._lo[k].to(x))

    def trim(self, x: Tensor) -> Tensor | None:
        # Slabs |x_j - c_j| < h_j along the face's own axes, each normalised like a distance.
        if not self._others:
            return None
        o = self._others
        c, h = ((self._lo + self._hi) / 2)[o].to(x), ((self._hi - self._lo) / 2)[o].to(x)
        slabs = (h * h - (x[:, o] - c) ** 2) / (2 * h)
        return r_and_all(list(slabs.unbind(1)))


class Box(Geometry):
    """The axis-aligned box [lower, upper] in any dimension."""

    default_name = "box"
    _axis_letters = ("x", "y", "z")
    _dim: int | None = None  # fixed by subclasses (Rectangle: 2)

    def __init__(self, lower, upper, name: str | None = None):
        owner = type(self).__name__
        lo = as_vector(lower, "lower", owner, self._dim)
        hi = as_vector(upper, "upper", owner, self._dim)
        if lo.shape != hi.shape:
            raise ValueError(f"{owner}: lower and upper must have the same number of "
                             f"coordinates, got {lo.numel()} and {hi.numel()}")
        if not bool(torch.all(lo < hi)):
            raise ValueError(f"{owner}: lower must be < upper in every coordinate, got "
                             f"lower={lo.tolist()}, upper={hi.tolist()}")
        super().__init__(lo.numel(), lo, hi, check_name(name, self.default_name, owner))
        self._pieces = [BoundaryPiece(_BoxFace(self, k, up))
                        for k in range(self.dim) for up in (False, True)]

    @classmethod
    def axis_name(cls, k: int) -> str:
        return cls._axis_letters[k] if k < len(cls._axis_letters) else f"x{k}"

    def faces(self) -> list[BoundaryPiece]:
        return list(self._pieces)

    def _sdf(self, x: Tensor) -> Tensor:
        lo, hi = self._lower.to(x), self._upper.to(x)
        q = (x - (lo + hi) / 2).abs() - (hi - lo) / 2
        outside = sqrt0((q.clamp(min=0) ** 2).sum(1))
        return outside + q.max(1).values.clamp(max=0)

    def _phi(self, x: Tensor) -> Tensor:
        return r_and_all([p.face.carrier(x) for p in self._pieces])

    def _normal(self, x: Tensor) -> Tensor:
        gaps = torch.cat([x - self._lower.to(x), self._upper.to(x) - x], 1).abs()
        j = gaps.argmin(1)
        n = torch.zeros_like(x)
        n[torch.arange(x.shape[0], device=x.device), j % self.dim] = torch.where(j < self.dim, -1.0, 1.0).to(x)
        return n

    def volume(self) -> float:
        return float(torch.prod(self._upper - self._lower))

    def _interior_map(self):
        lo, hi = self._lower, self._upper
        # The clamp undoes rounding of lo + u (hi - lo) past hi.
        return self.dim, lambda u: torch.minimum(lo + u * (hi - lo), hi)

    def _box_bounds(self):
        return self._lower, self._upper

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self._lower.tolist()}, {self._upper.tolist()}, "
                f"name={self.name!r})")


class Interval(Box):
    """[a, b]: a 1-D box with point faces "xmin" and "xmax" (measure 1 each)."""

    default_name = "interval"

    def __init__(self, a, b, name: str | None = None):
        owner = type(self).__name__
        a, b = as_scalar(a, "a", owner), as_scalar(b, "b", owner)
        if not a < b:
            raise ValueError(f"{owner}: a must be < b, got a={a}, b={b}")
        super().__init__([a], [b], name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({float(self._lower)}, {float(self._upper)}, name={self.name!r})"


class Rectangle(Box):
    """The 2-D box [x0, x1] x [y0, y1], given as Rectangle((x0, y0), (x1, y1))."""

    default_name = "rectangle"
    _dim = 2


# ---------------------------------------------------------------------------------------------
def unit_sphere(u: Tensor, d: int) -> Tensor:
    """Uniform points on the unit sphere in R^d from unit-cube points (see sphere_param_dim).

    d = 2, 3: area-preserving maps (angle; z = 1 - 2u, phi = 2 pi v), which keep the
    low discrepancy of QMC points. Otherwise normalised Gaussians through the inverse normal
    CDF (d coordinates); for d = 1 this reduces to the sign u < 1/2.
    """
    if d == 1:
        return torch.where(u < 0.5, -1.0, 1.0).to(u)
    if d == 2:
        a = 2 * math.pi * u[:, 0]
        return torch.stack([a.cos(), a.sin()], 1)
    if d == 3:
        z, a = 1 - 2 * u[:, 0], 2 * math.pi * u[:, 1]
        rho = (1 - z * z).clamp(min=0).sqrt()
        return torch.stack([rho * a.cos(), rho * a.sin(), z], 1)
    g = torch.special.ndtri(u.clamp(1e-15, 1 - 1e-15))
    return g / torch.linalg.vector_norm(g, dim=1, keepdim=True)


def sphere_param_dim(d: int) -> int:
    return {2: 1, 3: 2}.get(d, d)


def ball_volume(d: int) -> float:
    """Volume of the unit ball in R^d."""
    return math.pi ** (d / 2) / math.gamma(d / 2 + 1)


class _SphereFace(Face):
    def __init__(self, ball: "Ball"):
        d, r = ball.dim, ball.radius
        super().__init__(ball.name, "boundary", d, d * ball_volume(d) * r ** (d - 1),
                         sphere_param_dim(d), ball._scale)
        self._c, self._r = ball.center, r

    def map(self, u: Tensor) -> Tensor:
        return self._c + self._r * unit_sphere(u, self.dim)

    def _normal(self, x: Tensor) -> Tensor:
        v = x - self._c.to(x)
        return v / torch.linalg.vector_norm(v, dim=1, keepdim=True).clamp(min=torch.finfo(x.dtype).tiny)

    def carrier(self, x: Tensor) -> Tensor:
        # (r^2 - |x - c|^2) / 2r rather than r - |x - c|: the same zero set and unit gradient
        # on the sphere, but smooth at the centre, which hard constraints need.
        return (self._r ** 2 - ((x - self._c.to(x)) ** 2).sum(1)) / (2 * self._r)


class Ball(Geometry):
    """The closed ball |x - center| <= radius in any dimension."""

    default_name = "ball"
    _dim: int | None = None

    def __init__(self, center, radius, name: str | None = None):
        owner = type(self).__name__
        self.center = as_vector(center, "center", owner, self._dim)
        self.radius = as_scalar(radius, "radius", owner, positive=True)
        super().__init__(self.center.numel(), self.center - self.radius,
                         self.center + self.radius, check_name(name, self.default_name, owner))
        self._pieces = [BoundaryPiece(_SphereFace(self))]

    def faces(self) -> list[BoundaryPiece]:
        return list(self._pieces)

    def _sdf(self, x: Tensor) -> Tensor:
        return sqrt0(((x - self.center.to(x)) ** 2).sum(1)) - self.radius

    def _phi(self, x: Tensor) -> Tensor:
        return self._pieces[0].face.carrier(x)

    def _normal(self, x: Tensor) -> Tensor:
        return self._pieces[0].face._normal(x)

    def volume(self) -> float:
        return ball_volume(self.dim) * self.radius ** self.dim

    def _interior_map(self):
        d, c, r = self.dim, self.center, self.radius
        if d == 1:
            return 1, lambda u: c + r * (2 * u - 1)
        if d in (2, 3):  # radius u0^(1/d) makes the map volume-preserving
            return d, lambda u: c + r * u[:, :1] ** (1 / d) * unit_sphere(u[:, 1:], d)
        return None  # rejection from the bounding box

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.center.tolist()}, {self.radius}, name={self.name!r})"


class Disk(Ball):
    """A 2-D ball."""

    default_name = "disk"
    _dim = 2


class Sphere(Ball):
    """The solid 3-D ball (its surface is the face "boundary")."""

    default_name = "sphere"
    _dim = 3
