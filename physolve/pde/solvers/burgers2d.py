"""Viscous 2D Burgers u_t + u (u_x + u_y) = nu (u_xx + u_yy) on the periodic unit square.

Pseudo-spectral in space: u is held by its values on the n x n grid x_i = i / n (i = 0..n-1, x
along axis 0); derivatives are taken exactly in Fourier space, the quadratic term
u (u_x + u_y) = (u^2 / 2)_x + (u^2 / 2)_y is formed in physical space and de-aliased by the 2/3
rule (modes with |k| > n / 3 along either axis are zeroed, in the initial condition and in
every stage, so the solution lives on the retained modes). In time the classical four-stage
Runge-Kutta scheme (order 4) advances the Fourier coefficients; the step is fixed, `steps` per
call. For smooth solutions the spatial error decays spectrally and the temporal error as dt^4
(tests/operator/test_burgers2d_solver.py). `random_burgers_fields` draws smooth random initial conditions
(a few low Fourier modes, seeded) and returns the solved fields on the grid, the data for the
mesh mover (reference grid 96 x 96).
"""
from __future__ import annotations

import numpy as np


def _wavenumbers(n: int):
    k = np.fft.fftfreq(n, d=1.0 / n) * 2.0 * np.pi       # angular wavenumbers on [0, 1)
    kx, ky = np.meshgrid(k, k, indexing="ij")
    keep = np.abs(np.fft.fftfreq(n, d=1.0 / n)) <= n / 3.0
    mask = keep[:, None] & keep[None, :]
    return kx, ky, mask


def solve_burgers2d(u0: np.ndarray, t_end: float, steps: int, nu: float = 0.01) -> np.ndarray:
    """u at time t_end on the grid of u0 ((n, n) periodic nodal values, x along axis 0)."""
    u0 = np.asarray(u0, dtype=np.float64)
    if u0.ndim != 2 or u0.shape[0] != u0.shape[1] or u0.shape[0] < 4:
        raise ValueError(f"u0 must be a square (n, n) array with n >= 4, got shape {u0.shape}")
    if not (isinstance(steps, (int, np.integer)) and steps >= 1):
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if t_end < 0 or nu < 0:
        raise ValueError(f"t_end and nu must be >= 0, got t_end={t_end}, nu={nu}")
    n = u0.shape[0]
    kx, ky, mask = _wavenumbers(n)
    lap = -(kx ** 2 + ky ** 2)

    def rhs(uh):
        u = np.fft.ifft2(uh).real
        q = np.fft.fft2(0.5 * u * u)
        return (-1j * (kx + ky) * q + nu * lap * uh) * mask

    dt = t_end / steps
    uh = np.fft.fft2(u0) * mask
    for _ in range(steps):
        k1 = rhs(uh)
        k2 = rhs(uh + 0.5 * dt * k1)
        k3 = rhs(uh + 0.5 * dt * k2)
        k4 = rhs(uh + dt * k3)
        uh = uh + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return np.fft.ifft2(uh).real


def random_initial_condition(rng: np.random.Generator, n: int, modes: int) -> np.ndarray:
    """A smooth random (n, n) field of max |u| = 1 from the Fourier modes (p, q), 1 <= p <=
    modes, 0 <= q <= modes, amplitudes normal / (p + q): one draw of `rng`."""
    x = np.arange(n) / n
    X, Y = np.meshgrid(x, x, indexing="ij")
    u0 = np.zeros((n, n))
    for p in range(1, modes + 1):
        for q in range(0, modes + 1):
            a, b = rng.normal(size=2) / (p + q)
            u0 += a * np.sin(2 * np.pi * (p * X + q * Y)) + b * np.cos(2 * np.pi * (q * X - p * Y))
    return u0 / np.abs(u0).max()


def random_burgers_trajectories(count: int, n: int = 96, t_end: float = 0.3, nu: float = 0.005,
                                modes: int = 3, steps: int = 300, frames: int = 1,
                                seed: int = 0) -> np.ndarray:
    """(count, frames + 1, n, n) Burgers states at t = k t_end / frames, k = 0 .. frames, from
    seeded random low-mode initial conditions (`steps` RK4 steps in all, so `frames` must divide
    `steps`). Trajectory c starts from the c-th draw of the seed, whatever `frames` is."""
    if count < 1 or modes < 1:
        raise ValueError(f"count and modes must be >= 1, got count={count}, modes={modes}")
    if frames < 1 or steps % frames:
        raise ValueError(f"frames must be an integer >= 1 that divides steps={steps}, "
                         f"got {frames!r}")
    rng = np.random.default_rng(seed)
    out = np.empty((count, frames + 1, n, n))
    for c in range(count):
        out[c, 0] = random_initial_condition(rng, n, modes)
        for k in range(frames):
            out[c, k + 1] = solve_burgers2d(out[c, k], t_end / frames, steps // frames, nu)
    return out


def random_burgers_fields(count: int, n: int = 96, t_end: float = 0.3, nu: float = 0.005,
                          modes: int = 3, steps: int = 300, seed: int = 0) -> np.ndarray:
    """(count, n, n) Burgers fields at t_end from seeded random low-mode initial conditions."""
    return random_burgers_trajectories(count, n, t_end, nu, modes, steps, 1, seed)[:, -1]


def burgers2d_fields(nu: float = 0.005, t_end: float = 0.3, modes: int = 3, steps: int = 300,
                     n: int = 96, seed: int = 0):
    """The family of viscous 2D Burgers states u(., t_end) on the periodic unit square,

        u_t + u (u_x + u_y) = nu (u_xx + u_yy),   (x, y, t) in [0, 1]^2 x [0, t_end],

    from seeded random low-mode initial conditions (`random_burgers_fields`, fields k = 0, 1, ...
    of the data seed `seed`), solved pseudo-spectrally on the n x n grid. The mesh mover (`dmm`)
    reads these settings from `problem.fields` and draws its training and held-out fields from
    them; the problem's residual is the PDE the fields solve.
    """
    from ...geometry import Rectangle, TimeInterval
    from ..problem import Problem

    if not nu > 0 or not t_end > 0:
        raise ValueError(f"nu and t_end must be > 0, got nu={nu!r}, t_end={t_end!r}")
    for key, value in (("modes", modes), ("steps", steps), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be an integer >= 1, got {value!r}")
    if n < 8:
        raise ValueError(f"n must be >= 8, got {n!r}")

    def residual(f):
        u = f.u
        return u.t + u * (u.x + u.y) - nu * (u.xx + u.yy)

    problem = Problem(Rectangle((0.0, 0.0), (1.0, 1.0)) * TimeInterval(0.0, t_end), residual,
                      inputs="x y t", outputs="u", name="burgers2d_fields")
    problem.fields = dict(nu=float(nu), t_end=float(t_end), modes=modes, steps=steps, n=n,
                          seed=int(seed))
    return problem
