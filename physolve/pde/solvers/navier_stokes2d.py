"""2D incompressible Navier-Stokes on a periodic box, vorticity form, pseudo-spectral (torch FFTs).

    d_t w + u . grad w = nu lap w - alpha w + f,      -lap psi = w,   u = (d_y psi, -d_x psi)

on [0, L)^2 (x along axis 0 of the (n, n) grid, y along axis 1, nodes x_i = i L / n). Products
are formed on the grid and the spectrum of the nonlinear term is cut by the 2/3 rule (modes with
|k_x| or |k_y| >= n/3 in index units are zeroed), so the semi-discretisation is alias-free.

Time stepping ("state order"):
  * ``scheme="rk4"``: classical explicit Runge-Kutta, fourth order in dt;
  * ``scheme="midpoint"``: implicit midpoint rule (w1 - w0)/dt = F((w0 + w1)/2), second order,
    A-stable for the viscous term, solved by fixed-point iteration.

`NavierStokes2D.residual(w0, w1, dt)` is the residual of the same discretisation between two
consecutive states; it vanishes (to round-off / iteration tolerance) on the solver's own steps and
is the data-free training loss of the learned solvers (physolve.models.neural_stagger).

Forcing: Kolmogorov, the curl of the body force (A sin(k_f y), 0): f = -A k_f cos(k_f y).
Initial fields: `decaying_turbulence` draws a seeded Gaussian random field with energy spectrum
E(k) ~ k^4 exp(-2 (k / k_p)^2) (peak at k_p), scaled to a given rms vorticity; `taylor_green`
returns the exact decaying vortex w = 2 k cos(k x) cos(k y) exp(-2 nu k^2 t) (for which the
nonlinear term vanishes identically).
"""
from __future__ import annotations

import math

import torch

SCHEMES = ("rk4", "midpoint")


