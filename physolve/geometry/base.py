"""The Geometry interface, boundary faces and pieces, and everything derived from them.

A domain is described by a few primitives' maths (`_sdf`, `_phi`, `_normal`, `faces`,
`volume`); sampling, selection of boundary parts, smooth distances, measures and periodic
pairs are written once here in terms of those.

Conventions: points are tensors of shape (..., dim); sampled points are float64 on the CPU;
functions of points (sdf, smooth_distance, ...) follow the dtype and device of their input and
are differentiable by autograd.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from .rfunctions import r_and_all, trimmed_distance
from .sampling import (acceptance_rate, allocate, check_count, check_method, rejection_sample,
                       spawn_seeds, unit_cube)

if TYPE_CHECKING:
    from .grid import Grid

Predicate = Callable[[Tensor], Tensor]
Selector = None | str | Predicate | Sequence[str | Predicate]

# Pieces whose measure is estimated (CSG) use this many Sobol points on their face.
_MEASURE_POINTS = 2**14


def as_points(x, dim: int, what: str = "x") -> tuple[Tensor, torch.Size]:
    """x as a float tensor of shape (N, dim), and the batch shape to give results back."""
    if not isinstance(x, Tensor):
        x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    elif not x.is_floating_point():
        x = x.to(torch.float64)
    if x.ndim == 0 or x.shape[-1] != dim:
        raise ValueError(f"{what} must have shape (..., {dim}) for a {dim}-D geometry, "
                         f"got {tuple(x.shape)}")
    return x.reshape(-1, dim), x.shape[:-1]


def check_name(name, default: str, owner: str) -> str:
    if name is None:
        return default
    if not isinstance(name, str) or not name or any(c in name for c in ".|") or name != name.strip():
        raise ValueError(f"{owner}: name must be a non-empty string without '.', '|' or "
                         f"surrounding spaces (they separate labels and selectors), got {name!r}")
    return name


@dataclass
class BoundarySample:
    """Points on a boundary with their outward unit normals and the face each lies on.

    face_labels lists the selected faces' labels ("prim.face"; faces of primitives sharing a
    name share a label); face_index[i] indexes it for point i.
    """

    points: Tensor
    normals: Tensor
    face_index: Tensor
    face_labels: list[str]

    @property
    def labels(self) -> list[str]:
        return [self.face_labels[i] for i in self.face_index.tolist()]

    def __len__(self) -> int:
        return self.points.shape[0]


class Face(ABC):
    """One smooth piece of a primitive's boundary, parametrised by the unit cube.

    `map` sends uniform points of [0, 1)^param_dim to uniform points of the face (by area). `carrier(x)` is a signed distance to the surface carrying the face
    (positive on the primitive's side, |grad| = 1 on the face); `trim(x)` > 0 marks the face
    on that surface (None when the face is the whole carrier, as for a sphere).
    """

    def __init__(self, primitive: str, name: str, dim: int, measure: float, param_dim: int,
                 scale: float, axis: int | None = None):
        self.primitive, self.name, self.dim = primitive, name, dim
        self.measure, self.param_dim, self.axis = float(measure), param_dim, axis
        # Rounding of sampled points puts them up to ~1e-16 * scale off the carrier.
        self.band = 1e-9 * scale

    @property
    def label(self) -> str:
        return f"{self.primitive}.{self.name}"

    @abstractmethod
    def map(self, u: Tensor) -> Tensor: ...

    @abstractmethod
    def _normal(self, x: Tensor) -> Tensor: ...

    @abstractmethod
    def carrier(self, x: Tensor) -> Tensor: ...

    def trim(self, x: Tensor) -> Tensor | None:
        return None

    def sample(self, n: int, method: str = "uniform", seed=None) -> Tensor:
        return self.map(unit_cube(n, self.param_dim, method, seed))

    def normal(self, x) -> Tensor:
        """Outward unit normal of the primitive at points x of the face, shape (..., dim)."""
        x, shape = as_points(x, self.dim)
        return self._normal(x).reshape(*shape, self.dim)

    def distance(self, x) -> Tensor:
        """Smooth distance-like function: 0 exactly on the face, > 0 on the primitive's side
        near it, |grad| = 1 on it (trimmed faces: >= 0 everywhere, 0 on the face only)."""
        x, shape = as_points(x, self.dim)
        return trimmed_distance(self.carrier(x), self.trim(x), 1.0, self.band).reshape(shape)

    def __repr__(self) -> str:
        return f"Face({self.label!r}, measure={self.measure:.6g})"


@dataclass(frozen=True, eq=False)
class BoundaryPiece:
    """The part of `face` that lies on a geometry's boundary.

    keep: predicate (points -> bool mask) selecting that part, None for the whole face.
    sign: +1, or -1 where the face's outward normal points into the geometry (a hole's face).
    trims: (s, g) pairs; s * g._phi(x) > 0 where the face is on the boundary (CSG), which
        trims the face's distance function to the piece.
    exact: False when `keep` includes a user predicate, which has no smooth distance.
    """

    face: Face
    keep: Predicate | None = None
    sign: int = 1
    trims: tuple = ()
    exact: bool = True
    # One-slot cache of the estimated measure (a list, since the dataclass is frozen).
    _measure: list = field(default_factory=list, init=False, repr=False)

    @property
    def label(self) -> str:
        return self.face.label

    def measure(self) -> float:
        """The face's measure times the fraction of it kept (Sobol estimate, seed 0, cached)."""
        if self.keep is None:
            return self.face.measure
        if not self._measure:
            frac = acceptance_rate(self.face.param_dim, self.face.map, self.keep, _MEASURE_POINTS)
            self._measure.append(self.face.measure * frac)
        return self._measure[0]

    def distance(self, x: Tensor) -> Tensor:
        tau = [t for t in [self.face.trim(x)] if t is not None]
        tau += [s * g._phi(x) for s, g in self.trims]
        return trimmed_distance(self.face.carrier(x), r_and_all(tau) if tau else None,
                                self.sign, self.face.band)


