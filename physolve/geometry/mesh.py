"""Domains given by a mesh: triangles in 2-D, tetrahedra in 3-D, from any file meshio reads.

    domain = MeshDomain("plate.msh")              # or MeshDomain(meshio_mesh)
    x = domain.sample_interior(1000, seed=0)       # uniform by volume
    b = domain.sample_boundary(200, seed=0)        # on the boundary facets, outward normals

The boundary is made of the facets (edges, triangles) that belong to exactly one cell. Facets
listed as lower-dimensional cells in a named cell set of the file (gmsh physical groups, as
meshio reads them) form boundary parts of that name; the other boundary facets form the part
"boundary". Quadrilaterals are split into two triangles; the original cells are kept for
writing results back onto the same mesh (physolve.io).

Sampling uses one unit-cube coordinate to pick a cell (or facet) with probability
proportional to its measure and reuses the position of that coordinate inside the cell's
share of [0, 1) as the first coordinate within the cell. The map from the unit cube onto the
domain is therefore volume-preserving and keeps quasi-random and grid points well spread.
"""
from __future__ import annotations

import contextlib
import io
import math
import re
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .base import BoundaryPiece, Face, Geometry, check_name

_SPLIT = {"quad": [[0, 1, 2], [0, 2, 3]]}
_SIMPLICES = {2: ("triangle", "quad"), 3: ("tetra",)}
_FACETS = {2: "line", 3: "triangle"}


def _simplex_volumes(corners: np.ndarray) -> np.ndarray:
    """Volumes of simplices given by their corners (M, k + 1, dim), k <= dim."""
    edges = corners[:, 1:] - corners[:, :1]
    gram = np.einsum("mid,mjd->mij", edges, edges)
    k = edges.shape[1]
    return np.sqrt(np.clip(np.linalg.det(gram), 0, None)) / math.factorial(k)


def _fold(u: Tensor) -> Tensor:
    """Uniform points of [0, 1)^k -> uniform barycentric weights (k of k + 1) of a k-simplex
    (k <= 3), by folding the cube onto the simplex (Rocchini & Cignoni 2000)."""
    k = u.shape[1]
    if k == 1:
        return u
    s, t = u[:, 0].clone(), u[:, 1].clone()
    over = s + t > 1
    s[over], t[over] = 1 - s[over], 1 - t[over]
    if k == 2:
        return torch.stack([s, t], 1)
    w = u[:, 2].clone()
    a = t + w > 1
    b = ~a & (s + t + w > 1)
    s_a, t_a, w_a = s[a], t[a], w[a]
    t[a], w[a] = 1 - w_a, 1 - s_a - t_a
    s_b, t_b, w_b = s[b], t[b], w[b]
    s[b], w[b] = 1 - t_b - w_b, s_b + t_b + w_b - 1
    return torch.stack([s, t, w], 1)


class _Simplices:
    """Simplices (cells or facets) with measures, for sampling by measure."""

    def __init__(self, corners: np.ndarray):
        self.corners = torch.from_numpy(np.ascontiguousarray(corners, dtype=np.float64))
        self.measures = _simplex_volumes(corners)
        self.total = float(self.measures.sum())
        cum = np.concatenate([[0.0], np.cumsum(self.measures)]) / self.total
        self._cum = torch.from_numpy(cum)

    def map(self, u: Tensor) -> Tensor:
        """Unit-cube points (n, k) -> uniform points of the union of the simplices (n, dim)."""
        n_cells = len(self.measures)
        i = torch.searchsorted(self._cum, u[:, 0].contiguous(), right=True) - 1
        i = i.clamp(0, n_cells - 1)
        lo, hi = self._cum[i], self._cum[i + 1]
        first = ((u[:, 0] - lo) / (hi - lo)).clamp(0, 1 - 1e-16)
        lam = _fold(torch.cat([first[:, None], u[:, 1:]], 1))
        c = self.corners[i]
        return c[:, 0] + ((c[:, 1:] - c[:, :1]) * lam[:, :, None]).sum(1)


