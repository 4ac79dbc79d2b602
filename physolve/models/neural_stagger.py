"""NeuralStagger (Huang et al., ICML 2023): a data-free learned time stepper on staggered sub-grids.

The fine (n, n) vorticity field is split into s_x * s_y staggered coarse sub-grids
w[i::s_x, j::s_y] (each (n/s_x, n/s_y)). One small periodic convolutional ResNet per sub-grid
reads all sub-grids of the current state (stacked as channels at coarse resolution) and writes
its own sub-grid at the next s_t fine time levels; the outputs are reassembled (depth-to-space)
into s_t fine fields. The K = s_x s_y networks are independent (separate weights) and run as one
grouped convolution. With (s_x, s_y, s_t) = (1, 1, 1) the same class is the full-resolution
baseline: one network on the fine grid advancing one fine step.

Training uses no solution data: the loss is the mean squared residual of the classical solver's
own discretisation (physolve.pde.solvers.NavierStokes2D.residual: pseudo-spectral, dealiased,
implicit midpoint or RK4) between consecutive fine states w_{k} -> w_{k+1}, summed over the s_t
predicted levels. Input states are seeded random decaying-turbulence fields and, as training goes
on, states from the model's own rollouts (detached), so the stepper sees the states it will meet.
Prediction is an autoregressive rollout.

Parameters
----------
n, nu, dt : fine grid size, viscosity, fine time step (the learned solver's step is s_t * dt).
factors : (s_x, s_y, s_t) decomposition; s_x, s_y must divide n.
width, depth : channels and residual blocks of each sub-grid network.
scheme : the discretisation of the residual ("midpoint" or "rk4").
forcing_amplitude, forcing_wavenumber, drag : Kolmogorov forcing / linear drag of the flow.
peak, rms : spectrum peak and rms vorticity of the random training / test initial fields.
batch : states per training step; rollout_every : every so many steps, the batch pool is
refreshed with states reached by the model's own rollout.
"""
from __future__ import annotations

import math
import time

import torch
from torch import nn

from ..pde.solvers.navier_stokes2d import NavierStokes2D, relative_l2
from .base import derived_seed


class _GroupedResNet(nn.Module):
    """K independent periodic conv ResNets run as one grouped convolution."""

    def __init__(self, groups: int, c_in: int, c_out: int, width: int, depth: int):
        super().__init__()
        g = groups
        conv = lambda a, b, k: nn.Conv2d(a * g, b * g, k, padding=k // 2, groups=g,  # noqa: E731
                                         padding_mode="circular")
        self.groups = g
        self.lift = conv(c_in, width, 3)
        self.blocks = nn.ModuleList(nn.Sequential(conv(width, width, 3), nn.GELU(),
                                                  conv(width, width, 3)) for _ in range(depth))
        self.proj = conv(width, c_out, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.lift(x.repeat(1, self.groups, 1, 1)))
        for block in self.blocks:
            h = h + block(self.act(h))
        return self.proj(self.act(h))