def _matches(token: str, face: Face) -> bool:
    return token in (face.primitive, face.name, face.label)


def _user_predicate(preds: list[Predicate]) -> Predicate:
    def keep(x: Tensor) -> Tensor:
        out = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
        for p in preds:
            m = torch.as_tensor(p(x), dtype=torch.bool, device=x.device).reshape(-1)
            if m.shape[0] != x.shape[0]:
                raise ValueError(f"on: a predicate must return one bool per point, got shape "
                                 f"{tuple(m.shape)} for {x.shape[0]} points")
            out |= m
        return out
    return keep


def _both(a: Predicate | None, b: Predicate) -> Predicate:
    return b if a is None else (lambda x: a(x) & b(x))


class Geometry(ABC):
    """A closed domain in R^dim with a piecewise smooth boundary.

    Subclasses give `_sdf` (signed distance, < 0 inside; exact for primitives), `_phi` (a
    smooth function positive inside and zero on the boundary, used to trim CSG pieces),
    `_normal` (outward normal of the nearest boundary piece), `faces` and `volume`; all take
    and return (N, dim) / (N,) tensors.
    """

    def __init__(self, dim: int, lower: Tensor, upper: Tensor, name: str):
        self.dim, self.name = dim, name
        self._lower, self._upper = lower.to(torch.float64), upper.to(torch.float64)
        # Length scale for tolerances: the bounding box's diagonal.
        self._scale = float(torch.linalg.vector_norm(self._upper - self._lower))

    @property
    def bbox(self) -> tuple[Tensor, Tensor]:
        return self._lower.clone(), self._upper.clone()

    # ---- hooks -------------------------------------------------------------------------
    @abstractmethod
    def _sdf(self, x: Tensor) -> Tensor: ...

    @abstractmethod
    def _phi(self, x: Tensor) -> Tensor: ...

    @abstractmethod
    def _normal(self, x: Tensor) -> Tensor: ...

    @abstractmethod
    def faces(self) -> list[BoundaryPiece]:
        """The boundary as pieces of primitive faces, each with its orientation sign."""

    @abstractmethod
    def volume(self) -> float: ...

    def _interior_map(self) -> tuple[int, Callable[[Tensor], Tensor]] | None:
        """(param_dim, map from the unit cube onto the domain preserving volume), if any."""
        return None

    def _box_bounds(self) -> tuple[Tensor, Tensor] | None:
        """(lower, upper) when the domain is an axis-aligned box, else None."""
        return None

    def _flat(self) -> list[tuple["Geometry", int, tuple]]:
        """Primitives making up the domain, with orientation sign and trims (see csg)."""
        return [(self, 1, ())]

    # ---- point queries -----------------------------------------------------------------
    def sdf(self, x) -> Tensor:
        """Signed distance: < 0 inside, 0 on the boundary, > 0 outside (CSG: min/max bound)."""
        x, shape = as_points(x, self.dim)
        return self._sdf(x).reshape(shape)

    def contains(self, x, tol: float = 1e-12) -> Tensor:
        """True for points of the closed domain (the boundary counts as inside)."""
        return self.sdf(x) <= tol

    def on_boundary(self, x, tol: float = 1e-8) -> Tensor:
        """|sdf| <= tol (for CSG this includes faces shared by touching operands)."""
        return self.sdf(x).abs() <= tol

    def boundary_normal(self, x) -> Tensor:
        """Outward unit normal at boundary points x (at corners, that of one adjacent face)."""
        x, shape = as_points(x, self.dim)
        return self._normal(x).reshape(*shape, self.dim)

    def smooth_distance(self, x, on: Selector = None) -> Tensor:
        """phi >= 0 in the domain, 0 exactly on the selected boundary part, ~ distance near it.

        The R0 conjunction of the selected pieces' trimmed distances: smooth away from
        corners, |grad phi| = 1 on the part, and grad phi = -(outward normal) there (also
        under autograd at boundary points). Selections by predicate have no smooth distance.
        """
        x, shape = as_points(x, self.dim)
        pieces = self.select(on)
        inexact = [p.label for p in pieces if not p.exact]
        if inexact:
            raise ValueError(f"smooth_distance: on={on!r} selects parts of {inexact} by a "
                             "predicate, which has no smooth distance; select whole faces by "
                             f"name (labels: {self.labels()})")
        return r_and_all([p.distance(x) for p in pieces]).reshape(shape)

    # ---- boundary parts ----------------------------------------------------------------
    def labels(self) -> list[str]:
        return list(dict.fromkeys(p.label for p in self.faces()))

    def select(self, on: Selector = None) -> list[BoundaryPiece]:
        """The boundary pieces a selector designates.

        None: the whole boundary. A string "a|b": faces whose primitive name, face name or
        label ("prim.face") equals a token. A callable: points -> bool mask, applied to every
        face. A list: the union of its members.
        """
        pieces = self.faces()
        if on is None:
            return list(pieces)
        members = list(on) if isinstance(on, (list, tuple)) else [on]
        tokens, preds = [], []
        for m in members:
            if isinstance(m, str):
                tokens += [t.strip() for t in m.split("|")]
            elif callable(m):
                preds.append(m)
            else:
                raise ValueError(f"on must be None, a string, a callable or a list of these, "
                                 f"got {m!r}")
        if not members:
            raise ValueError(f"on=[] selects nothing; available labels: {self.labels()}")
        for t in tokens:
            if not any(_matches(t, p.face) for p in pieces):
                raise ValueError(f"on={on!r}: {t!r} matches no boundary face of {self.name!r}; "
                                 f"available labels: {self.labels()} (a token may be a label, "
                                 "a primitive name or a face name)")
        keep_some = _user_predicate(preds) if preds else None
        out = []
        for p in pieces:
            if any(_matches(t, p.face) for t in tokens):
                out.append(p)
            elif keep_some is not None:
                out.append(replace(p, keep=_both(p.keep, keep_some), exact=False))
        return out

    def boundary_measure(self, on: Selector = None) -> float:
        """Length/area of the (selected) boundary; estimated by acceptance rates for CSG."""
        return float(sum(p.measure() for p in self.select(on)))

    # ---- sampling ----------------------------------------------------------------------
    def sample_interior(self, n: int, method: str = "uniform", seed=None) -> Tensor:
        """n points of the domain, (n, dim) float64 ("grid": about n points, see unit_cube)."""
        n, method = check_count(n), check_method(method)
        mapping = self._interior_map()
        # A grid is a Cartesian grid: mapped (polar) grids only for boxes.
        if mapping is not None and (method != "grid" or self._box_bounds() is not None):
            d, fn = mapping
            return fn(unit_cube(n, d, method, seed))
        lo, hi = self._lower, self._upper
        rate = self.volume() / float(torch.prod(hi - lo))
        return rejection_sample(n, self.dim, method, seed, lambda u: lo + u * (hi - lo),
                                self.contains, rate)

    def sample_boundary(self, n: int, method: str = "uniform", seed=None,
                        on: Selector = None) -> BoundarySample:
        """n points on the (selected) boundary, allocated to pieces by measure.

        Each piece draws from its own stream (spawned from `seed`) and keeps candidates by
        rejection until it has its share; "grid" gives evenly spaced points along each face's
        parameters (approximately n in all when pieces are partly rejected).
        """
        n, method = check_count(n), check_method(method)
        pieces = self.select(on)
        counts = allocate(n, [p.measure() for p in pieces])
        labels = list(dict.fromkeys(p.label for p in pieces))
        pts, nrm, idx = [], [], []
        for p, c, s in zip(pieces, counts, spawn_seeds(seed, len(pieces))):
            if c == 0:
                continue
            rate = p.measure() / p.face.measure
            x = rejection_sample(c, p.face.param_dim, method, s, p.face.map, p.keep, rate)
            pts.append(x)
            nrm.append(p.sign * p.face._normal(x))
            idx.append(torch.full((x.shape[0],), labels.index(p.label), dtype=torch.long))
        empty = torch.zeros(0, self.dim, dtype=torch.float64)
        return BoundarySample(torch.cat(pts) if pts else empty, torch.cat(nrm) if nrm else empty,
                              torch.cat(idx) if idx else torch.zeros(0, dtype=torch.long), labels)

    def periodic_pair(self, axis: int, n: int, method: str = "uniform",
                      seed=None) -> tuple[Tensor, Tensor]:
        """Points on the lower face along `axis` and their images on the upper face."""
        bounds = self._box_bounds()
        if bounds is None:
            raise ValueError(f"periodic_pair: {self.name!r} ({type(self).__name__}) is not "
                             "box-like; periodic pairs need a Box or a Box * TimeInterval")
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not 0 <= axis < self.dim:
            raise ValueError(f"periodic_pair: axis must be an integer in [0, {self.dim}), got {axis!r}")
        lo, hi = bounds
        others = [k for k in range(self.dim) if k != axis]
        u = unit_cube(check_count(n), self.dim - 1, method, seed)
        x = torch.empty(u.shape[0], self.dim, dtype=torch.float64)
        x[:, others] = lo[others] + u * (hi - lo)[others]
        lower, upper = x.clone(), x
        lower[:, axis], upper[:, axis] = lo[axis], hi[axis]
        return lower, upper

    def grid(self, shape) -> tuple["Grid", Tensor]:
        """A structured grid over the bounding box and the mask of its points in the domain."""
        from .grid import Grid

        g = Grid(self._lower, self._upper, shape)
        return g, self.contains(g.points)

    # ---- algebra -----------------------------------------------------------------------
    def __or__(self, other: "Geometry") -> "Geometry":
        from .csg import Union

        return Union(self, other)

    def __and__(self, other: "Geometry") -> "Geometry":
        from .csg import Intersection

        return Intersection(self, other)

    def __sub__(self, other: "Geometry") -> "Geometry":
        from .csg import Difference

        return Difference(self, other)

    def __mul__(self, other):
        from .spacetime import SpaceTime, TimeInterval

        return SpaceTime(self, other) if isinstance(other, TimeInterval) else NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"

