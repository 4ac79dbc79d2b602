"""Constructive solid geometry: Union (a | b), Intersection (a & b), Difference (a - b).

The boundary of a composite is made of pieces of its primitives' faces. A point x of a face
belongs to the composite's boundary, with outward normal nu = sign * (face normal), iff
x - delta nu is in the composite and x + delta nu is not (delta: 1e-7 of the bounding box
diagonal). This single probe rule covers every operation and nesting, and also discards
faces that coincide with another primitive's face from the inside (two touching boxes). Where
faces of two primitives coincide on the boundary (an L-shape built as the union of two
overlapping rectangles), the first primitive owns the shared part, so it is sampled once.

Smooth distances trim each face by the other operand's smooth inside function `_phi`
(R-functions), so they vanish on the kept piece only.
"""
from __future__ import annotations

from functools import partial

import torch
from torch import Tensor

from .base import BoundaryPiece, Geometry, check_name
from .rfunctions import r_and, r_or
from .sampling import acceptance_rate

_VOLUME_POINTS = 2**16


class _Composite(Geometry):
    default_name = "composite"
    # (trim sign for a's faces by b, trim sign for b's faces by a, orientation of b's faces)
    _rule: tuple[int, int, int]

    def __init__(self, a: Geometry, b: Geometry, name: str | None = None):
        owner = type(self).__name__
        from .spacetime import SpaceTime

        for field, g in (("a", a), ("b", b)):
            if not isinstance(g, Geometry) or isinstance(g, SpaceTime):
                raise ValueError(f"{owner}: {field} must be a spatial Geometry (combine spatial "
                                 f"domains first, then multiply by a TimeInterval), got {g!r}")
        if a.dim != b.dim:
            raise ValueError(f"{owner}: a and b must have the same dim, got {a.dim} and {b.dim}")
        self.a, self.b = a, b
        lo, hi = self._bounds(a, b)
        super().__init__(a.dim, lo, hi, check_name(name, self.default_name, owner))
        ta, tb, flip = self._rule
        self._prims = ([(p, s, t + ((ta, b),)) for p, s, t in a._flat()]
                       + [(p, flip * s, t + ((tb, a),)) for p, s, t in b._flat()])
        self._pieces = [BoundaryPiece(piece.face, partial(self._owned_by, q), s, t)
                        for q, (p, s, t) in enumerate(self._prims) for piece in p.faces()]
        self._volume: float | None = None

    @staticmethod
    def _bounds(a: Geometry, b: Geometry) -> tuple[Tensor, Tensor]:
        return torch.minimum(a._lower, b._lower), torch.maximum(a._upper, b._upper)

    def _flat(self):
        return list(self._prims)

    def faces(self) -> list[BoundaryPiece]:
        return list(self._pieces)

    def volume(self) -> float:
        """Bounding-box volume times the Sobol (seed 0) acceptance rate, cached."""
        if self._volume is None:
            lo, hi = self._lower, self._upper
            rate = acceptance_rate(self.dim, lambda u: lo + u * (hi - lo), self.contains,
                                   _VOLUME_POINTS)
            self._volume = float(torch.prod(hi - lo)) * rate
        return self._volume

    def _owner(self, x: Tensor) -> Tensor:
        """Index of the primitive owning each boundary point of x (see module doc), or -1."""
        tol, delta = 1e-10 * self._scale, 1e-7 * self._scale
        owner = torch.full((x.shape[0],), -1, dtype=torch.long, device=x.device)
        for q, (p, s, _) in enumerate(self._prims):
            idx = torch.nonzero((owner < 0) & (p._sdf(x).abs() <= tol)).squeeze(1)
            if idx.numel():
                xs = x[idx]
                nu = s * p._normal(xs)
                ok = (self._sdf(xs - delta * nu) <= 0) & (self._sdf(xs + delta * nu) > 0)
                owner[idx[ok]] = q
        return owner

    def _owned_by(self, q: int, x: Tensor) -> Tensor:
        return self._owner(x) == q

    def _normal(self, x: Tensor) -> Tensor:
        owner = self._owner(x)
        # Points no primitive owns (off the boundary): the nearest primitive's normal.
        nearest = torch.stack([p._sdf(x).abs() for p, _, _ in self._prims], 1).argmin(1)
        q = torch.where(owner >= 0, owner, nearest)
        n = torch.zeros_like(x)
        for k, (p, s, _) in enumerate(self._prims):
            m = q == k
            if m.any():
                n[m] = s * p._normal(x[m])
        return n

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.a!r}, {self.b!r}, name={self.name!r})"


class Union(_Composite):
    """Points in a or in b."""

    default_name = "union"
    _rule = (-1, -1, 1)

    def _sdf(self, x: Tensor) -> Tensor:
        return torch.minimum(self.a._sdf(x), self.b._sdf(x))

    def _phi(self, x: Tensor) -> Tensor:
        return r_or(self.a._phi(x), self.b._phi(x))


class Intersection(_Composite):
    """Points in both a and b."""

    default_name = "intersection"
    _rule = (1, 1, 1)

    @staticmethod
    def _bounds(a: Geometry, b: Geometry) -> tuple[Tensor, Tensor]:
        lo, hi = torch.maximum(a._lower, b._lower), torch.minimum(a._upper, b._upper)
        if not bool(torch.all(lo < hi)):
            raise ValueError(f"Intersection: the bounding boxes of a ({a.name!r}) and b "
                             f"({b.name!r}) do not overlap, so the intersection is empty")
        return lo, hi

    def _sdf(self, x: Tensor) -> Tensor:
        return torch.maximum(self.a._sdf(x), self.b._sdf(x))

    def _phi(self, x: Tensor) -> Tensor:
        return r_and(self.a._phi(x), self.b._phi(x))


class Difference(_Composite):
    """Points in a and not in the interior of b (b's faces become holes' faces, sign -1)."""

    default_name = "difference"
    _rule = (-1, 1, -1)

    @staticmethod
    def _bounds(a: Geometry, b: Geometry) -> tuple[Tensor, Tensor]:
        return a._lower, a._upper

    def _sdf(self, x: Tensor) -> Tensor:
        return torch.maximum(self.a._sdf(x), -self.b._sdf(x))

    def _phi(self, x: Tensor) -> Tensor:
        return r_and(self.a._phi(x), -self.b._phi(x))
