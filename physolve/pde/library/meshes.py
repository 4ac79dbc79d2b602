"""Problems on domains read from mesh files (any format meshio reads)."""
from __future__ import annotations

import math
from importlib import resources

import torch

from ..conditions import Dirichlet
from ..operators import laplacian
from ..problem import Problem
from ..reference import Analytic
from .registry import problems


def mesh_file(name: str):
    """Path of a mesh shipped with physolve (physolve/data/meshes)."""
    return resources.files("physolve") / "data" / "meshes" / name


@problems.register("poisson_mesh")
def poisson_mesh(mesh: str | None = None) -> Problem:
    """-laplace(u) = f on the domain of a mesh file, u = g on its boundary, with f and g
    chosen so that u = sin(pi x) sin(pi y) (times sin(pi z) in 3-D). `mesh`: a path to a
    2-D (triangles, quadrilaterals) or 3-D (tetrahedra) mesh; default: a 2 x 1 plate with a
    hole of radius 0.25 (boundary parts "outer" and "hole"). Reference: u at the mesh nodes;
    results are written back onto the same mesh."""
    from ...geometry.mesh import MeshDomain

    domain = MeshDomain(str(mesh_file("plate_with_hole.msh")) if mesh is None else mesh)
    names = "xyz"[:domain.dim]

    def exact(**coords):
        return math.prod(torch.sin(math.pi * coords[n]) for n in names)

    def residual(f):
        return laplacian(f.u) + domain.dim * math.pi ** 2 * exact(**{n: f[n] for n in names})

    return Problem(domain, residual, inputs=" ".join(names), outputs="u",
                   conditions=[Dirichlet(lambda **c: exact(**c))],
                   reference=Analytic(exact, points=domain.mesh_points), name="poisson_mesh")
