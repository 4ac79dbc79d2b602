"""Diffusion-sorption R(u) u_t = D u_xx on x in [0, 1] (the PDEBench case), finite volumes.

    R(u) = 1 + (1 - phi) / phi * rho_s * k_f * n_f * u^(n_f - 1)    (Freundlich isotherm)
    u(0, t) = 1,    u(1, t) = D u_x(1, t),    u(x, 0) = u0(x)

with PDEBench's constants D = 5e-4, phi = 0.29, rho_s = 2880, k_f = 3.5e-4, n_f = 0.874.

R(u) is the derivative of the total concentration m(u) = u + beta u^n_f (beta = (1 - phi) / phi
rho_s k_f), so the equation is the conservation law m(u)_t = D u_xx. The scheme is written in
that form: cell averages of m are advanced by BDF2 in time (the first step implicit Euler),
fluxes D (u_{i+1} - u_i) / h between cell centres, the Dirichlet value on the left face (half a
cell from the first centre) and on the right the face value u_b with u_b = D (u_b - u_N) / (h/2).
Each step is a tridiagonal nonlinear system solved by Newton's method.

The singularity at u = 0: m(u) itself is continuous (m(0) = 0) and enters the residual of every
step unchanged, so the discrete solution is the conservative one. Only its derivative
m'(u) = R(u) ~ u^(-0.126) blows up; Newton's Jacobian evaluates R at max(u, u_floor)
(u_floor = 1e-20 by default, where R is about 715): finite for u = 0 (zero initial data), and
small enough that the Jacobian stays exact wherever the residual of a step is above rounding.
(A larger floor, e.g. 1e-6, under-estimates the slope at the foot of the front and makes Newton
oscillate there at |F| ~ 1e-8.) The floor changes how Newton approaches the solution, not
the solution. Values are kept >= 0 by evaluating m at max(u, 0) (the exact
solution is non-negative for non-negative data; rounding may make a node slightly negative).

Accuracy: second order in h and dt for smooth data compatible with the boundary values (tested
by self-convergence under simultaneous refinement of h and dt, tests/operator/
test_diffusion_sorption_solver.py). Data with u0(0) != 1 start with a boundary layer at x = 0
that lowers the observed order near t = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_banded


@dataclass(frozen=True)
class SorptionConstants:
    """PDEBench's diffusion-sorption constants."""

    D: float = 5e-4
    porosity: float = 0.29
    rho_s: float = 2880.0
    k_f: float = 3.5e-4
    n_f: float = 0.874

    @property
    def beta(self) -> float:
        """m(u) = u + beta u^n_f."""
        return (1 - self.porosity) / self.porosity * self.rho_s * self.k_f

    def retardation(self, u, u_floor: float = 1e-20):
        """R(u) = 1 + beta n_f u^(n_f - 1), with u floored at u_floor (the singularity at 0)."""
        return 1 + self.beta * self.n_f * np.maximum(u, u_floor) ** (self.n_f - 1)

    def mass(self, u):
        """Total concentration m(u) = u + beta max(u, 0)^n_f."""
        return u + self.beta * np.maximum(u, 0.0) ** self.n_f


def _operator(u, h, c: SorptionConstants, left: float):
    """D u_xx by finite volumes (cell centres), its tridiagonal Jacobian (3, n), and the right
    face value u_b."""
    n = len(u)
    lam = 2 * c.D / h
    if abs(lam - 1) < 1e-6:
        raise ValueError(f"diffusion-sorption: h = 2 D ({h:g}) makes the right boundary "
                         "condition u_b = D (u_b - u_N) / (h/2) singular; choose another n_cells")
    # u_b = D (u_b - u_N) / (h/2)  =>  u_b = lam u_N / (lam - 1)
    kappa = lam / (lam - 1)
    flux = np.empty(n + 1)
    flux[0] = c.D * (u[0] - left) / (h / 2)
    flux[1:n] = c.D * (u[1:] - u[:-1]) / h
    flux[n] = c.D * (kappa * u[-1] - u[-1]) / (h / 2)
    L = (flux[1:] - flux[:-1]) / h
    # dL_i/du_{i-1}, dL_i/du_i, dL_i/du_{i+1}
    lower = np.full(n, c.D / h ** 2)
    upper = np.full(n, c.D / h ** 2)
    diag = np.full(n, -2 * c.D / h ** 2)
    diag[0] = -c.D / h ** 2 - 2 * c.D / h ** 2
    diag[-1] = -c.D / h ** 2 + 2 * c.D * (kappa - 1) / h ** 2
    return L, lower, diag, upper, kappa * u[-1]