class NeuralStagger:
    name = "neural_stagger"

    def __init__(self, n: int = 64, nu: float = 1e-3, dt: float = 0.05,
                 factors: tuple[int, int, int] = (2, 2, 2), width: int = 16, depth: int = 2,
                 scheme: str = "midpoint", forcing_amplitude: float = 0.0,
                 forcing_wavenumber: int = 4, drag: float = 0.0, peak: float = 4.0,
                 rms: float = 1.0, batch: int = 8, rollout_every: int = 50, lr: float = 2e-3):
        factors = tuple(factors)
        if len(factors) != 3 or not all(isinstance(f, int) and f >= 1 for f in factors):
            raise ValueError(f"factors must be three integers >= 1 (s_x, s_y, s_t), got {factors!r}")
        if n % factors[0] or n % factors[1]:
            raise ValueError(f"factors s_x, s_y must divide n={n}, got {factors!r}")
        for key, value in (("width", width), ("depth", depth), ("batch", batch),
                           ("rollout_every", rollout_every)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{key} must be an integer >= 1, got {value!r}")
        if not dt > 0:
            raise ValueError(f"dt must be > 0, got {dt!r}")
        self.n, self.nu, self.dt, self.factors = n, nu, dt, factors
        self.width, self.depth, self.scheme = width, depth, scheme
        self.flow = dict(forcing_amplitude=forcing_amplitude,
                         forcing_wavenumber=forcing_wavenumber, drag=drag)
        self.peak, self.rms, self.batch, self.rollout_every, self.lr = peak, rms, batch, \
            rollout_every, lr

    # ----------------------------------------------------------------------------- set-up
    def setup(self, *, dtype: torch.dtype = torch.float32, device="cpu", seed: int = 0) -> None:
        self.dtype, self.device, self.seed = dtype, torch.device(device), seed
        self.ns = NavierStokes2D(self.n, self.nu, scheme=self.scheme, dtype=dtype,
                                 device=self.device, **self.flow)
        sx, sy, st = self.factors
        torch.manual_seed(derived_seed(seed, 1))
        self.net = _GroupedResNet(sx * sy, sx * sy, st, self.width, self.depth).to(dtype).to(
            self.device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        self.pool = self.ns.decaying_turbulence(derived_seed(seed, 2), self.peak, self.rms,
                                                batch=self.batch)
        self.steps_done = 0
        self.train_time_s = 0.0

    def parameters(self) -> list[nn.Parameter]:
        return list(self.net.parameters())

    # ----------------------------------------------------------------------------- decomposition
    def split(self, w: torch.Tensor) -> torch.Tensor:
        """(B, n, n) -> (B, s_x s_y, n/s_x, n/s_y): sub-grid (i, j) is channel i s_y + j."""
        sx, sy, _ = self.factors
        b, n, m = w.shape
        return w.reshape(b, n // sx, sx, m // sy, sy).permute(0, 2, 4, 1, 3).reshape(
            b, sx * sy, n // sx, m // sy)

    def merge(self, parts: torch.Tensor) -> torch.Tensor:
        """Inverse of split: (B, s_x s_y, n/s_x, n/s_y) -> (B, n, n)."""
        sx, sy, _ = self.factors
        b, _, p, q = parts.shape
        return parts.reshape(b, sx, sy, p, q).permute(0, 3, 1, 4, 2).reshape(b, p * sx, q * sy)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        """(B, n, n) -> the next s_t fine states, (s_t, B, n, n)."""
        sx, sy, st = self.factors
        k = sx * sy
        scale = self.rms
        out = self.net(self.split(w) / scale)                       # (B, K * s_t, p, q)
        b, _, p, q = out.shape
        out = out.reshape(b, k, st, p, q).transpose(1, 2)            # (B, s_t, K, p, q)
        inc = self.merge(out.reshape(b * st, k, p, q)).reshape(b, st, self.n, self.n)
        # increments over j + 1 fine steps
        return (w[:, None] + scale * self.dt * inc).transpose(0, 1)

    # ----------------------------------------------------------------------------- loss / training
    def loss_on(self, w0: torch.Tensor) -> torch.Tensor:
        frames = self.forward(w0)
        prev, total = w0, 0.0
        for w1 in frames:
            total = total + self.ns.residual(prev, w1, self.dt).pow(2).mean()
            prev = w1
        return total / len(frames)

    def loss(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        value = self.loss_on(self.pool)
        return value, {"residual": value.detach()}

    def train(self, steps: int, log_every: int = 0) -> list[float]:
        """Adam on the residual loss for `steps` steps; process time accumulates in
        train_time_s. Returns the loss history."""
        history = []
        start = time.process_time()
        for _ in range(steps):
            self.opt.zero_grad()
            value, _ = self.loss()
            value.backward()
            self.opt.step()
            history.append(float(value.detach()))
            self.steps_done += 1
            if self.steps_done % self.rollout_every == 0:
                self._refresh_pool()
            if log_every and self.steps_done % log_every == 0:
                print(f"step {self.steps_done} loss {history[-1]:.3e}", flush=True)
        self.train_time_s += time.process_time() - start
        return history

    @torch.no_grad()
    def _refresh_pool(self) -> None:
        """Half fresh random fields, half states the model itself reaches from them."""
        i = self.steps_done // self.rollout_every
        fresh = self.ns.decaying_turbulence(derived_seed(self.seed, 2, i), self.peak, self.rms,
                                            batch=self.batch)
        g = torch.Generator().manual_seed(derived_seed(self.seed, 3, i))
        reach = int(torch.randint(1, 20, (1,), generator=g))
        w = fresh[: self.batch // 2]
        for _ in range(reach):
            w = self.forward(w)[-1]
        self.pool = torch.cat([fresh[self.batch // 2:], w]) if self.batch > 1 else fresh

    # ----------------------------------------------------------------------------- prediction
    @torch.no_grad()
    def rollout(self, w0: torch.Tensor, steps: int) -> torch.Tensor:
        """Fine states at times 0, dt, ..., steps dt (steps a multiple of s_t): (steps + 1, n, n)
        for a (n, n) initial field."""
        st = self.factors[2]
        if steps % st:
            raise ValueError(f"steps must be a multiple of s_t={st}, got {steps!r}")
        w = w0[None]
        out = [w]
        for _ in range(steps // st):
            frames = self.forward(w)
            out.extend(frames)
            w = frames[-1]
        return torch.cat(out)

    @torch.no_grad()
    def time_per_step(self, w0: torch.Tensor, steps: int, repeat: int = 3) -> float:
        """Process seconds per fine time step of a rollout without keeping the frames
        (the learned solver advances s_t fine steps per call)."""
        st = self.factors[2]
        best = math.inf
        for _ in range(repeat):
            w = w0[None]
            start = time.process_time()
            for _ in range(steps // st):
                w = self.forward(w)[-1]
            best = min(best, (time.process_time() - start) / (steps // st * st))
        return best

    def errors(self, w0: torch.Tensor, reference: torch.Tensor, at: tuple[int, ...]) -> dict:
        pred = self.rollout(w0, max(at))
        return {k: relative_l2(pred[k], reference[k]) for k in at}

    def state_dict(self) -> dict:
        return {"net": self.net.state_dict(), "factors": self.factors}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])


# --------------------------------------------------------------------------------- output
def write_rollout_vtk(folder, ns: NavierStokes2D, frames: torch.Tensor, dt: float,
                      reference: torch.Tensor | None = None, name: str = "rollout"):
    """A ParaView time series: <folder>/<name>.pvd over one VTU per frame with point arrays
    vorticity, velocity (3-vector, z = 0) and, given a reference, vorticity_reference."""
    from pathlib import Path

    import numpy as np

    from ..io.meshing import box_mesh
    from ..io.vtk import write_pvd, write_vtu

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    h = ns.length / ns.n
    mesh = box_mesh(np.zeros(2), np.full(2, ns.length - h), ns.n)
    files = []
    for k, w in enumerate(frames):
        w = w.to(ns.dtype).to(ns.device)
        u, v = ns.velocity(w)
        arrays = {"vorticity": w.cpu().numpy().ravel(),
                  "velocity": np.stack([u.cpu().numpy().ravel(), v.cpu().numpy().ravel(),
                                        np.zeros(w.numel())], 1)}
        if reference is not None:
            arrays["vorticity_reference"] = reference[k].cpu().numpy().ravel()
        files.append((k * dt, write_vtu(folder / f"{name}_{k:04d}.vtu", mesh, arrays)))
    return write_pvd(folder / f"{name}.pvd", files)


def plot_strip(path, predictions: dict, reference: torch.Tensor, steps) -> None:
    """PNG: one row per solver (reference first), one column per rollout step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = {"reference": reference, **predictions}
    fig, axes = plt.subplots(len(rows), len(steps), figsize=(2.2 * len(steps), 2.2 * len(rows)),
                             squeeze=False)
    lim = float(reference[0].abs().max())
    for r, (label, frames) in enumerate(rows.items()):
        for c, k in enumerate(steps):
            ax = axes[r][c]
            ax.imshow(frames[k].cpu().numpy().T, origin="lower", cmap="RdBu_r", vmin=-lim,
                      vmax=lim)
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(f"step {k}")
            if c == 0:
                ax.set_ylabel(label)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
