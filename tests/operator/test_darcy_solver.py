"""The Darcy reference solver: second-order convergence, symmetry, layered media."""
import numpy as np
import pytest
import scipy.sparse.linalg as spla

from physolve.pde.solvers import darcy_matrix, solve_darcy

PI = np.pi


def manufactured(n):
    """a = 2 + sin(2x + y), u = e^x sin(pi x) sin(2 pi y); f = -div(a grad u) in closed form."""
    x = np.arange(1, n + 1) / (n + 1)
    X, Y = np.meshgrid(x, x, indexing="ij")
    a = 2 + np.sin(2 * X + Y)
    a_x, a_y = 2 * np.cos(2 * X + Y), np.cos(2 * X + Y)
    s, c = np.sin(PI * X), np.cos(PI * X)
    sy, cy = np.sin(2 * PI * Y), np.cos(2 * PI * Y)
    u = np.exp(X) * s * sy
    u_x = np.exp(X) * (PI * c + s) * sy
    u_xx = np.exp(X) * (-PI ** 2 * s + 2 * PI * c + s) * sy
    u_y = np.exp(X) * s * 2 * PI * cy
    u_yy = -4 * PI ** 2 * u
    f = -(a_x * u_x + a * u_xx + a_y * u_y + a * u_yy)
    return a, f, u


def test_second_order_convergence_on_manufactured_solution():
    errors = []
    for n in (15, 31, 63):
        a, f, u = manufactured(n)
        errors.append(np.abs(solve_darcy(a, f) - u).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert errors[-1] < 2e-3
    assert np.all(orders > 1.9), orders


def test_matrix_is_symmetric_positive_definite():
    rng = np.random.default_rng(0)
    A = darcy_matrix(np.where(rng.standard_normal((9, 9)) > 0, 12.0, 3.0)).toarray()
    assert np.allclose(A, A.T)
    assert np.linalg.eigvalsh(A).min() > 0


def test_layered_medium_flux_uses_harmonic_mean():
    # a depends on x only with a jump between two nodes: the discrete 1D flux a_{i+1/2} du/dx
    # must be constant in x (f = 0 apart from a source layer), which only the harmonic mean
    # between the two coefficients makes exact. Compare with a 1D solve of the same scheme.
    n = 16
    a1d = np.where(np.arange(n) < n // 2, 12.0, 3.0)
    a = np.repeat(a1d[:, None], n, axis=1)
    u = solve_darcy(a, 1.0)
    assert u.shape == (n, n)
    # symmetric in y because a and f are
    assert np.allclose(u, u[:, ::-1])
    # faces: harmonic mean 2*12*3/15 = 4.8 at the jump
    A = darcy_matrix(a)
    i, j = n // 2 - 1, 3
    assert A[i * n + j, (i + 1) * n + j] == pytest.approx(-4.8)
    # the solve is the matrix's solution
    h = 1 / (n + 1)
    assert np.allclose(spla.spsolve(A, np.full(n * n, h * h)).reshape(n, n), u)


@pytest.mark.parametrize("bad", [np.ones((3, 4)), -np.ones((4, 4)), np.full((4, 4), np.nan)])
def test_bad_coefficients_fail_early(bad):
    with pytest.raises(ValueError, match="a must be"):
        solve_darcy(bad)
