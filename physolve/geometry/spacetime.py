"""Time intervals and space-time products `spatial * TimeInterval(t0, t1)`.

Coordinates are the spatial ones followed by t. The boundary of a space-time domain means its
lateral boundary (spatial boundary x [t0, t1]), where boundary conditions live; the initial
slice is sampled separately by `sample_initial`.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .base import BoundaryPiece, Face, Geometry, as_points, check_name
from .primitives import Interval, as_scalar
from .rfunctions import r_and
from .sampling import check_count, check_method


class TimeInterval(Interval):
    """The time domain [t0, t1]; its end points are the faces "tmin" and "tmax"."""

    default_name = "time"
    _axis_letters = ("t",)

    def __init__(self, t0, t1, name: str | None = None):
        owner = type(self).__name__
        t0, t1 = as_scalar(t0, "t0", owner), as_scalar(t1, "t1", owner)
        if not t0 < t1:
            raise ValueError(f"{owner}: t0 must be < t1, got t0={t0}, t1={t1}")
        self.t0, self.t1 = t0, t1
        super().__init__(t0, t1, name)


class _LateralFace(Face):
    """A spatial face times [t0, t1]; labels, axis and distances are the spatial face's."""

    def __init__(self, face: Face, time: TimeInterval):
        span = time.t1 - time.t0
        super().__init__(face.primitive, face.name, face.dim + 1, face.measure * span,
                         face.param_dim + 1, 1.0, face.axis)
        self.band = face.band
        self._face, self._t0, self._span = face, time.t0, span

    def map(self, u: Tensor) -> Tensor:
        return torch.cat([self._face.map(u[:, :-1]), self._t0 + self._span * u[:, -1:]], 1)

    def _normal(self, x: Tensor) -> Tensor:
        return torch.cat([self._face._normal(x[:, :-1]), torch.zeros_like(x[:, -1:])], 1)

    def carrier(self, x: Tensor) -> Tensor:
        return self._face.carrier(x[:, :-1])

    def trim(self, x: Tensor) -> Tensor | None:
        return self._face.trim(x[:, :-1])


def _on_space(keep):
    return None if keep is None else (lambda x: keep(x[:, :-1]))


class SpaceTime(Geometry):
    """The product spatial x [t0, t1]."""

    def __init__(self, spatial: Geometry, time: TimeInterval, name: str | None = None):
        if not isinstance(spatial, Geometry) or isinstance(spatial, (SpaceTime, TimeInterval)):
            raise ValueError(f"SpaceTime: spatial must be a spatial Geometry, got {spatial!r}")
        if not isinstance(time, TimeInterval):
            raise ValueError(f"SpaceTime: time must be a TimeInterval, got {time!r}")
        self.spatial, self.time = spatial, time
        super().__init__(spatial.dim + 1, torch.cat([spatial._lower, time._lower]),
                         torch.cat([spatial._upper, time._upper]),
                         check_name(name, "spacetime", "SpaceTime"))
        # Trims are left out: smooth_distance is the spatial one, applied to spatial coordinates.
        self._pieces = [BoundaryPiece(_LateralFace(p.face, time), _on_space(p.keep), p.sign)
                        for p in spatial.faces()]

    def faces(self) -> list[BoundaryPiece]:
        return list(self._pieces)

    def _sdf(self, x: Tensor) -> Tensor:
        # Exact inside and on the boundary; outside it is a lower bound of the distance.
        return torch.maximum(self.spatial._sdf(x[:, :-1]), self.time._sdf(x[:, -1:]))

    def _phi(self, x: Tensor) -> Tensor:
        return r_and(self.spatial._phi(x[:, :-1]), self.time._phi(x[:, -1:]))

    def _normal(self, x: Tensor) -> Tensor:
        return torch.cat([self.spatial._normal(x[:, :-1]), torch.zeros_like(x[:, -1:])], 1)

    def volume(self) -> float:
        return self.spatial.volume() * (self.time.t1 - self.time.t0)

    def _interior_map(self):
        inner = self.spatial._interior_map()
        if inner is None:
            return None
        d, fn = inner
        t0, span = self.time.t0, self.time.t1 - self.time.t0
        return d + 1, lambda u: torch.cat([fn(u[:, :-1]), t0 + span * u[:, -1:]], 1)

    def _box_bounds(self):
        return None if self.spatial._box_bounds() is None else (self._lower, self._upper)

    def on_boundary(self, x, tol: float = 1e-8) -> Tensor:
        """On the lateral boundary: spatial boundary at a time in [t0, t1]."""
        x, shape = as_points(x, self.dim)
        lateral = self.spatial._sdf(x[:, :-1]).abs() <= tol
        return (lateral & (self.time._sdf(x[:, -1:]) <= tol)).reshape(shape)

    def smooth_distance(self, x, on=None) -> Tensor:
        """The spatial smooth distance of the spatial coordinates (selectors as for spatial)."""
        x, shape = as_points(x, self.dim)
        return self.spatial.smooth_distance(x[:, :-1], on).reshape(shape)

    def time_distance(self, x) -> Tensor:
        """t - t0: zero on the initial slice, for hard initial conditions."""
        x, shape = as_points(x, self.dim)
        return (x[:, -1] - self.time.t0).reshape(shape)

    def sample_initial(self, n: int, method: str = "uniform", seed=None) -> Tensor:
        """Spatial interior points at t = t0, shape (n, dim)."""
        xs = self.spatial.sample_interior(check_count(n), check_method(method), seed)
        return torch.cat([xs, torch.full((xs.shape[0], 1), self.time.t0, dtype=xs.dtype)], 1)

    def __repr__(self) -> str:
        return f"SpaceTime({self.spatial!r}, {self.time!r}, name={self.name!r})"