class NavierStokes2D:
    """Pseudo-spectral vorticity solver on an (n, n) periodic grid of side `length`.

    Fields are real tensors of shape (..., n, n) (leading batch dimensions are allowed).
    """

    def __init__(self, n: int, nu: float, length: float = 2 * math.pi, *, scheme: str = "rk4",
                 forcing_amplitude: float = 0.0, forcing_wavenumber: int = 4, drag: float = 0.0,
                 dealias: bool = True, dtype: torch.dtype = torch.float64,
                 device: str | torch.device = "cpu"):
        if not isinstance(n, int) or n < 4 or n % 2:
            raise ValueError(f"n must be an even integer >= 4, got {n!r}")
        if not nu >= 0:
            raise ValueError(f"nu must be >= 0, got {nu!r}")
        if not length > 0:
            raise ValueError(f"length must be > 0, got {length!r}")
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
        if not isinstance(forcing_wavenumber, int) or forcing_wavenumber < 1:
            raise ValueError(f"forcing_wavenumber must be an integer >= 1, got {forcing_wavenumber!r}")
        self.n, self.nu, self.length, self.scheme = n, float(nu), float(length), scheme
        self.drag = float(drag)
        self.dtype, self.device = dtype, torch.device(device)
        k = torch.fft.fftfreq(n, d=1.0 / n, dtype=dtype, device=self.device)       # integers
        kr = torch.fft.rfftfreq(n, d=1.0 / n, dtype=dtype, device=self.device)
        scale = 2 * math.pi / self.length
        self.kx = (k * scale)[:, None]                                              # (n, 1)
        self.ky = (kr * scale)[None, :]                                             # (1, n/2+1)
        self.k2 = self.kx ** 2 + self.ky ** 2
        self.inv_k2 = torch.where(self.k2 > 0, 1.0 / torch.where(self.k2 > 0, self.k2, 1.0),
                                  torch.zeros_like(self.k2))
        if dealias:
            cut = n / 3.0
            self.mask = ((k.abs()[:, None] < cut) & (kr[None, :] < cut)).to(dtype)
        else:
            self.mask = torch.ones_like(self.k2)
        x = self.grid()
        self.forcing = (-forcing_amplitude * forcing_wavenumber * scale
                        * torch.cos(forcing_wavenumber * scale * x[1]))

    # ----------------------------------------------------------------------------- grid / fields
    def grid(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Node coordinates (X, Y), each (n, n), X varying along axis 0."""
        x = torch.arange(self.n, dtype=self.dtype, device=self.device) * (self.length / self.n)
        return torch.meshgrid(x, x, indexing="ij")

    def velocity(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(u, v) = (d_y psi, -d_x psi) with -lap psi = w (zero-mean psi)."""
        psi = torch.fft.rfft2(w) * self.inv_k2
        u = torch.fft.irfft2(1j * self.ky * psi, s=w.shape[-2:])
        v = torch.fft.irfft2(-1j * self.kx * psi, s=w.shape[-2:])
        return u, v

    def rhs(self, w: torch.Tensor) -> torch.Tensor:
        """F(w) = -u . grad w + nu lap w - drag w + f, the dealiased semi-discretisation."""
        s = w.shape[-2:]
        w_hat = torch.fft.rfft2(w)
        psi = w_hat * self.inv_k2
        u = torch.fft.irfft2(1j * self.ky * psi, s=s)
        v = torch.fft.irfft2(-1j * self.kx * psi, s=s)
        wx = torch.fft.irfft2(1j * self.kx * w_hat, s=s)
        wy = torch.fft.irfft2(1j * self.ky * w_hat, s=s)
        adv = torch.fft.rfft2(u * wx + v * wy) * self.mask
        lin = -(self.nu * self.k2 + self.drag) * w_hat
        return torch.fft.irfft2(lin - adv, s=s) + self.forcing

    # ----------------------------------------------------------------------------- stepping
    def _rk4(self, w: torch.Tensor, dt: float) -> torch.Tensor:
        k1 = self.rhs(w)
        k2 = self.rhs(w + 0.5 * dt * k1)
        k3 = self.rhs(w + 0.5 * dt * k2)
        k4 = self.rhs(w + dt * k3)
        return w + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)

    def _midpoint(self, w: torch.Tensor, dt: float, tol: float = 1e-13, max_iter: int = 100
                  ) -> torch.Tensor:
        """Implicit midpoint: the viscous/drag part is inverted exactly in Fourier space, the
        advection and forcing iterated to a fixed point."""
        s = w.shape[-2:]
        damp = self.nu * self.k2 + self.drag
        w_hat = torch.fft.rfft2(w)
        w1 = w
        for _ in range(max_iter):
            m = 0.5 * (w + w1)
            explicit = self.rhs(m) + torch.fft.irfft2(damp * torch.fft.rfft2(m), s=s)  # no damping
            # (w1 - w)/dt = E(m) - damp (w + w1)/2  ->  w1_hat (1 + dt damp/2) = ...
            new = torch.fft.irfft2((w_hat * (1 - 0.5 * dt * damp) + dt * torch.fft.rfft2(explicit))
                                   / (1 + 0.5 * dt * damp), s=s)
            change = (new - w1).abs().max()
            w1 = new
            if change <= tol * max(1.0, float(w.abs().max())):
                break
        return w1

    def step(self, w: torch.Tensor, dt: float) -> torch.Tensor:
        """One time step of size dt by the solver's scheme."""
        if not dt > 0:
            raise ValueError(f"dt must be > 0, got {dt!r}")
        return self._rk4(w, dt) if self.scheme == "rk4" else self._midpoint(w, dt)

    def residual(self, w0: torch.Tensor, w1: torch.Tensor, dt: float) -> torch.Tensor:
        """Residual of the scheme between consecutive states, in units of d_t w (differentiable).

        rk4: (w1 - Phi_rk4(w0, dt)) / dt; midpoint: (w1 - w0) / dt - F((w0 + w1) / 2).
        """
        if self.scheme == "rk4":
            return (w1 - self._rk4(w0, dt)) / dt
        return (w1 - w0) / dt - self.rhs(0.5 * (w0 + w1))

    def rollout(self, w0: torch.Tensor, dt: float, steps: int, substeps: int = 1) -> torch.Tensor:
        """States after 0..steps steps of size dt (each taken as `substeps` solver steps):
        a (steps + 1, ...) tensor."""
        if not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
        if not isinstance(substeps, int) or substeps < 1:
            raise ValueError(f"substeps must be an integer >= 1, got {substeps!r}")
        out = [w0]
        w = w0
        for _ in range(steps):
            for _ in range(substeps):
                w = self.step(w, dt / substeps)
            out.append(w)
        return torch.stack(out)

    # ----------------------------------------------------------------------------- initial fields
    def taylor_green(self, t: float = 0.0, k: int = 1) -> torch.Tensor:
        """Exact Taylor-Green vorticity 2 K cos(K x) cos(K y) exp(-2 nu K^2 t), K = 2 pi k / L
        (unforced, no drag)."""
        kk = 2 * math.pi * k / self.length
        x, y = self.grid()
        return 2 * kk * torch.cos(kk * x) * torch.cos(kk * y) * math.exp(-2 * self.nu * kk ** 2 * t)

    def decaying_turbulence(self, seed: int, peak: float = 4.0, rms: float = 1.0,
                            batch: int | None = None) -> torch.Tensor:
        """A seeded random vorticity field with E(k) ~ k^4 exp(-2 (k/peak)^2), zero mean,
        dealiased, scaled to rms vorticity `rms`. Shape (n, n) or (batch, n, n)."""
        if not peak > 0 or not rms > 0:
            raise ValueError(f"peak and rms must be > 0, got peak={peak!r}, rms={rms!r}")
        g = torch.Generator(device="cpu").manual_seed(int(seed))
        shape = (1 if batch is None else batch, self.n, self.n)
        noise = torch.randn(shape, generator=g, dtype=torch.float64).to(self.dtype).to(self.device)
        kmag = torch.sqrt(self.k2) * (self.length / (2 * math.pi))
        # vorticity spectrum Z(k) = k^2 E(k); amplitude per mode ~ sqrt(Z(k) / k)
        amp = torch.sqrt(kmag ** 5 * torch.exp(-2 * (kmag / peak) ** 2))
        w = torch.fft.irfft2(torch.fft.rfft2(noise) * amp * self.mask, s=(self.n, self.n))
        w = w - w.mean(dim=(-2, -1), keepdim=True)
        w = w * (rms / w.pow(2).mean(dim=(-2, -1), keepdim=True).sqrt())
        return w[0] if batch is None else w


