"""Gaussian random fields on the unit square, sampled spectrally.

The covariance operator is C = sigma^2 (-Laplacian + tau^2)^(-alpha), the Matern-like prior of the
FNO/MgNO Darcy data. With (mu_k, phi_k) the eigenpairs of -Laplacian for the chosen boundary
condition (orthonormal in L2 of the square), a sample is the Karhunen-Loeve sum

    g(x) = sum_k sqrt(lambda_k) xi_k phi_k(x),   lambda_k = sigma^2 (mu_k + tau^2)^(-alpha),

with xi_k independent standard normals, truncated to `modes` eigenfunctions per axis. The
eigenfunctions are products of one-dimensional ones, so a batch of fields on a tensor grid is two
matrix products: G = Phi_x (sqrt(lambda) * Xi) Phi_y^T. Evaluating the eigenfunctions at the
grid's points (rather than using an FFT) works for any grid, with or without its end points.
"""
from __future__ import annotations

import math

import numpy as np

BASES = ("neumann", "dirichlet", "periodic")


def eigenbasis_1d(points: np.ndarray, modes: int, boundary: str) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues mu (modes,) and eigenfunctions (len(points), modes) of -d^2/dx^2 on [0, 1],
    orthonormal in L2(0, 1), for the given boundary condition."""
    x = np.asarray(points, dtype=np.float64)[:, None]
    k = np.arange(modes)
    if boundary == "neumann":       # 1, sqrt2 cos(pi k x)
        phi = np.where(k == 0, 1.0, math.sqrt(2.0)) * np.cos(math.pi * k * x)
        mu = (math.pi * k) ** 2
    elif boundary == "dirichlet":   # sqrt2 sin(pi (k+1) x)
        phi = math.sqrt(2.0) * np.sin(math.pi * (k + 1) * x)
        mu = (math.pi * (k + 1)) ** 2
    elif boundary == "periodic":    # 1, sqrt2 cos(2 pi m x), sqrt2 sin(2 pi m x), m = 1, 2, ...
        m = (k + 1) // 2
        phase = np.where(k % 2 == 1, 0.0, -math.pi / 2)  # odd k: cosine, even k > 0: sine
        phi = np.where(k == 0, 1.0, math.sqrt(2.0) * np.cos(2 * math.pi * m * x + phase))
        mu = (2 * math.pi * m) ** 2
    else:
        raise ValueError(f"boundary must be one of {BASES}, got {boundary!r}")
    return mu.astype(np.float64), phi


class GaussianRandomField:
    """Zero-mean Gaussian field on [0, 1]^2 with covariance sigma^2 (-Laplacian + tau^2)^(-alpha).

    Parameters
    ----------
    alpha, tau: smoothness exponent and inverse length scale (FNO Darcy data: 2 and 3).
    sigma: overall standard deviation scale.
    boundary: boundary condition of the Laplacian ("neumann": cosines, as in the FNO data;
        "dirichlet": sines, fields vanish on the boundary; "periodic": Fourier modes).
    modes: eigenfunctions kept per axis.
    zero_mean_mode: drop the constant eigenfunction (the FNO data generator does), so every
        sample has spatial mean zero; only meaningful for neumann and periodic bases.
    """

    def __init__(self, alpha: float = 2.0, tau: float = 3.0, sigma: float = 1.0,
                 boundary: str = "neumann", modes: int = 64, zero_mean_mode: bool = False):
        for key, val in {"alpha": alpha, "tau": tau, "sigma": sigma}.items():
            if not (isinstance(val, (int, float)) and val > 0):
                raise ValueError(f"GaussianRandomField: {key} must be a number > 0, got {val!r}")
        if boundary not in BASES:
            raise ValueError(f"GaussianRandomField: boundary must be one of {BASES}, "
                             f"got {boundary!r}")
        if not isinstance(modes, int) or modes < 1:
            raise ValueError(f"GaussianRandomField: modes must be an integer >= 1, got {modes!r}")
        self.alpha, self.tau, self.sigma = float(alpha), float(tau), float(sigma)
        self.boundary, self.modes, self.zero_mean_mode = boundary, modes, bool(zero_mean_mode)

    def config(self) -> dict:
        return {"alpha": self.alpha, "tau": self.tau, "sigma": self.sigma,
                "boundary": self.boundary, "modes": self.modes,
                "zero_mean_mode": self.zero_mean_mode}

    def spectrum(self, mu_x: np.ndarray, mu_y: np.ndarray) -> np.ndarray:
        """Eigenvalues lambda of the covariance operator for every pair of 1D modes."""
        lam = self.sigma ** 2 * (mu_x[:, None] + mu_y[None, :] + self.tau ** 2) ** (-self.alpha)
        if self.zero_mean_mode and self.boundary != "dirichlet":
            lam[0, 0] = 0.0
        return lam

    def sample(self, x: np.ndarray, y: np.ndarray, n: int, seed: int) -> np.ndarray:
        """`n` fields at the tensor grid x (nx,) times y (ny,): an array (n, nx, ny)."""
        mu_x, phi_x = eigenbasis_1d(x, self.modes, self.boundary)
        mu_y, phi_y = eigenbasis_1d(y, self.modes, self.boundary)
        amplitude = np.sqrt(self.spectrum(mu_x, mu_y))
        xi = np.random.default_rng(seed).standard_normal((n, self.modes, self.modes))
        return np.einsum("ik,nkl,jl->nij", phi_x, amplitude * xi, phi_y, optimize=True)
