"""Hard Dirichlet data given part by part: the lift's Laplacian near corners, and hard against
soft conditions in a short PINN run.

Three domains, each with u = exp(x) sin(y) + x y (harmonic) and its data given separately on
every face or edge, written as a function of that face's own coordinate (as a user writes
per-face data, so the extensions off the faces differ): the unit square as a Rectangle (faces
xmin ... ymax), an L-shape polygon (re-entrant corner) and a convex pentagon.

    python benchmarks/hard_lift.py --laplacian            # max |lap lift| at r from the corners
    python benchmarks/hard_lift.py --steps 500            # rel. L2 hard vs soft, ms per step

One thread; a few seconds for --laplacian, about a minute per domain for --steps 500.
"""
from __future__ import annotations

import argparse
import math
import time

import torch

import physolve as ps
from physolve.geometry import Polygon, Rectangle

SQUARE = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
# The square's faces in the order of its edges above.
SQUARE_FACES = ["ymin", "xmax", "ymax", "xmin"]
L_SHAPE = [(0.0, 0.0), (1.0, 0.0), (1.0, 0.5), (0.5, 0.5), (0.5, 1.0), (0.0, 1.0)]
PENTAGON = [(0.0, 0.0), (1.0, 0.1), (1.2, 0.8), (0.5, 1.1), (-0.1, 0.6)]
DOMAINS = {"rectangle": SQUARE, "L-shape": L_SHAPE, "pentagon": PENTAGON}


def exact(x, y):
    return torch.exp(x) * torch.sin(y) + x * y


def edge_data(a, b):
    """The exact solution on edge a -> b as a function of the edge parameter only."""
    a, b = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    e = b - a

    def g(x, y):
        s = ((x - a[0]) * e[0] + (y - a[1]) * e[1]) / (e @ e)
        return exact(a[0] + s * e[0], a[1] + s * e[1])
    return g


def problem(vertices, hard: bool) -> ps.Problem:
    m = len(vertices)
    rectangle = vertices is SQUARE
    faces = SQUARE_FACES if rectangle else [f"edge{i}" for i in range(m)]
    conds = [ps.Dirichlet(edge_data(vertices[i], vertices[(i + 1) % m]), on=faces[i], hard=hard)
             for i in range(m)]
    domain = Rectangle((0, 0), (1, 1)) if rectangle else Polygon(vertices)
    return ps.Problem(domain, lambda f: f.u.xx + f.u.yy, inputs="x y",
                      conditions=conds, reference=ps.pde.reference.Analytic(exact))


def max_laplacian(hard, X: torch.Tensor) -> float:
    X = X.clone().requires_grad_(True)
    u = hard(X, torch.zeros(X.shape[0], 1, dtype=X.dtype))[:, 0]
    g = torch.autograd.grad(u.sum(), X, create_graph=True)[0]
    lap = sum(torch.autograd.grad(g[:, k].sum(), X, retain_graph=True)[0][:, k] for k in range(2))
    return float(lap.abs().max())


def max_laplacian_near_corners(vertices, r: float) -> float:
    prob = problem(vertices, hard=True)
    hard = ps.pde.HardConstraints(prob)
    ang = torch.arange(720, dtype=torch.float64) * (math.pi / 360)
    worst = 0.0
    for c in torch.tensor(vertices, dtype=torch.float64):
        X = c + r * torch.stack([ang.cos(), ang.sin()], 1)
        worst = max(worst, max_laplacian(hard, X[prob.domain.sdf(X) < -1e-3 * r]))
    return worst


def max_laplacian_inside(vertices) -> float:
    prob = problem(vertices, hard=True)
    return max_laplacian(ps.pde.HardConstraints(prob), prob.domain.sample_interior(20000, seed=0))


def train(vertices, hard: bool, steps: int) -> tuple[float, float]:
    model = ps.models.PINN(width=20, depth=3, n_interior=1000, n_boundary=100)
    t = time.process_time()
    sol = ps.solve(problem(vertices, hard), model=model, optim=[f"adam:{steps}:lr=1e-2"],
                   dtype="float64", seed=0, progress=False)
    return sol.metrics()["rel_l2"], (time.process_time() - t) / steps * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laplacian", action="store_true", help="only the lift's Laplacian")
    parser.add_argument("--steps", type=int, default=500, help="Adam steps per run")
    parser.add_argument("--domains", default=",".join(DOMAINS), help="comma-separated names")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.domains.split(","):
        v = DOMAINS[name]
        if args.laplacian:
            laps = {r: max_laplacian_near_corners(v, r) for r in (1e-2, 1e-3, 1e-4)}
            figures = ", ".join(f"{laps[r]:.3g} at r = {r:g}" for r in laps)
            print(f"{name}: max |lap lift| {figures}; "
                  f"{max_laplacian_inside(v):.3g} at 20000 interior points")
            continue
        (eh, th), (es, ts) = train(v, True, args.steps), train(v, False, args.steps)
        print(f"{name}: {args.steps} Adam steps, rel. L2 hard {eh:.2e} ({th:.0f} ms/step), "
              f"soft {es:.2e} ({ts:.0f} ms/step)", flush=True)


if __name__ == "__main__":
    main()
