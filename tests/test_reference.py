"""Reference solutions: the Cole-Hopf Burgers solution and the PINNacle reader."""
import math

import numpy as np
import pytest

from physolve.pde.library import pinnacle_file, problems
from physolve.pde.reference import burgers_cole_hopf, load_pinnacle, read_comsol_table

NU = 0.01 / math.pi


def test_cole_hopf_initial_state_and_boundary():
    x = np.linspace(-1, 1, 101)
    np.testing.assert_allclose(burgers_cole_hopf(x, np.full_like(x, 1e-14), NU),
                               -np.sin(np.pi * x), atol=1e-10)
    t = np.linspace(0, 1, 11)
    assert np.abs(burgers_cole_hopf(np.ones_like(t), t, NU)).max() < 1e-12
    assert np.abs(burgers_cole_hopf(-np.ones_like(t), t, NU)).max() < 1e-12


def test_cole_hopf_satisfies_burgers_equation():
    # Central differences of the quadrature solution, away from the shock at x = 0.
    x = np.linspace(-0.9, -0.2, 8)
    t = np.full_like(x, 0.5)
    h = 1e-3
    u = lambda dx, dt: burgers_cole_hopf(x + dx, t + dt, NU)  # noqa: E731
    u0 = u(0, 0)
    ut = (u(0, h) - u(0, -h)) / (2 * h)
    ux = (u(h, 0) - u(-h, 0)) / (2 * h)
    uxx = (u(h, 0) - 2 * u0 + u(-h, 0)) / h ** 2
    residual = ut + u0 * ux - NU * uxx
    assert np.abs(residual).max() < 1e-4 * np.abs(ut).max() + 1e-5


def test_cole_hopf_quadrature_is_converged():
    x = np.linspace(-1, 1, 41)
    X, T = np.meshgrid(x, [0.25, 1.0])
    coarse = burgers_cole_hopf(X.ravel(), T.ravel(), NU)
    fine = burgers_cole_hopf(X.ravel(), T.ravel(), NU, dz=0.004, z_max=18)
    assert np.abs(coarse - fine).max() < 1e-12


def test_pinnacle_burgers_file_differs_from_exact_by_the_documented_amount():
    ref = load_pinnacle(pinnacle_file("burgers1d.dat"))
    problem = problems.get("burgers")()
    ref.bind(problem)
    pts, vals = ref.points().numpy(), ref.values().numpy()[:, 0]
    assert pts.shape == (101 * 11, 2)
    exact = burgers_cole_hopf(pts[:, 0], pts[:, 1], NU)
    rel = np.linalg.norm(vals - exact) / np.linalg.norm(exact)
    assert abs(rel - 1.33e-2) < 0.05e-2


def test_pinnacle_spatial_file():
    names, data = read_comsol_table(pinnacle_file("poisson1_cg_data.dat"))
    assert names == ["X", "Y", "u (1)"] and data.shape == (1246, 3)
    problem = problems.get("poisson2d_c")()
    assert problem.reference.points().shape == (1246, 2)
    assert problem.reference.values().min() >= -1e-9 and problem.reference.values().max() <= 1


def test_missing_reference_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_comsol_table(tmp_path / "nothing.dat")
