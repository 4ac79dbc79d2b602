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

The solver family `neural_stagger` (config model/neural_stagger.yaml) takes the periodic flow
problem `navier_stokes2d_periodic` and, with baseline=True, trains the full-resolution network
beside NeuralStagger on the same loss for the same steps; its metrics are the rollout errors
against the classical solver and the speed-up per rollout (see NeuralStagger.metrics).
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager

import torch
from torch import nn

from ..pde.solvers.navier_stokes2d import SCHEMES, NavierStokes2D, relative_l2
from .base import Solver, derived_seed, fresh_seed, solvers


@contextmanager
def _onednn(enabled: bool):
    """oneDNN convolutions on or off for a block, restored after (torch.backends.mkldnn.flags
    would also reset the TF32 setting and warn about it)."""
    previous = torch._C._get_mkldnn_enabled()
    torch._C._set_mkldnn_enabled(enabled)
    try:
        yield
    finally:
        torch._C._set_mkldnn_enabled(previous)


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
        # oneDNN's grouped convolutions on small coarse grids cost about as much as an
        # ungrouped one of 4x the work (a fixed per-call cost); ATen's own im2col + GEMM kernel
        # runs them about 2x faster on CPU (measured, docs/neural_stagger.md), so sub-grid
        # networks use it. Ungrouped (full-resolution) networks keep oneDNN, faster for them.
        fast = x.device.type == "cpu" and self.groups > 1
        with _onednn(enabled=not fast):
            h = self.act(self.lift(x.repeat(1, self.groups, 1, 1)))
            for block in self.blocks:
                h = h + block(self.act(h))
            return self.proj(self.act(h))


