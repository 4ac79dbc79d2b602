"""The finite-volume diffusion-sorption solver: second order under refinement, the sorption
mass balance, and the singular retardation factor handled."""
import numpy as np
import pytest

from physolve.pde.solvers.diffusion_sorption import (SorptionConstants,
                                                     diffusion_sorption_on_nodes,
                                                     solve_diffusion_sorption)

TIMES = np.linspace(0, 500, 11)


def restrict(v, factor):
    return v.reshape(-1, factor).mean(1)


def test_second_order_under_refinement():
    """h and dt halved together: successive differences shrink by 4 (order 2)."""
    u0 = lambda x: np.exp(-x / 0.1)  # noqa: E731  (compatible with u(0) = 1)
    finals = {n: solve_diffusion_sorption(u0, TIMES, n, s)[0][-1]
              for n, s in [(32, 2), (64, 4), (128, 8)]}
    e1 = np.abs(restrict(finals[64], 2) - finals[32]).max()
    e2 = np.abs(restrict(finals[128], 4) - restrict(finals[64], 2)).max()
    order = np.log2(e1 / e2)
    assert 1.8 < order < 2.3, order
    assert e2 < 2e-4


def test_discrete_conservation():
    """The scheme conserves m(u) exactly in its own time discretisation: implicit Euler, then
    BDF2, (3 M^{n+1} - 4 M^n + M^{n-1}) / 2 = dt (flux in - flux out)^{n+1}, M = sum m(u) h."""
    c = SorptionConstants()
    n, times = 64, np.linspace(0, 100, 21)
    u, right = solve_diffusion_sorption(lambda x: 0.1 + 0 * x, times, n, 1)
    h, dt = 1 / n, times[1]
    M = c.mass(u).sum(1) * h
    net = c.D * (1 - u[:, 0]) / (h / 2) + right        # D u_x(1) = u(1) by the condition
    assert M[1] - M[0] == pytest.approx(dt * net[1], rel=1e-9)
    bdf2 = (3 * M[2:] - 4 * M[1:-1] + M[:-2]) / 2
    np.testing.assert_allclose(bdf2, dt * net[2:], rtol=1e-8, atol=1e-12)
    assert M[-1] > M[0] + 0.1                          # solute entered from the left


def test_zero_initial_data_and_singular_retardation():
    """u0 = 0 makes R infinite at t = 0; the floored Jacobian still converges, u stays in
    [0, 1] and the front advances monotonically."""
    c = SorptionConstants()
    assert np.isfinite(c.retardation(np.array([0.0]))).all()
    assert c.retardation(np.array([1.0]))[0] == pytest.approx(1 + c.beta * c.n_f)
    u = diffusion_sorption_on_nodes(lambda x: 0 * x, 33, np.linspace(0, 500, 11))
    assert u.shape == (33, 11)
    assert u[:-1].min() > -1e-12 and u.max() <= 1 + 1e-12
    # the right end: u_b = D u_x with h > 2D makes u_b = -2D/(h - 2D) u_N, a tiny negative value
    assert abs(u[-1]).max() < 1e-3
    assert np.all(np.diff(u[4], axis=0) >= -1e-12)      # u(x, t) rises with t near the inlet
    assert u[4, -1] > 0.5 and u[-2, -1] < 1e-2


def test_bad_input_named():
    with pytest.raises(ValueError, match="times must be increasing"):
        solve_diffusion_sorption(lambda x: x, [1.0, 2.0], 16)
    with pytest.raises(ValueError, match="n_cells"):
        solve_diffusion_sorption(lambda x: x, TIMES, 1)
