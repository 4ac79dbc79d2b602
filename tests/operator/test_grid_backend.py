"""Finite-difference derivatives on grids: second-order convergence for each boundary kind."""
import math

import pytest
import torch

import physolve as ps
from physolve.geometry import Grid
from physolve.pde.fields import Fields
from physolve.pde.grid_backend import GridBackend

T = torch.float64


def exact(x, y):
    """u = sin(2x + 1) exp(y) cos(3y) and its derivatives by name."""
    s, c = torch.sin(2 * x + 1), torch.cos(2 * x + 1)
    e, cy, sy = torch.exp(y), torch.cos(3 * y), torch.sin(3 * y)
    g = cy - 3 * sy            # d/dy (e cos 3y) / e
    gg = -6 * sy - 8 * cy      # d2/dy2 (e cos 3y) / e
    return {(): s * e * cy, ("x",): 2 * c * e * cy, ("y",): s * e * g,
            ("x", "x"): -4 * s * e * cy, ("y", "y"): s * e * gg, ("x", "y"): 2 * c * e * g}


def periodic_exact(x, y):
    tp = 2 * math.pi
    s, c = torch.sin(tp * x), torch.cos(tp * x)
    s2, c2 = torch.sin(2 * tp * y), torch.cos(2 * tp * y)
    return {(): s * c2, ("x",): tp * c * c2, ("y",): -2 * tp * s * s2,
            ("x", "x"): -tp ** 2 * s * c2, ("y", "y"): -4 * tp ** 2 * s * c2,
            ("x", "y"): -2 * tp ** 2 * c * s2}


def grid_for(kind, n):
    if kind == "dirichlet":        # interior nodes; the ring carries the boundary value
        h = 1 / (n + 1)
        return Grid((h, h), (1 - h, 1 - h), n)
    if kind == "periodic":         # one period without the repeated end point
        return Grid((0, 0), (1 - 1 / n, 1 - 1 / n), n)
    return Grid((0, 0), (1, 1), n)


def errors(kind, n, fn):
    grid = grid_for(kind, n)
    X, Y = (c.reshape(grid.shape) for c in grid.points.T)
    ref = fn(X, Y)
    boundary_values = {"u": lambda x, y: fn(x, y)[()]} if kind == "dirichlet" else None
    backend = GridBackend({"u": ref[()]}, grid, "x y", kind, boundary_values)
    return {k: float((backend.derivative("u", k) - v).abs().max()) for k, v in ref.items() if k}


@pytest.mark.parametrize("kind, sizes, fn", [
    ("dirichlet", (15, 31, 63), exact),
    ("one_sided", (17, 33, 65), exact),
    ("periodic", (16, 32, 64), periodic_exact),
])
def test_derivatives_converge_at_second_order(kind, sizes, fn):
    errs = [errors(kind, n, fn) for n in sizes]
    for key in errs[0]:
        orders = [math.log2(a[key] / b[key]) for a, b in zip(errs, errs[1:])]
        assert min(orders) > 1.85, (kind, key, orders, [e[key] for e in errs])


def test_divergence_form_residual_converges():
    # -div(a grad u) = f with a = 2 + x y: written once with d() of expressions
    def residual(n):
        grid = grid_for("dirichlet", n)
        X, Y = (c.reshape(grid.shape) for c in grid.points.T)
        ref = exact(X, Y)
        a = 2 + X * Y
        f = -(Y * ref[("x",)] + a * ref[("x", "x")] + X * ref[("y",)] + a * ref[("y", "y")])
        backend = GridBackend({"u": ref[()]}, grid, "x y", "dirichlet",
                              {"u": lambda x, y: exact(x, y)[()]})
        with backend.active():
            f_ = Fields(backend)
            r = -ps.div([a * f_.u.x, a * f_.u.y]) - f
        return float(r.abs().max())

    e = [residual(n) for n in (15, 31, 63)]
    assert math.log2(e[1] / e[2]) > 1.85, e


def test_batches_and_coordinates():
    # second-order stencils, one-sided ones included, are exact for quadratics
    grid = grid_for("one_sided", 9)
    X, Y = (c.reshape(grid.shape) for c in grid.points.T)
    u = torch.stack([X ** 2, Y ** 2, X * Y])             # three fields on one grid
    f = Fields(GridBackend({"u": u}, grid, "x y"))
    assert f.u.xx.shape == (3, 9, 9)
    assert f.x.shape == (3, 9, 9) and torch.equal(f.x[1], X)
    assert torch.allclose(f.u.xx.value[0], torch.full((9, 9), 2.0, dtype=T))
    assert torch.allclose(f.u.yy.value[1], torch.full((9, 9), 2.0, dtype=T))
    assert torch.allclose(f.u.xy.value[2], torch.ones(9, 9, dtype=T))
    assert torch.allclose(f.u.x.value[2], Y)
    assert torch.allclose(f.u.xx.value[2], torch.zeros(9, 9, dtype=T))


def test_zero_ghost_ring_is_homogeneous_dirichlet():
    # The discrete Dirichlet Laplacian has eigenvectors sin(k pi x_i) sin(l pi y_j) on the
    # interior nodes: with zero ghost values u_xx + u_yy = lambda u exactly.
    n, k, l = 12, 2, 3
    grid = grid_for("dirichlet", n)
    h = 1 / (n + 1)
    X, Y = (c.reshape(grid.shape) for c in grid.points.T)
    u = torch.sin(k * math.pi * X) * torch.sin(l * math.pi * Y)
    lam = -(4 / h ** 2) * (math.sin(k * math.pi * h / 2) ** 2 + math.sin(l * math.pi * h / 2) ** 2)
    backend = GridBackend({"u": u}, grid, "x y", "dirichlet")
    assert torch.allclose(ps.laplacian(Fields(backend).u), lam * u, atol=1e-10)


def test_third_derivative_and_gradients_flow():
    grid = grid_for("periodic", 32)
    X, Y = (c.reshape(grid.shape) for c in grid.points.T)
    u = torch.sin(2 * math.pi * X).requires_grad_(True)
    backend = GridBackend({"u": u}, grid, "x y", "periodic")
    uxxx = backend.derivative("u", ("x", "x", "x"))
    ref = -(2 * math.pi) ** 3 * torch.cos(2 * math.pi * X)
    assert float((uxxx.detach() - ref).abs().max()) < 0.05 * (2 * math.pi) ** 3
    uxxx.sum().backward()
    assert u.grad is not None and torch.isfinite(u.grad).all()


@pytest.mark.parametrize("kw, match", [
    ({"boundary": "neumann"}, "boundary must map"),
    ({"boundary": {"z": "periodic"}}, "boundary must map"),
    ({"inputs": "x"}, "inputs"),
])
def test_bad_input_fails_early(kw, match):
    grid = grid_for("one_sided", 5)
    args = {"values": {"u": torch.zeros(5, 5)}, "grid": grid, "inputs": "x y", **kw}
    with pytest.raises(ValueError, match=match):
        GridBackend(**args)