def solve_diffusion_sorption(u0, times, n_cells: int = 256, steps_per_output: int = 5,
                             constants: SorptionConstants = SorptionConstants(),
                             left: float = 1.0, u_floor: float = 1e-20, newton_tol: float = 1e-11,
                             newton_max: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre values (len(times), n_cells) and right face values (len(times),).

    u0: a callable of cell centres x, or an array of n_cells cell values. times: increasing
    output times starting at 0; each interval is split into steps_per_output BDF2 steps.
    """
    if not isinstance(n_cells, int) or n_cells < 3:
        raise ValueError(f"n_cells must be an integer >= 3, got {n_cells!r}")
    if not isinstance(steps_per_output, int) or steps_per_output < 1:
        raise ValueError(f"steps_per_output must be an integer >= 1, got {steps_per_output!r}")
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or times[0] != 0 or np.any(np.diff(times) <= 0):
        raise ValueError("times must be increasing and start at 0")
    c = constants
    h = 1.0 / n_cells
    x = (np.arange(n_cells) + 0.5) * h
    u = np.asarray(u0(x) if callable(u0) else u0, dtype=np.float64).copy()
    if u.shape != (n_cells,):
        raise ValueError(f"u0 must give {n_cells} cell values, got shape {u.shape}")
    out = np.empty((len(times), n_cells))
    right = np.empty(len(times))
    out[0] = u
    right[0] = _operator(u, h, c, left)[4]
    m_prev = None                       # m at the previous step (BDF2)
    m_now = c.mass(u)
    first = True
    for k in range(1, len(times)):
        dt = (times[k] - times[k - 1]) / steps_per_output
        for _ in range(steps_per_output):
            # BDF2 with a constant step: (3 m^{n+1} - 4 m^n + m^{n-1}) / (2 dt) = L(u^{n+1});
            # the first step is implicit Euler: (m^{n+1} - m^n) / dt = L(u^{n+1})
            a, rhs_m = (1.0, m_now) if first or m_prev is None else \
                (1.5, 2 * m_now - 0.5 * m_prev)
            v = u.copy()
            for _it in range(newton_max):
                L, lo, di, up, _ = _operator(v, h, c, left)
                F = a * c.mass(v) - rhs_m - dt * L
                # converged on the residual: where u is tiny (ahead of the front) the floored
                # Jacobian makes steps in u oscillate while F is already at rounding level
                if _it and np.max(np.abs(F)) <= newton_tol * (1 + np.max(np.abs(rhs_m))):
                    break
                band = np.zeros((3, n_cells))
                band[0, 1:] = -dt * up[:-1]
                band[1] = a * c.retardation(v, u_floor) - dt * di
                band[2, :-1] = -dt * lo[1:]
                dv = solve_banded((1, 1), band, -F)
                v = v + dv
            else:
                raise RuntimeError(f"diffusion-sorption: Newton did not converge in {newton_max} "
                                   f"iterations at t = {times[k - 1]:.4g} + ...; reduce the "
                                   "time step (steps_per_output)")
            m_prev, m_now, u = m_now, c.mass(v), v
            first = False
        out[k] = u
        right[k] = _operator(u, h, c, left)[4]
    return out, right


def diffusion_sorption_on_nodes(u0, nx: int, times, refine: int = 1, steps_per_output: int = 5,
                                **options) -> np.ndarray:
    """The solution (nx, len(times)) at the nodes x_i = i / (nx - 1), both ends included.

    The finite-volume mesh has 2 * refine cells per node interval, so every interior node is a
    cell face (its value: the mean of the two neighbouring cells, second order); the end nodes
    carry the boundary values (1 on the left, the face value u_b on the right).
    u0: a callable of x (evaluated at the cell centres).
    """
    if not isinstance(nx, int) or nx < 3:
        raise ValueError(f"nx must be an integer >= 3, got {nx!r}")
    per = 2 * refine
    n_cells = (nx - 1) * per
    cells, right = solve_diffusion_sorption(u0, times, n_cells, steps_per_output, **options)
    faces = 0.5 * (cells[:, per - 1:-1:per] + cells[:, per::per])     # interior nodes
    left = np.full((len(times), 1), options.get("left", 1.0))
    return np.concatenate([left, faces, right[:, None]], 1).T
