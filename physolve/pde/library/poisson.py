"""Poisson problems: -laplace(u) = f in 1D and 2D, on boxes, a perforated square and meshes.

poisson1d_sin, poisson1d_xsin and poisson2d_sin are the high-frequency cases of the GP-HM
paper (Fang et al., ICLR 2024), on [0, 2 pi] per axis (see `manufactured`); poisson2d_c is
PINNacle's Poisson2d-C; poisson_two_peak is the two-peak case of the adaptive-sampling
papers (DAS, AAS) and poisson_gauss_nd their high-dimensional case; poisson_mesh takes its
domain from a mesh file.
"""
from __future__ import annotations

import math

import torch

from ..conditions import Dirichlet
from ..operators import laplacian
from ..problem import Problem
from ..reference import Analytic, load_pinnacle
from .manufactured import RES_1D, RES_2D, TWO_PI, dirichlet_problem
from .registry import mesh_file, pinnacle_file, problems

PI = math.pi


@problems.register("poisson1d")
def poisson1d(k: int = 1) -> Problem:
    """-u'' = (k pi)^2 sin(k pi x) on [-1, 1], u(+-1) = 0; u = sin(k pi x)."""
    from ...geometry import Interval

    def residual(f):
        return -f.u.xx - (k * PI) ** 2 * torch.sin(k * PI * f.x)

    return Problem(Interval(-1, 1), residual, inputs="x", outputs="u",
                   conditions=[Dirichlet(0.0)],
                   reference=Analytic(lambda x: torch.sin(k * PI * x), resolution=1001),
                   name="poisson1d")


@problems.register("poisson2d_c")
def poisson2d_c() -> Problem:
    """PINNacle Poisson2d-C: Laplace's equation on [-0.5, 0.5]^2 minus four disks of radius
    0.1 at (+-0.3, +-0.3); u = 1 on the square ("outer"), u = 0 on the circles ("hole").
    Reference: PINNacle's COMSOL solution."""
    from ...geometry import Disk, Rectangle

    domain = Rectangle((-0.5, -0.5), (0.5, 0.5), name="outer")
    for cx in (-0.3, 0.3):
        for cy in (-0.3, 0.3):
            domain = domain - Disk((cx, cy), 0.1, name="hole")

    def residual(f):
        return f.u.xx + f.u.yy

    return Problem(domain, residual, inputs="x y", outputs="u",
                   conditions=[Dirichlet(1.0, on="outer"), Dirichlet(0.0, on="hole")],
                   reference=load_pinnacle(pinnacle_file("poisson1_cg_data.dat")),
                   name="poisson2d_c")


@problems.register("poisson_two_peak")
def poisson_two_peak(a: float = 1000.0, resolution: int = 301) -> Problem:
    """-laplace(u) = f on [-1, 1]^2 with u = exp(-a |x - c1|^2) + exp(-a |x - c2|^2),
    c1 = (0.5, 0.5), c2 = (-0.5, -0.5); f and the Dirichlet values from u (Tang, Wan, Yang,
    DAS-PINNs 2023; Tang et al., AAS 2024). `a` sets the sharpness: each peak has standard
    deviation 1 / sqrt(2 a) (0.022 at a = 1000), and f reaches 4 a at the centres.
    Reference: u on a `resolution`-per-axis grid (0.0067 apart at 301)."""
    from ...geometry import Rectangle

    if not a > 0:
        raise ValueError(f"poisson_two_peak: a must be > 0, got {a!r}")
    centres = ((0.5, 0.5), (-0.5, -0.5))

    def bumps(x, y):
        return [torch.exp(-a * ((x - cx) ** 2 + (y - cy) ** 2)) for cx, cy in centres]

    def exact(x, y):
        return sum(bumps(x, y))

    def source(x, y):
        # -laplace exp(-a r^2) = (4 a - 4 a^2 r^2) exp(-a r^2) in two dimensions
        return sum((4 * a - 4 * a ** 2 * ((x - cx) ** 2 + (y - cy) ** 2)) * e
                   for (cx, cy), e in zip(centres, bumps(x, y)))

    def residual(f):
        return -(f.u.xx + f.u.yy) - source(f.x, f.y)

    return Problem(Rectangle((-1, -1), (1, 1)), residual, inputs="x y", outputs="u",
                   conditions=[Dirichlet(exact)],
                   reference=Analytic(exact, resolution=resolution), name="poisson_two_peak")