def _point_segment_sq(x: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Squared distances (N, M) from points x (N, d) to segments a-b (M, d)."""
    e = b - a
    ap = x[:, None, :] - a
    t = ((ap * e).sum(-1) / (e * e).sum(-1).clamp_min(1e-300)).clamp(0, 1)
    return ((ap - t[..., None] * e) ** 2).sum(-1)


def _facet_sq_distance(x: Tensor, corners: Tensor, normals: Tensor) -> Tensor:
    """Squared distances (N, M) from points to facets: segments in 2-D, triangles in 3-D."""
    if corners.shape[1] == 2:
        return _point_segment_sq(x, corners[:, 0], corners[:, 1])
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    # Inside the triangle's prism the distance is the plane's; otherwise an edge's.
    ap = x[:, None, :] - a
    plane = (ap * normals).sum(-1)
    proj = ap - plane[..., None] * normals
    e1, e2 = b - a, c - a
    d11, d12, d22 = (e1 * e1).sum(-1), (e1 * e2).sum(-1), (e2 * e2).sum(-1)
    p1, p2 = (proj * e1).sum(-1), (proj * e2).sum(-1)
    det = (d11 * d22 - d12 * d12).clamp_min(1e-300)
    s, t = (d22 * p1 - d12 * p2) / det, (d11 * p2 - d12 * p1) / det
    inside = (s >= 0) & (t >= 0) & (s + t <= 1)
    edges = torch.minimum(torch.minimum(_point_segment_sq(x, a, b), _point_segment_sq(x, b, c)),
                          _point_segment_sq(x, c, a))
    return torch.where(inside, plane * plane, edges)


def _named_facets(mesh, facet_type: str):
    """(name, facet vertex indices) from a meshio mesh: its named cell sets, and gmsh's
    physical groups (cell data "gmsh:physical" with names in field_data)."""
    for name, per_block in (mesh.cell_sets or {}).items():
        if name.startswith("gmsh:"):
            continue
        for block, index in zip(mesh.cells, per_block):
            if block.type == facet_type and index is not None and len(index):
                yield name, np.asarray(block.data)[np.asarray(index)]
    tags = mesh.cell_data.get("gmsh:physical")
    if tags is None:
        return
    facet_dim = {"line": 1, "triangle": 2}[facet_type]
    names = {int(v[0]): k for k, v in (mesh.field_data or {}).items()
             if len(v) > 1 and int(v[1]) == facet_dim}
    for block, block_tags in zip(mesh.cells, tags):
        if block.type != facet_type:
            continue
        block_tags = np.asarray(block_tags)
        for tag in np.unique(block_tags):
            if int(tag) in names:
                yield names[int(tag)], np.asarray(block.data)[block_tags == tag]


class _FacetGroup(Face):
    """The boundary facets sharing a label, as one face parametrised by arc length / area."""

    def __init__(self, domain: "MeshDomain", name: str, corners: np.ndarray,
                 normals: np.ndarray):
        self._simplices = _Simplices(corners)
        super().__init__(domain.name, name, domain.dim, self._simplices.total, domain.dim - 1,
                         domain._scale)
        self._corners = self._simplices.corners
        self._normals = torch.from_numpy(normals)
        self._domain = domain

    def map(self, u: Tensor) -> Tensor:
        return self._simplices.map(u)

    def _nearest(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Distance to the group and the index of the nearest facet."""
        corners, normals = self._corners.to(x), self._normals.to(x)
        d2, idx = [], []
        step = max(1, 2**22 // len(corners))
        for xc in x.split(step) if x.shape[0] else [x]:
            dc = _facet_sq_distance(xc, corners, normals)
            m = dc.min(1)
            d2.append(m.values)
            idx.append(m.indices)
        from .rfunctions import sqrt0
        return sqrt0(torch.cat(d2)), torch.cat(idx)

    def _normal(self, x: Tensor) -> Tensor:
        return self._normals.to(x)[self._nearest(x)[1]]

    def carrier(self, x: Tensor) -> Tensor:
        dist = self._nearest(x)[0]
        return torch.where(self._domain._locate(x.detach()), dist, -dist)


def _read_mesh(path: Path, owner: str):
    """meshio.read, with its failures as one ValueError naming the path.

    meshio raises ReadError, KeyError, ... by format, and for a file that none of the readers
    of its suffix understands it prints their complaints and calls sys.exit(1): both are caught
    here, the printed text becoming the message."""
    import meshio

    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            return meshio.read(path)
    except (Exception, SystemExit) as err:
        reason = " ".join(said.getvalue().split()) or f"{type(err).__name__}: {err}"
        raise ValueError(f"{owner}: cannot read the mesh file {path}: {reason}") from None


class MeshDomain(Geometry):
    """The domain covered by a mesh's cells (triangles/quadrilaterals in 2-D, tetrahedra in
    3-D): a path to any file meshio reads, or a meshio.Mesh."""

    default_name = "mesh"

    def __init__(self, mesh, name: str | None = None):
        import meshio

        owner = type(self).__name__
        source = mesh
        if isinstance(mesh, (str, Path)):
            # ValueError naming the path, like every other bad argument here: a config's
            # mesh key then reports it as one line (physolve.config), not a traceback.
            path = Path(mesh)
            if not path.is_file():
                raise ValueError(f"{owner}: no mesh file at {path}")
            mesh = _read_mesh(path, owner)
        if not isinstance(mesh, meshio.Mesh):
            raise ValueError(f"{owner}: mesh must be a file path or a meshio.Mesh, got "
                             f"{type(source).__name__}")
        kinds = {b.type for b in mesh.cells}
        dim = 3 if "tetra" in kinds else 2 if kinds & {"triangle", "quad"} else None
        if dim is None:
            raise ValueError(f"{owner}: the mesh has cells {sorted(kinds)}; a domain needs "
                             "triangles or quadrilaterals (2-D) or tetrahedra (3-D)")
        points = np.asarray(mesh.points, dtype=np.float64)
        if points.shape[1] > dim:
            if np.ptp(points[:, dim:], axis=0).max() > 0:
                raise ValueError(f"{owner}: a {dim}-D mesh must lie in a plane z = const")
            points = points[:, :dim]
        self.mesh_points = torch.from_numpy(np.ascontiguousarray(points))
        self._blocks = [(b.type, np.asarray(b.data)) for b in mesh.cells
                        if b.type in _SIMPLICES[dim]]
        simplices = np.concatenate([data[:, _SPLIT[t]].reshape(-1, dim + 1) if t in _SPLIT
                                    else data for t, data in self._blocks])
        super().__init__(dim, self.mesh_points.min(0).values, self.mesh_points.max(0).values,
                         check_name(name, self.default_name, owner))
        self._cells = _Simplices(points[simplices])
        if np.any(self._cells.measures <= 0):
            raise ValueError(f"{owner}: the mesh has cells of zero "
                             f"{'area' if dim == 2 else 'volume'}")
        self._prepare_location(points, simplices)
        self._pieces = [BoundaryPiece(f) for f in self._boundary(points, simplices, mesh)]

    # --- construction -------------------------------------------------------------------
    def _boundary(self, points, simplices, mesh) -> list[_FacetGroup]:
        dim = self.dim
        local = [[j for j in range(dim + 1) if j != i] for i in range(dim + 1)]
        facets = simplices[:, local].reshape(-1, dim)          # (cells * (dim+1), dim)
        opposite = simplices[:, range(dim + 1)].reshape(-1)     # the vertex left out
        key = np.sort(facets, axis=1)
        _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        once = counts[inverse.reshape(-1)] == 1
        facets, opposite, key = facets[once], opposite[once], key[once]
        corners = points[facets]
        if dim == 2:
            e = corners[:, 1] - corners[:, 0]
            normals = np.stack([e[:, 1], -e[:, 0]], 1)
        else:
            normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        outward = ((corners[:, 0] - points[opposite]) * normals).sum(1) > 0
        normals[~outward] *= -1
        labels = self._facet_labels(mesh, key)
        groups = []
        for name in dict.fromkeys(labels):
            sel = np.array([lab == name for lab in labels])
            groups.append(_FacetGroup(self, name, corners[sel], normals[sel]))
        return groups

    def _facet_labels(self, mesh, key: np.ndarray) -> list[str]:
        """Names of the boundary facets from the file (else "boundary")."""
        named = {}
        for name, facets in _named_facets(mesh, _FACETS[self.dim]):
            label = check_name(re.sub(r"[.|\s]+", "_", name.strip()) or "boundary",
                               "boundary", "MeshDomain")
            for f in np.sort(facets, axis=1):
                named[tuple(f)] = label
        return [named.get(tuple(k), "boundary") for k in key]

    def _prepare_location(self, points, simplices):
        from scipy.spatial import cKDTree

        corners = points[simplices]
        centroids = corners.mean(1)
        self._tree = cKDTree(centroids)
        self._reach = float(np.linalg.norm(corners - centroids[:, None], axis=2).max())
        self._origin = corners[:, 0]
        self._inverse = np.linalg.inv(np.transpose(corners[:, 1:] - corners[:, :1], (0, 2, 1)))

    # --- point location -----------------------------------------------------------------
    def _locate(self, x: Tensor, tol: float = 0.0) -> Tensor:
        """Whether each point lies in some cell (barycentric test on the cells whose
        centroid is within reach: a cell contains no point farther from its centroid than
        its farthest vertex)."""
        pts = x.detach().to("cpu", torch.float64).numpy()
        eps = 1e-12 + tol / self._scale
        inside = np.zeros(len(pts), dtype=bool)
        if not len(pts):
            return torch.from_numpy(inside).to(x.device)
        near = self._tree.query_ball_point(pts, self._reach * (1 + 1e-9) + tol)
        lengths = np.fromiter((len(n) for n in near), dtype=np.int64, count=len(near))
        if lengths.sum():
            cell = np.concatenate([np.asarray(n, dtype=np.int64) for n in near if n])
            point = np.repeat(np.arange(len(pts)), lengths)
            lam = np.einsum("mij,mj->mi", self._inverse[cell], pts[point] - self._origin[cell])
            hit = (lam >= -eps).all(1) & (lam.sum(1) <= 1 + eps)
            inside[point[hit]] = True
        return torch.from_numpy(inside).to(x.device)

    # --- Geometry hooks -----------------------------------------------------------------
    def _boundary_distance(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Distance to the whole boundary and the nearest boundary facet's normal."""
        best, normal = None, None
        for p in self._pieces:
            dist, idx = p.face._nearest(x)
            n = p.face._normals.to(x)[idx]
            if best is None:
                best, normal = dist, n
            else:
                closer = dist < best
                best = torch.where(closer, dist, best)
                normal = torch.where(closer[:, None], n, normal)
        return best, normal

    def _sdf(self, x: Tensor) -> Tensor:
        dist = self._boundary_distance(x)[0]
        return torch.where(self._locate(x), -dist, dist)

    def _phi(self, x: Tensor) -> Tensor:
        return -self._sdf(x)

    def _normal(self, x: Tensor) -> Tensor:
        return self._boundary_distance(x)[1]

    def contains(self, x, tol: float = 1e-12) -> Tensor:
        from .base import as_points

        x, shape = as_points(x, self.dim)
        return self._locate(x, tol).reshape(shape)

    def faces(self) -> list[BoundaryPiece]:
        return list(self._pieces)

    def volume(self) -> float:
        return self._cells.total

    def _interior_map(self):
        return self.dim, self._cells.map

    # --- output -------------------------------------------------------------------------
    def mesh_cells(self) -> list[tuple[str, np.ndarray]]:
        """The mesh's own cells (meshio blocks), for writing results back onto it."""
        return [(t, d.copy()) for t, d in self._blocks]

    def __repr__(self) -> str:
        n = sum(len(d) for _, d in self._blocks)
        return (f"MeshDomain({len(self.mesh_points)} nodes, {n} cells, dim={self.dim}, "
                f"name={self.name!r})")
