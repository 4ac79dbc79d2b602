"""Simple polygons (convex or not, either orientation); faces "edge0", "edge1", ...

Edge i joins vertex i to vertex i+1 (the last to the first), in the order given. The
orientation is read from the signed area so that normals point outward either way.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .base import BoundaryPiece, Face, Geometry, check_name
from .rfunctions import r_and_all, sqrt0

# Points per chunk times edges: bounds the (points x edges) work arrays of sdf.
_CHUNK = 2**22


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def _on_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray, tol: float) -> np.ndarray:
    """Whether points p lie on segments ab (within tol), all arrays broadcast to (..., 2)."""
    e, ap = b - a, p - a
    length = np.hypot(e[..., 0], e[..., 1])
    s = (ap * e).sum(-1)
    return (np.abs(_cross(e, ap)) <= tol * length) & (s >= -tol * length) & (s <= length**2 + tol * length)


def check_simple(v: np.ndarray, owner: str) -> float:
    """Raise ValueError unless v are the vertices of a simple polygon; return its signed area."""
    m = len(v)
    w = np.roll(v, -1, 0)
    e = w - v
    scale = float(np.ptp(v, 0).max())
    tol = 1e-10 * scale
    length = np.hypot(e[:, 0], e[:, 1])
    if np.any(length <= tol):
        i = int(np.argmax(length <= tol))
        raise ValueError(f"{owner}: vertices {i} and {(i + 1) % m} coincide (zero-length edge)")
    for i in range(m):
        # Adjacent edges meet at one vertex; they must not fold back onto each other.
        j = (i + 1) % m
        if abs(_cross(e[i], e[j])) <= tol * length[i] and np.dot(e[i], e[j]) < 0:
            raise ValueError(f"{owner}: edges {i} and {j} overlap (the boundary folds back)")
        others = np.array([k for k in range(i + 2, m) if (k + 1) % m != i], dtype=int)
        if not others.size:
            continue
        p, q = v[i], w[i]
        a, b = v[others], w[others]
        d1, d2 = _cross(q - p, a - p), _cross(q - p, b - p)
        d3, d4 = _cross(b - a, p - a), _cross(b - a, q - a)
        hit = ((d1 * d2 < 0) & (d3 * d4 < 0)) | _on_segment(a, p, q, tol) | _on_segment(b, p, q, tol) \
            | _on_segment(p, a, b, tol) | _on_segment(q, a, b, tol)
        if hit.any():
            raise ValueError(f"{owner}: edges {i} and {int(others[np.argmax(hit)])} intersect; "
                             "vertices must describe a simple (non-self-intersecting) polygon")
    area = 0.5 * float(_cross(v, w).sum())
    if abs(area) <= tol * scale:
        raise ValueError(f"{owner}: vertices has zero area (degenerate polygon)")
    return area


class _EdgeFace(Face):
    def __init__(self, poly: "Polygon", i: int, a: Tensor, b: Tensor):
        e = b - a
        length = float(torch.linalg.vector_norm(e))
        super().__init__(poly.name, f"edge{i}", 2, length, 1, poly._scale)
        self._a, self._e, self._len = a, e, length
        # (dy, -dx) is on the right of the edge: outward for counter-clockwise vertices.
        self._n = poly.orientation * torch.stack([e[1], -e[0]]) / length
        self._mid = (a + b) / 2

    def map(self, u: Tensor) -> Tensor:
        return self._a + u * self._e

    def _normal(self, x: Tensor) -> Tensor:
        return self._n.to(x).expand(x.shape[0], 2).clone()

    def carrier(self, x: Tensor) -> Tensor:
        return -((x - self._a.to(x)) * self._n.to(x)).sum(1)

    def trim(self, x: Tensor) -> Tensor:
        # Positive inside the disk having the edge as a diameter (Sukumar & Srivastava 2022).
        return (self._len**2 / 4 - ((x - self._mid.to(x)) ** 2).sum(1)) / self._len


class Polygon(Geometry):
    """The closed region bounded by a simple polygon."""

    default_name = "polygon"

    def __init__(self, vertices, name: str | None = None):
        owner = type(self).__name__
        try:
            v = np.asarray(vertices, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{owner}: vertices must be an (m, 2) array of numbers") from None
        if v.ndim != 2 or v.shape[1] != 2 or not np.all(np.isfinite(v)):
            raise ValueError(f"{owner}: vertices must be an (m, 2) array of finite numbers, "
                             f"got shape {v.shape}")
        if len(v) > 3 and np.array_equal(v[0], v[-1]):
            v = v[:-1]  # a closing repeat of the first vertex is not an edge
        if len(v) < 3:
            raise ValueError(f"{owner}: vertices must hold at least 3 points, got {len(v)}")
        area = check_simple(v, owner)
        self.orientation = 1.0 if area > 0 else -1.0
        self._area = abs(area)
        self.vertices = torch.from_numpy(v.copy())
        super().__init__(2, self.vertices.min(0).values, self.vertices.max(0).values,
                         check_name(name, self.default_name, owner))
        nxt = self.vertices.roll(-1, 0)
        self._pieces = [BoundaryPiece(_EdgeFace(self, i, self.vertices[i], nxt[i]))
                        for i in range(len(v))]
        self._out = torch.stack([p.face._n for p in self._pieces])

    def faces(self) -> list[BoundaryPiece]:
        return list(self._pieces)

    def volume(self) -> float:
        return self._area

    def _sq_dist_and_inside(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Squared distance to each edge (N, m), and the even-odd inside test (N,)."""
        a = self.vertices.to(x)
        e = a.roll(-1, 0) - a
        ap = x[:, None, :] - a
        t = ((ap * e).sum(-1) / (e * e).sum(-1)).clamp(0, 1)
        d2 = ((ap - t[..., None] * e) ** 2).sum(-1)
        ya, yb = a[:, 1], a[:, 1] + e[:, 1]
        y = x[:, 1:2]
        crosses = (ya > y) != (yb > y)
        dy = torch.where(e[:, 1] == 0, torch.ones_like(e[:, 1]), e[:, 1])
        x_at = a[:, 0] + (y - ya) * e[:, 0] / dy
        inside = (crosses & (x[:, :1] < x_at)).sum(1) % 2 == 1
        return d2, inside

    def _chunks(self, x: Tensor):
        step = max(1, _CHUNK // len(self._pieces))
        return [x[i:i + step] for i in range(0, x.shape[0], step)] or [x]

    def _sdf(self, x: Tensor) -> Tensor:
        out = []
        for xc in self._chunks(x):
            d2, inside = self._sq_dist_and_inside(xc)
            out.append(torch.where(inside, -1.0, 1.0).to(x) * sqrt0(d2.min(1).values))
        return torch.cat(out)

    def _phi(self, x: Tensor) -> Tensor:
        # Unsigned smooth distance to the whole boundary, signed by the inside test: near an
        # edge this equals the edge's signed carrier distance, so it is smooth across it.
        phi = r_and_all([p.distance(x) for p in self._pieces])
        return torch.where(self._sdf(x) <= 0, phi, -phi)

    def _normal(self, x: Tensor) -> Tensor:
        idx = torch.cat([self._sq_dist_and_inside(xc)[0].argmin(1) for xc in self._chunks(x)])
        return self._out.to(x)[idx]

    def __repr__(self) -> str:
        return f"Polygon({self.vertices.tolist()}, name={self.name!r})"