def relative_l2(pred, ref) -> float:
    """||pred - ref||_2 / ||ref||_2 over all entries (tensors or arrays)."""
    pred, ref = torch.as_tensor(pred), torch.as_tensor(ref)
    return float(torch.linalg.vector_norm(pred - ref) / torch.linalg.vector_norm(ref))


def spectral_resample(w: torch.Tensor, n: int) -> torch.Tensor:
    """A periodic field on an (m, m) grid interpolated / truncated to (n, n) in Fourier space."""
    m = w.shape[-1]
    if m == n:
        return w
    w_hat = torch.fft.fft2(w)
    out = torch.zeros(w.shape[:-2] + (n, n), dtype=w_hat.dtype, device=w.device)
    h = min(m, n) // 2
    idx = list(range(h)) + list(range(-h + 1, 0))
    ii = torch.tensor(idx, device=w.device)
    io = torch.tensor([i % n for i in idx], device=w.device)
    im = torch.tensor([i % m for i in idx], device=w.device)
    out[..., io[:, None], io[None, :]] = w_hat[..., im[:, None], im[None, :]]
    del ii
    return torch.fft.ifft2(out).real * (n * n) / (m * m)


def periodic_vorticity(nu: float = 1e-3, length: float = 2 * math.pi, t_end: float = 2.5,
                       forcing_amplitude: float = 0.0, forcing_wavenumber: int = 4,
                       drag: float = 0.0, peak: float = 4.0, rms: float = 1.0,
                       test_seed: int = 12345):
    """2D incompressible flow on the periodic box [0, L)^2 x [0, t_end], vorticity form

        w_t + u w_x + v w_y = nu (w_xx + w_yy) - drag w + f,   u_x + v_y = 0,   w = v_x - u_y

    (outputs w, u, v), Kolmogorov forcing f = -A k_f cos(k_f y) (A = forcing_amplitude), from a
    seeded decaying-turbulence field (`NavierStokes2D.decaying_turbulence(test_seed, peak,
    rms)`), the field every learned solver is evaluated on. The grid solvers (NeuralStagger)
    read the flow's settings from `problem.flow` and `problem.initial` and train on the
    residual of the pseudo-spectral discretisation of the same equations; the ground truth is
    the classical solver's rollout (`NavierStokes2D`), computed by the solver at its own grid.
    """
    from ...geometry import Rectangle, TimeInterval
    from ..problem import Problem

    if not nu > 0:
        raise ValueError(f"nu must be > 0, got {nu!r}")
    if not length > 0 or not t_end > 0:
        raise ValueError(f"length and t_end must be > 0, got length={length!r}, t_end={t_end!r}")
    if not peak > 0 or not rms > 0:
        raise ValueError(f"peak and rms must be > 0, got peak={peak!r}, rms={rms!r}")
    if not isinstance(forcing_wavenumber, int) or forcing_wavenumber < 1:
        raise ValueError(f"forcing_wavenumber must be an integer >= 1, got {forcing_wavenumber!r}")
    scale = 2 * math.pi / length

    def residual(f):
        w, u, v = f.w, f.u, f.v
        force = (-forcing_amplitude * forcing_wavenumber * scale
                 * torch.cos(forcing_wavenumber * scale * f.coordinates()["y"]))
        return {"vorticity": w.t + u * w.x + v * w.y - nu * (w.xx + w.yy) + drag * w - force,
                "continuity": u.x + v.y, "curl": w - (v.x - u.y)}

    problem = Problem(Rectangle((0.0, 0.0), (length, length)) * TimeInterval(0.0, t_end),
                      residual,
                      inputs="x y t", outputs="w u v", name="navier_stokes2d_periodic")
    problem.flow = dict(nu=float(nu), length=float(length), forcing_amplitude=float(
        forcing_amplitude), forcing_wavenumber=forcing_wavenumber, drag=float(drag))
    problem.initial = dict(peak=float(peak), rms=float(rms), seed=int(test_seed))
    return problem

