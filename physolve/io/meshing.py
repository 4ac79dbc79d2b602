"""Meshes with connectivity on which solutions are evaluated and written.

- Boxes get structured meshes: lines, quadrilaterals or hexahedra of a tensor grid.
- Other domains (CSG with holes, polygons, balls) get simplices: the Delaunay triangulation of
  boundary samples plus interior grid points, keeping only cells whose centroid lies in the
  domain -- Delaunay triangulates the convex hull, so cells across holes and notches are
  dropped this way.
- A MeshDomain is written on its own nodes and cells, so results go back onto the user's mesh.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

# Points per axis of the bounding box when no resolution is given, by dimension.
DEFAULT_RESOLUTION = {1: 401, 2: 101, 3: 31}

# meshio's names of the cells a structured grid or a triangulation is made of, by dimension.
BOX_CELLS = {1: "line", 2: "quad", 3: "hexahedron"}
SIMPLEX_CELLS = {1: "line", 2: "triangle", 3: "tetra"}


@dataclass
class OutputMesh:
    """Points (N, dim) float64 and meshio cell blocks [(cell type, (M, k) int array)]."""

    points: np.ndarray
    cells: list[tuple[str, np.ndarray]]

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    def __len__(self) -> int:
        return self.points.shape[0]


def spatial_domain(domain):
    """The spatial factor of a space-time domain, or the domain itself."""
    return getattr(domain, "spatial", domain)


def output_mesh(domain, resolution: int | None = None) -> OutputMesh:
    """A mesh of a (spatial) domain with about `resolution` points along the longest side."""
    if resolution is not None and (isinstance(resolution, bool) or not isinstance(resolution, int)
                                   or resolution < 2):
        raise ValueError(f"resolution must be an integer >= 2 (points per axis), got "
                         f"{resolution!r}")
    if hasattr(domain, "mesh_cells"):  # a MeshDomain: its own nodes and cells
        return OutputMesh(domain.mesh_points.numpy(), domain.mesh_cells())
    dim = domain.dim
    res = resolution or DEFAULT_RESOLUTION.get(dim, 11)
    box = domain._box_bounds()
    if box is not None:
        return box_mesh(*(b.numpy() for b in box), res)
    return simplex_mesh(domain, res)


def box_mesh(lower: np.ndarray, upper: np.ndarray, resolution: int) -> OutputMesh:
    """The structured grid of a box, about `resolution` points along its longest side."""
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    dim = lower.size
    if dim not in BOX_CELLS:
        raise ValueError(f"meshes are made for 1-, 2- and 3-D domains, not {dim}-D")
    extent = upper - lower
    shape = [max(2, round((resolution - 1) * e / extent.max()) + 1) for e in extent]
    axes = [np.linspace(lo, hi, n) for lo, hi, n in zip(lower, upper, shape)]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, dim)
    index = np.arange(points.shape[0]).reshape(shape)
    # Corners of each cell in VTK's order: counter-clockwise in each (x, y) layer.
    if dim == 1:
        corners = [index[:-1], index[1:]]
    elif dim == 2:
        corners = [index[:-1, :-1], index[1:, :-1], index[1:, 1:], index[:-1, 1:]]
    else:
        layer = lambda k: [index[:-1, :-1, k], index[1:, :-1, k],  # noqa: E731
                           index[1:, 1:, k], index[:-1, 1:, k]]
        corners = layer(slice(None, -1)) + layer(slice(1, None))
    cells = np.stack([c.reshape(-1) for c in corners], 1)
    return OutputMesh(points, [(BOX_CELLS[dim], cells)])


def simplex_mesh(domain, resolution: int) -> OutputMesh:
    """Delaunay mesh of boundary samples and interior grid points, restricted to the domain."""
    dim = domain.dim
    if dim not in SIMPLEX_CELLS:
        raise ValueError(f"meshes are made for 1-, 2- and 3-D domains, not {dim}-D")
    lo, hi = (b.numpy() for b in domain.bbox)
    h = float((hi - lo).max()) / (resolution - 1)
    n_inside = max(8, round(domain.volume() / h ** dim))
    inside = domain.sample_interior(n_inside, method="grid")
    # Grid points closer to the boundary than h/2 would make slivers with the boundary points.
    inside = inside[domain.sdf(inside) < -0.5 * h]
    if dim == 3:
        # Eight corners of a grid cube lie on one sphere, so Delaunay may put flat, zero-volume
        # tetrahedra between them; a small fixed jitter removes the tie.
        jitter = np.random.default_rng(0).uniform(-0.05 * h, 0.05 * h, tuple(inside.shape))
        inside = inside + torch.from_numpy(jitter)
    pts = torch.cat([boundary_nodes(domain, h), inside]).numpy()
    # Faces meeting at a corner both sample it: keep one of points closer than 1e-9 h.
    _, first = np.unique(np.round(pts / (1e-9 * h)), axis=0, return_index=True)
    pts = pts[np.sort(first)]
    return triangulate(domain, pts, h)


def boundary_nodes(domain, h: float) -> torch.Tensor:
    """Points about h apart on every boundary piece, ends of each face included (so that
    corners are nodes of the mesh and are not cut off)."""
    out = []
    for piece in domain.faces():
        face = piece.face
        k = max(2, math.ceil(face.measure ** (1 / max(face.param_dim, 1)) / h) + 1)
        axis = torch.linspace(0, 1, k, dtype=torch.float64)
        u = torch.stack(torch.meshgrid(*[axis] * face.param_dim, indexing="ij"), -1) \
            .reshape(-1, face.param_dim) if face.param_dim else torch.zeros(1, 0,
                                                                               dtype=torch.float64)
        x = face.map(u)
        out.append(x if piece.keep is None else x[piece.keep(x)])
    return torch.cat(out)


def triangulate(domain, points: np.ndarray, h: float) -> OutputMesh:
    """Simplices through `points` (Delaunay; consecutive points in 1-D) inside `domain`."""
    from scipy.spatial import Delaunay

    if points.shape[1] == 1:
        order = np.argsort(points[:, 0], kind="stable")
        cells = np.stack([order[:-1], order[1:]], 1)
    else:
        cells = Delaunay(points).simplices
    return _restrict(domain, points, cells, h)


def node_mesh(domain, points: np.ndarray) -> OutputMesh:
    """A mesh through given nodes, in their order (a reference's): simplices up to 3-D, else
    vertices."""
    dim = points.shape[1]
    if dim > 3:
        return OutputMesh(points, [("vertex", np.arange(len(points))[:, None])])
    lo, hi = points.min(0), points.max(0)
    h = float(np.prod(np.maximum(hi - lo, 1e-300)) / len(points)) ** (1 / dim)
    return triangulate(domain, points, h)


def _restrict(domain, points: np.ndarray, cells: np.ndarray, h: float) -> OutputMesh:
    """Keep the non-degenerate cells whose centroid is in the domain (points are kept as
    given, in their order, so that values computed at them stay aligned)."""
    corners = points[cells]
    keep = domain.contains(torch.from_numpy(corners.mean(1)), tol=0.0).numpy()
    if points.shape[1] > 1:
        edges = corners[:, 1:] - corners[:, :1]
        keep &= np.abs(np.linalg.det(edges)) > 1e-10 * h ** points.shape[1]
    return OutputMesh(points, [(SIMPLEX_CELLS[points.shape[1]], cells[keep])])


def output_times(problem, n: int) -> np.ndarray | None:
    """`n` evenly spaced times over the problem's time interval (None when stationary)."""
    if problem.time is None:
        return None
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"times must be an integer >= 1 (output times), got {n!r}")
    t = problem.domain.time
    return np.linspace(t.t0, t.t1, n) if n > 1 else np.array([t.t1])