class StaggeredStepper(nn.Module):
    """The learned step: fine (B, n, n) vorticity -> the next s_t fine states (s_t, B, n, n).

    The K = s_x s_y sub-grid networks run as one grouped network at coarse resolution; each
    reads all sub-grids of the current state (as channels) and writes its own sub-grid's
    increments over 1..s_t fine steps. (1, 1, 1) is one network on the fine grid.
    """

    def __init__(self, n: int, dt: float, factors: tuple[int, int, int], width: int, depth: int,
                 scale: float = 1.0):
        super().__init__()
        self.n, self.dt, self.factors, self.scale = n, dt, tuple(factors), scale
        sx, sy, st = self.factors
        self.net = _GroupedResNet(sx * sy, sx * sy, st, width, depth)

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
        sx, sy, st = self.factors
        k = sx * sy
        out = self.net(self.split(w) / self.scale)                   # (B, K * s_t, p, q)
        b, _, p, q = out.shape
        out = out.reshape(b, k, st, p, q).transpose(1, 2)            # (B, s_t, K, p, q)
        inc = self.merge(out.reshape(b * st, k, p, q)).reshape(b, st, self.n, self.n)
        return (w[:, None] + self.scale * self.dt * inc).transpose(0, 1)

    @torch.no_grad()
    def rollout(self, w0: torch.Tensor, steps: int) -> torch.Tensor:
        """Fine states at 0, dt, ..., steps dt (steps a multiple of s_t): (steps + 1, n, n)."""
        st = self.factors[2]
        if steps % st:
            raise ValueError(f"steps must be a multiple of s_t={st}, got {steps!r}")
        w, out = w0[None], [w0[None]]
        for _ in range(steps // st):
            frames = self(w)
            out.extend(frames)
            w = frames[-1]
        return torch.cat(out)

    @torch.no_grad()
    def time_per_step(self, w0: torch.Tensor, steps: int, repeat: int = 3) -> float:
        """Process seconds per fine time step of a rollout, one thread, frames not kept."""
        st = self.factors[2]
        calls = max(1, steps // st)
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            best = math.inf
            for _ in range(repeat):
                w = w0[None]
                start = time.process_time()
                for _ in range(calls):
                    w = self(w)[-1]
                best = min(best, (time.process_time() - start) / (calls * st))
        finally:
            torch.set_num_threads(previous)
        return best


@solvers.register("neural_stagger")
class NeuralStagger(Solver):
    """NeuralStagger on a periodic 2D flow problem (`navier_stokes2d_periodic`).

    Parameters
    ----------
    n : fine grid size (n x n); dt : fine time step (the learned solver advances s_t dt a call).
    factors : (s_x, s_y, s_t); s_x and s_y must divide n.
    width, depth : channels and residual blocks of each sub-grid network.
    scheme : the discretisation whose residual is the loss ("midpoint" or "rk4").
    batch : states per training step; rollout_every : every so many steps the pool is renewed:
        half fresh random fields, half states the model's own rollout reaches from them.
    baseline : also train one full-resolution network ((1, 1, 1), `baseline_width` channels)
        on the same loss for the same steps, for rel_l2_full and speedup.
    eval_steps : length of the evaluation rollout (metrics at 10 and eval_steps steps).
    truth_substeps : RK4 steps per fine step of the classical ground truth.
    """

    name = "neural_stagger"

    def __init__(self, n: int = 64, dt: float = 0.05, factors: tuple[int, int, int] = (2, 2, 2),
                 width: int = 8, depth: int = 2, scheme: str = "midpoint", batch: int = 8,
                 rollout_every: int = 50, baseline: bool = True, baseline_width: int = 16,
                 eval_steps: int = 50, truth_substeps: int = 8):
        factors = tuple(factors)
        if len(factors) != 3 or not all(isinstance(f, int) and f >= 1 for f in factors):
            raise ValueError(f"factors must be three integers >= 1 (s_x, s_y, s_t), got {factors!r}")
        if not isinstance(n, int) or n < 4 or n % 2:
            raise ValueError(f"n must be an even integer >= 4, got {n!r}")
        if n % factors[0] or n % factors[1]:
            raise ValueError(f"factors: s_x={factors[0]} and s_y={factors[1]} must divide the "
                             f"grid size {n}")
        for key, value in (("width", width), ("depth", depth), ("batch", batch),
                           ("rollout_every", rollout_every), ("baseline_width", baseline_width),
                           ("truth_substeps", truth_substeps)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{key} must be an integer >= 1, got {value!r}")
        if 10 % factors[2]:
            raise ValueError(f"factors: s_t={factors[2]} must divide 10 (rel_l2 is taken after "
                             "10 rollout steps)")
        if not isinstance(eval_steps, int) or eval_steps < 10 or eval_steps % factors[2]:
            raise ValueError(f"eval_steps must be an integer >= 10 and a multiple of "
                             f"s_t={factors[2]}, got {eval_steps!r}")
        if not dt > 0:
            raise ValueError(f"dt must be > 0, got {dt!r}")
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
        self.n, self.dt, self.factors, self.width, self.depth = n, dt, factors, width, depth
        self.scheme, self.batch, self.rollout_every = scheme, batch, rollout_every
        self.baseline, self.baseline_width = baseline, baseline_width
        self.eval_steps, self.truth_substeps = eval_steps, truth_substeps

    # ----------------------------------------------------------------------------- set-up
    def setup(self, problem, *, dtype: torch.dtype = torch.float32, device="cpu",
              seed: int | None = 0) -> None:
        if not hasattr(problem, "flow"):
            raise TypeError(f"neural_stagger solves a periodic 2D flow problem such as "
                            f"'navier_stokes2d_periodic', got {getattr(problem, 'name', problem)!r}")
        self.problem = problem
        self.dtype, self.device = dtype, torch.device(device)
        self.seed = fresh_seed() if seed is None else int(seed)
        flow, init = problem.flow, problem.initial
        self.ns = NavierStokes2D(self.n, flow["nu"], flow["length"], scheme=self.scheme,
                                 forcing_amplitude=flow["forcing_amplitude"],
                                 forcing_wavenumber=flow["forcing_wavenumber"], drag=flow["drag"],
                                 dtype=dtype, device=self.device)
        self.peak, self.rms = init["peak"], init["rms"]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derived_seed(self.seed, 1))
            self.model = StaggeredStepper(self.n, self.dt, self.factors, self.width, self.depth,
                                          self.rms).to(dtype).to(self.device)
            torch.manual_seed(derived_seed(self.seed, 4))
            self.full = (StaggeredStepper(self.n, self.dt, (1, 1, 1), self.baseline_width,
                                          self.depth, self.rms).to(dtype).to(self.device)
                         if self.baseline else None)
        self.pool = self.ns.decaying_turbulence(derived_seed(self.seed, 2), self.peak, self.rms,
                                                batch=self.batch)
        self.pool_full = self.pool.clone()
        self.calls = 0
        self._truth = None

    def parameters(self) -> list[nn.Parameter]:
        return list(self.model.parameters()) + (list(self.full.parameters()) if self.full else [])

    # ----------------------------------------------------------------------------- loss
    def residual_loss(self, stepper: StaggeredStepper, w0: torch.Tensor) -> torch.Tensor:
        """Mean squared residual of the scheme over the s_t predicted fine steps."""
        frames = stepper(w0)
        prev, total = w0, 0.0
        for w1 in frames:
            total = total + self.ns.residual(prev, w1, self.dt).pow(2).mean()
            prev = w1
        return total / len(frames)

    def loss(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if self.calls and self.calls % self.rollout_every == 0:
            self.pool = self._refresh_pool(self.model)
            if self.full is not None:
                self.pool_full = self._refresh_pool(self.full)
        self.calls += 1
        value = self.residual_loss(self.model, self.pool)
        terms = {"residual": value.detach()}
        total = value
        if self.full is not None:  # independent parameters: the sum trains both the same way
            full = self.residual_loss(self.full, self.pool_full)
            terms["residual_full"] = full.detach()
            total = total + full
        return total, terms

    @torch.no_grad()
    def _refresh_pool(self, stepper: StaggeredStepper) -> torch.Tensor:
        """Half fresh random fields, half states the stepper itself reaches from them."""
        i = self.calls // self.rollout_every
        fresh = self.ns.decaying_turbulence(derived_seed(self.seed, 2, i), self.peak, self.rms,
                                            batch=self.batch)
        g = torch.Generator().manual_seed(derived_seed(self.seed, 3, i))
        reach = int(torch.randint(1, 20, (1,), generator=g))
        if self.batch == 1:
            return fresh
        w = fresh[: self.batch // 2]
        for _ in range(max(1, reach // stepper.factors[2])):
            w = stepper(w)[-1]
        return torch.cat([fresh[self.batch // 2:], w])

    # ----------------------------------------------------------------------------- evaluation
    def initial_field(self) -> torch.Tensor:
        init = self.problem.initial
        return self.ns.decaying_turbulence(init["seed"], init["peak"], init["rms"])

    def truth(self) -> torch.Tensor:
        """Classical RK4 rollout of the test field at dt / truth_substeps, (eval_steps + 1, n, n)."""
        if self._truth is None:
            ref = NavierStokes2D(self.n, self.ns.nu, self.ns.length, scheme="rk4",
                                 forcing_amplitude=self.problem.flow["forcing_amplitude"],
                                 forcing_wavenumber=self.problem.flow["forcing_wavenumber"],
                                 drag=self.ns.drag, dtype=torch.float64, device=self.device)
            w0 = self.initial_field().to(torch.float64)
            self._truth = ref.rollout(w0, self.dt, self.eval_steps,
                                      substeps=self.truth_substeps).to(self.dtype)
        return self._truth

    def rollout(self, steps: int | None = None, full: bool = False) -> torch.Tensor:
        stepper = self.full if full else self.model
        return stepper.rollout(self.initial_field(), self.eval_steps if steps is None else steps)

    def metrics(self) -> dict[str, float]:
        """rel_l2 (NeuralStagger after 10 steps), rel_l2_50 (after eval_steps), the same for
        the full-resolution network (rel_l2_full, rel_l2_full_50), process seconds per fine
        step (step_s, step_s_full) and speedup = step_s_full / step_s."""
        truth, k = self.truth(), self.eval_steps
        pred = self.rollout()
        out = {"rel_l2": relative_l2(pred[10], truth[10]),
               f"rel_l2_{k}": relative_l2(pred[k], truth[k]),
               "step_s": self.model.time_per_step(self.initial_field(), k)}
        if self.full is not None:
            pf = self.rollout(full=True)
            out.update({"rel_l2_full": relative_l2(pf[10], truth[10]),
                        f"rel_l2_full_{k}": relative_l2(pf[k], truth[k]),
                        "step_s_full": self.full.time_per_step(self.initial_field(), k)})
            out["speedup"] = out["step_s_full"] / out["step_s"]
        return out

    @torch.no_grad()
    def predict(self, points: torch.Tensor) -> torch.Tensor:
        """(w, u, v) of NeuralStagger's rollout of the test field at points (N, 3) = (x, y, t):
        periodic bilinear in space, linear in time between the fine time levels."""
        frames = self.rollout()
        u, v = self.ns.velocity(frames)
        fields = torch.stack([frames, u, v], 1).to(torch.float64).cpu()    # (T, 3, n, n)
        pts = points.to(torch.float64)
        h = self.ns.length / self.n
        gx, gy = pts[:, 0] / h, pts[:, 1] / h
        tt = (pts[:, 2] / self.dt).clamp(0, self.eval_steps)
        i0, j0, k0 = gx.floor(), gy.floor(), tt.floor().clamp(max=self.eval_steps - 1)
        fx, fy, ft = gx - i0, gy - j0, tt - k0
        i0, j0, k0 = i0.long() % self.n, j0.long() % self.n, k0.long()
        i1, j1 = (i0 + 1) % self.n, (j0 + 1) % self.n
        out = 0.0
        for kk, wt in ((k0, 1 - ft), (k0 + 1, ft)):
            pick = lambda a, b: fields[kk, :, a, b]  # noqa: E731  (N, 3)
            val = (pick(i0, j0) * ((1 - fx) * (1 - fy))[:, None]
                   + pick(i1, j0) * (fx * (1 - fy))[:, None]
                   + pick(i0, j1) * ((1 - fx) * fy)[:, None] + pick(i1, j1) * (fx * fy)[:, None])
            out = out + val * wt[:, None]
        return out

    def write_outputs(self, folder) -> list:
        """Rollouts on the grid as ParaView time series (vtk/rollout_stagger.pvd, and
        vtk/rollout_full.pvd with a baseline; vorticity, velocity, vorticity_reference) and the
        PNG strip of predicted vs reference vorticity (plots/strip.png)."""
        from pathlib import Path

        folder = Path(folder)
        truth = self.truth()
        preds = {"NeuralStagger": self.rollout()}
        files = [write_rollout_vtk(folder / "vtk", self.ns, preds["NeuralStagger"], self.dt,
                                   reference=truth, name="rollout_stagger")]
        if self.full is not None:
            preds["full network"] = self.rollout(full=True)
            files.append(write_rollout_vtk(folder / "vtk", self.ns, preds["full network"],
                                           self.dt, reference=truth, name="rollout_full"))
        (folder / "plots").mkdir(parents=True, exist_ok=True)
        steps = sorted({0, 10, self.eval_steps // 2, self.eval_steps})
        files.append(plot_strip(folder / "plots" / "strip.png", preds, truth, steps))
        return files

    # ----------------------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(),
                "full": self.full.state_dict() if self.full is not None else None,
                "pool": self.pool.clone(), "pool_full": self.pool_full.clone(),
                "calls": self.calls}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        if self.full is not None:
            self.full.load_state_dict(state["full"])
        self.pool, self.pool_full = state["pool"].clone(), state["pool_full"].clone()
        self.calls = state["calls"]


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
    from pathlib import Path

    from matplotlib.figure import Figure

    rows = {"reference": reference, **predictions}
    fig = Figure(figsize=(2.2 * len(steps), 2.2 * len(rows)))
    axes = fig.subplots(len(rows), len(steps), squeeze=False)
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
    return Path(path)
