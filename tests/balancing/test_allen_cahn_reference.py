"""The Allen-Cahn reference (pde/solvers/allen_cahn.py): ETDRK4 is of order 4 in time, the
spatial error falls with the number of modes, and the library's reference agrees with a finer
solve."""
import numpy as np
import pytest

import physolve as ps
from physolve.pde.solvers.allen_cahn import solve_allen_cahn


def _u0(n):
    x = -1 + 2 * np.arange(n) / n
    return x ** 2 * np.cos(np.pi * x)


def test_etdrk4_is_fourth_order_in_time():
    ref = solve_allen_cahn(_u0(128), -1, 1, [0.2], dt=1e-3)
    errors = [float(np.abs(solve_allen_cahn(_u0(128), -1, 1, [0.2], dt=dt) - ref).max())
              for dt in (4e-2, 2e-2, 1e-2)]
    orders = [np.log2(a / b) for a, b in zip(errors[:-1], errors[1:])]
    assert all(3.7 < p < 4.5 for p in orders), orders


def test_linear_modes_decay_or_grow_exactly():
    # small amplitude: u_t ~ (gamma - d k^2) u, so a mode grows by exp((gamma - d k^2) t)
    n, eps, t = 64, 1e-7, 0.3
    x = -1 + 2 * np.arange(n) / n
    u = solve_allen_cahn(eps * np.cos(3 * np.pi * x), -1, 1, [t], d=0.01, gamma=1.0)[0]
    growth = np.exp((1.0 - 0.01 * (3 * np.pi) ** 2) * t)
    assert np.allclose(u, eps * growth * np.cos(3 * np.pi * x), rtol=0, atol=1e-18)


def test_library_reference_agrees_with_a_finer_solve():
    problem = ps.problems.get("allen_cahn")()
    values = problem.reference.values().numpy().reshape(512, 201)
    t = np.linspace(0, 1, 201)
    fine = solve_allen_cahn(_u0(4096), -1, 1, t, dt=5e-4)[:, ::8].T
    rel = np.linalg.norm(values - fine) / np.linalg.norm(fine)
    assert rel < 1e-4, rel
    assert values[:, -1].min() == pytest.approx(-1.0, abs=1e-3)  # the stable phases +-1
