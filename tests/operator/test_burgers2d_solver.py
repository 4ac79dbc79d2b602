"""The 2D Burgers reference solver: temporal order 4, spectral spatial accuracy, exact decay of a
linear mode when the nonlinearity vanishes, input checks."""
import numpy as np
import pytest

from physolve.pde.solvers import random_burgers_fields, solve_burgers2d


def _u0(n):
    x = np.arange(n) / n
    X, Y = np.meshgrid(x, x, indexing="ij")
    return 0.5 * np.sin(2 * np.pi * X) * np.cos(2 * np.pi * Y) + 0.3 * np.sin(2 * np.pi * Y)


def test_time_order_is_four():
    u0 = _u0(32)
    ref = solve_burgers2d(u0, 0.2, 400, nu=0.02)
    errs = [np.abs(solve_burgers2d(u0, 0.2, s, nu=0.02) - ref).max() for s in (25, 50)]
    order = np.log2(errs[0] / errs[1])
    assert 3.5 < order < 4.6, (errs, order)


def test_spatial_error_is_spectral():
    # against a 96-point solution at the shared nodes: halving h from 1/24 to 1/48 lowers the
    # error by > 1000 (an order-4 scheme would give 16), and n = 48 is at 1e-6
    fine = solve_burgers2d(_u0(96), 0.2, 200, nu=0.02)
    err = {n: np.abs(solve_burgers2d(_u0(n), 0.2, 200, nu=0.02) - fine[::96 // n, ::96 // n]).max()
           for n in (24, 48)}
    assert err[48] < 1e-6 and err[24] / err[48] > 1000, err


def test_heat_limit_exact():
    # a mode sin(2 pi (x - y)) has u_x + u_y = 0, so the nonlinearity vanishes: pure heat decay
    n = 16
    x = np.arange(n) / n
    X, Y = np.meshgrid(x, x, indexing="ij")
    u0 = np.sin(2 * np.pi * (X - Y))
    u = solve_burgers2d(u0, 0.5, 200, nu=0.01)
    exact = np.exp(-0.01 * 8 * np.pi ** 2 * 0.5) * u0
    assert np.abs(u - exact).max() < 1e-9


def test_random_fields_seeded_and_bad_input():
    a = random_burgers_fields(2, n=16, steps=40, seed=3)
    b = random_burgers_fields(2, n=16, steps=40, seed=3)
    assert a.shape == (2, 16, 16) and np.array_equal(a, b) and np.all(np.isfinite(a))
    with pytest.raises(ValueError, match="steps"):
        solve_burgers2d(np.zeros((8, 8)), 0.1, 0)
    with pytest.raises(ValueError, match="u0"):
        solve_burgers2d(np.zeros((8, 4)), 0.1, 1)