@problems.register("poisson_gauss_nd")
def poisson_gauss_nd(d: int = 5, a: float = 10.0, n_test: int = 20000) -> Problem:
    """-laplace(u) = f on the cube [-1, 1]^d with u = exp(-a |x|^2), f and the Dirichlet
    values from u: the high-dimensional case of the adaptive-sampling papers (DAS, AAS use
    d = 5 and 10, a = 10). Inputs x1 ... xd.

    Reference: u at `n_test` seeded points (seed 0), half uniform in the cube and half from
    u's own shape, the normal law of standard deviation 1 / sqrt(2 a) about the centre (kept
    where inside the cube). Uniform points alone would miss the solution: at d = 10 the
    region where u > 0.1 is about 2e-6 of the cube, so the relative L2 error over them would
    measure the tails only; a grid would have 2 points per axis."""
    from ...geometry import Box

    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise ValueError(f"poisson_gauss_nd: d must be an integer >= 1, got {d!r}")
    if not a > 0:
        raise ValueError(f"poisson_gauss_nd: a must be > 0, got {a!r}")
    names = [f"x{i + 1}" for i in range(d)]

    def exact(**coords):
        return torch.exp(-a * sum(coords[n] ** 2 for n in names))

    def residual(f):
        r2 = sum(getattr(f, n) ** 2 for n in names)
        # -laplace exp(-a r^2) = (2 a d - 4 a^2 r^2) exp(-a r^2)
        return -laplacian(f.u) - (2 * a * d - 4 * a ** 2 * r2) * torch.exp(-a * r2)

    gen = torch.Generator().manual_seed(0)
    uniform = torch.rand(n_test - n_test // 2, d, generator=gen, dtype=torch.float64) * 2 - 1
    kept, need = [], n_test // 2
    while need > 0:
        draw = torch.randn(2 * need + 16, d, generator=gen, dtype=torch.float64) / math.sqrt(2 * a)
        draw = draw[(draw.abs() < 1).all(dim=1)][:need]
        kept.append(draw)
        need -= draw.shape[0]
    test = torch.cat([uniform, *kept])
    return Problem(Box([-1.0] * d, [1.0] * d), residual, inputs=" ".join(names), outputs="u",
                   conditions=[Dirichlet(exact)], reference=Analytic(exact, points=test),
                   name="poisson_gauss_nd")


@problems.register("poisson1d_sin")
def poisson1d_sin(k: float = 100.0, hard: bool = False) -> Problem:
    """u'' = -k^2 sin(k x) on [0, 2 pi], u = sin(k x) at both ends; u = sin(k x)."""
    from ...geometry import Interval

    def exact(x):
        return torch.sin(k * x)

    def residual(f):
        return f.u.xx + k ** 2 * torch.sin(k * f.x)

    return dirichlet_problem(Interval(0, TWO_PI), residual, exact, "x", RES_1D,
                             "poisson1d_sin", hard)


@problems.register("poisson1d_xsin")
def poisson1d_xsin(k: float = 200.0, hard: bool = False) -> Problem:
    """u'' = 2 k cos(k x) - k^2 x sin(k x) on [0, 2 pi] with Dirichlet ends; u = x sin(k x)."""
    from ...geometry import Interval

    def exact(x):
        return x * torch.sin(k * x)

    def residual(f):
        x = f.x
        return f.u.xx - (2 * k * torch.cos(k * x) - k ** 2 * x * torch.sin(k * x))

    return dirichlet_problem(Interval(0, TWO_PI), residual, exact, "x", RES_1D,
                             "poisson1d_xsin", hard)


@problems.register("poisson2d_sin")
def poisson2d_sin(k: float = 100.0, hard: bool = False) -> Problem:
    """u_xx + u_yy = -2 k^2 sin(k x) sin(k y) on [0, 2 pi]^2, Dirichlet values from
    u = sin(k x) sin(k y)."""
    from ...geometry import Rectangle

    def exact(x, y):
        return torch.sin(k * x) * torch.sin(k * y)

    def residual(f):
        return f.u.xx + f.u.yy + 2 * k ** 2 * exact(f.x, f.y)

    return dirichlet_problem(Rectangle((0, 0), (TWO_PI, TWO_PI)), residual, exact, "x y",
                             RES_2D, "poisson2d_sin", hard)


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
