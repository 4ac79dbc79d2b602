"""Operator learning on a problem family: a network maps input fields to solution fields.

The solver generates (or reads from the cache) the family's data set, trains on mini-batches it
draws itself (an epoch-shuffled order from a seeded generator, so a run is reproducible and can be
resumed), and reports its metrics on the held-out test samples. Losses are relative norms per
sample, averaged over the batch: L2, or H1 (values and finite-difference gradients, the loss the
MgNO authors train with), plus optionally the mean squared PDE residual of the prediction, computed
by the grid derivative backend from the family's residual (a physics-informed term).

Subclasses (MgNO) supply the network through `build_network`; any module mapping
(B, inputs, *grid) -> (B, outputs, *grid) can be passed as `network=` instead (the FNO baseline
of the benchmark is trained this way).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..pde.fields import Fields
from ..pde.grid_backend import GridBackend
from ..pde.problem import equation_terms
from .base import Solver, derived_seed, fresh_seed

LOSSES = ("l2", "h1")
NORMALIZERS = ("pointwise", "global", "none")


def cast_module(module: nn.Module, dtype: torch.dtype, device) -> nn.Module:
    """Move a module to `device` with real tensors in `dtype` and complex ones in its complex
    counterpart (`Module.to(float32)` would drop the imaginary part of spectral weights)."""
    complex_dtype = torch.complex128 if dtype == torch.float64 else torch.complex64

    def convert(t):
        if t.is_complex():
            return t.to(device=device, dtype=complex_dtype)
        return t.to(device=device, dtype=dtype if t.is_floating_point() else None)

    return module._apply(convert)


class GaussianNormalizer(nn.Module):
    """(v - mean) / std with statistics of the training samples, per grid point ("pointwise")
    or over all points ("global"); "none" is the identity."""

    def __init__(self, samples: torch.Tensor, kind: str, eps: float = 1e-6):
        super().__init__()
        if kind == "pointwise":
            mean, std = samples.mean(0), samples.std(0) + eps
        elif kind == "global":
            mean, std = samples.mean(), samples.std() + eps
        else:
            mean, std = torch.zeros(()), torch.ones(())
        self.register_buffer("mean", mean.to(samples))
        self.register_buffer("std", std.to(samples))

    def encode(self, v: torch.Tensor) -> torch.Tensor:
        return (v - self.mean) / self.std

    def decode(self, v: torch.Tensor) -> torch.Tensor:
        return v * self.std + self.mean


class OperatorSolver(Solver):
    """Data-driven (optionally physics-informed) training of a grid network on a family.

    Parameters
    ----------
    network: a ready module (B, inputs, *grid) -> (B, outputs, *grid); default: `build_network`.
    n_train, n_test, data_seed: the data set (generated once, then read from the cache).
    cache_dir: where data sets are cached (default ~/.cache/physolve or $PHYSOLVE_CACHE).
    batch_size: training samples per step.
    loss: "h1" or "l2" (relative, per sample).
    physics_weight: weight of the mean squared PDE residual of the prediction (0: none); for
        a system, of the sum over its equations (each also logged as "physics_<name>").
    normalize: "pointwise", "global" or "none" Gaussian normalisation of inputs and outputs.
    eval_batch_size: test samples per forward pass when computing metrics.
    progress: show a progress bar while generating data.
    """

    name = "operator"

    def __init__(self, network: nn.Module | None = None, n_train: int = 1000, n_test: int = 100,
                 data_seed: int = 0, cache_dir: str | None = None, batch_size: int = 8,
                 loss: str = "h1", physics_weight: float = 0.0, normalize: str = "pointwise",
                 eval_batch_size: int = 50, progress: bool = True):
        for key, val in {"n_train": n_train, "n_test": n_test, "batch_size": batch_size,
                         "eval_batch_size": eval_batch_size}.items():
            if not isinstance(val, int) or val < 1:
                raise ValueError(f"{self.name}: {key} must be an integer >= 1, got {val!r}")
        if loss not in LOSSES:
            raise ValueError(f"{self.name}: loss must be one of {LOSSES}, got {loss!r}")
        if normalize not in NORMALIZERS:
            raise ValueError(f"{self.name}: normalize must be one of {NORMALIZERS}, "
                             f"got {normalize!r}")
        if not (isinstance(physics_weight, (int, float)) and physics_weight >= 0):
            raise ValueError(f"{self.name}: physics_weight must be a number >= 0, "
                             f"got {physics_weight!r}")
        self.network = network
        self.n_train, self.n_test, self.data_seed = n_train, n_test, data_seed
        self.cache_dir, self.batch_size = cache_dir, batch_size
        self.loss_kind, self.physics_weight = loss, float(physics_weight)
        self.normalize, self.eval_batch_size, self.progress = normalize, eval_batch_size, progress

    # --- set-up -------------------------------------------------------------------------------
    def build_network(self, in_channels: int, out_channels: int) -> nn.Module:
        if self.network is None:
            raise ValueError(f"{self.name}: pass network=... (a module mapping "
                             "(B, inputs, *grid) -> (B, outputs, *grid))")
        return self.network

    def setup(self, problem, *, dtype=torch.float32, device="cpu", seed=None):
        if not hasattr(problem, "input_fields"):
            raise TypeError(f"{self.name} learns a problem family (physolve.pde.families), "
                            f"got {type(problem).__name__}; choose a family such as 'darcy64'")
        self.problem = problem
        self.dtype, self.device = dtype, torch.device(device)
        self.seed = fresh_seed() if seed is None else int(seed)
        data = problem.dataset(self.n_train, self.n_test, self.data_seed,
                               cache_dir=self.cache_dir, progress=self.progress)
        stack = lambda fields, names: torch.stack(  # noqa: E731  (B, channels, *grid)
            [torch.as_tensor(fields[k]) for k in names], 1).to(dtype=dtype, device=self.device)
        (x_tr, y_tr), (x_te, y_te) = data.split("train"), data.split("test")
        self.x_train, self.y_train = stack(x_tr, problem.input_fields), stack(y_tr, problem.outputs)
        self.x_test, self.y_test = stack(x_te, problem.input_fields), stack(y_te, problem.outputs)
        with torch.random.fork_rng(devices=[]):  # building never changes the caller's RNG
            torch.manual_seed(derived_seed(self.seed, 0))
            net = self.build_network(len(problem.input_fields), len(problem.outputs))
        self.net = cast_module(net, dtype, self.device)
        self.x_norm = GaussianNormalizer(self.x_train, self.normalize).to(self.device)
        self.y_norm = GaussianNormalizer(self.y_train, self.normalize).to(self.device)
        self.generator = torch.Generator().manual_seed(derived_seed(self.seed, 1))
        self.order = torch.randperm(self.n_train, generator=self.generator)
        self.cursor = 0

    def parameters(self):
        return list(self.net.parameters())

    # --- the operator -------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Solutions (B, outputs, *grid) for input fields (B, inputs, *grid)."""
        return self.y_norm.decode(self.net(self.x_norm.encode(x)))

    def next_batch(self) -> torch.Tensor:
        """Indices of the next training mini-batch (a fresh shuffle at every epoch)."""
        if self.cursor + self.batch_size > self.n_train:
            self.order = torch.randperm(self.n_train, generator=self.generator)
            self.cursor = 0
        idx = self.order[self.cursor:self.cursor + self.batch_size]
        self.cursor += self.batch_size
        return idx.to(self.device)

    def backend(self, u: torch.Tensor, boundary_values: dict | None = None) -> GridBackend:
        """Finite-difference derivatives of fields u (B, outputs, *grid); the Dirichlet ghost
        ring carries `boundary_values` (default: the family's)."""
        p = self.problem
        values = p.boundary_values if boundary_values is None else boundary_values
        return GridBackend({name: u[:, j] for j, name in enumerate(p.outputs)}, p.grid, p.inputs,
                           p.boundary, values, p.spatial)

    def relative_errors(self, pred: torch.Tensor, target: torch.Tensor, kind: str
                        ) -> torch.Tensor:
        """Per-sample ||pred - target|| / ||target|| in L2 or H1 (values plus gradients)."""
        def squared_norm(v, ghost):
            total = v.flatten(1).square().sum(1)
            if kind == "h1":
                backend = self.backend(v, ghost)
                for name in backend.outputs:
                    for axis in backend.spatial:
                        total = total + backend.derivative(name, (axis,)).flatten(1).square().sum(1)
            return total

        # on a Dirichlet ring the target takes the boundary values and the error vanishes
        return (squared_norm(pred - target, {}) / squared_norm(target, None)).sqrt()

    def physics_residual(self, u: torch.Tensor, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The family's residual terms for predictions u with inputs x (both unnormalised):
        "physics", the sum of the equations' mean squares, and for a system each equation's
        as "physics_<name>"."""
        backend = self.backend(u)
        inputs = {name: x[:, j] for j, name in enumerate(self.problem.input_fields)}
        with backend.active():
            equations = equation_terms(self.problem.residual(Fields(backend), **inputs))
        terms = {name: torch.as_tensor(r).square().mean() for name, r in equations.items()}
        out = {"physics": sum(terms.values())}
        if len(terms) > 1:
            out.update({f"physics_{name}": v for name, v in terms.items()})
        return out

    # --- training -----------------------------------------------------------------------------
    def loss(self):
        idx = self.next_batch()
        x, y = self.x_train[idx], self.y_train[idx]
        u = self.forward(x)
        terms = {self.loss_kind: self.relative_errors(u, y, self.loss_kind).mean()}
        total = terms[self.loss_kind]
        if self.physics_weight:
            terms.update(self.physics_residual(u, x))
            total = total + self.physics_weight * terms["physics"]
        return total, terms

    @torch.no_grad()
    def predict_fields(self, x: torch.Tensor) -> torch.Tensor:
        """Solutions for input fields x (B, inputs, *grid), in evaluation-sized chunks."""
        x = x.to(dtype=self.dtype, device=self.device)
        return torch.cat([self.forward(c) for c in torch.split(x, self.eval_batch_size)])

    def metrics(self) -> dict[str, float]:
        """On the held-out samples: mean relative L2 and H1 errors (the operator-learning
        convention: per sample, then averaged) and the largest absolute error."""
        pred = self.predict_fields(self.x_test)
        return {"rel_l2": float(self.relative_errors(pred, self.y_test, "l2").mean()),
                "rel_h1": float(self.relative_errors(pred, self.y_test, "h1").mean()),
                "max_abs_err": float((pred - self.y_test).abs().max())}

    def predict(self, points: torch.Tensor) -> torch.Tensor:
        """The prediction for the first test sample, interpolated (bilinearly) at points (N, 2);
        on Dirichlet axes the grid is extended by its boundary ring."""
        p = self.problem
        if p.grid.dim != 2:
            raise NotImplementedError(f"{self.name}.predict interpolates on 2D grids only")
        u = self.predict_fields(self.x_test[:1])
        lo = p.grid.lower.clone()
        hi = p.grid.upper.clone()
        pad = [0, 0, 0, 0]
        for k, name in enumerate(p.inputs):
            if p.boundary.get(name) == "dirichlet":
                lo[k] -= p.grid.spacing[k]
                hi[k] += p.grid.spacing[k]
                pad[2 - 2 * k:4 - 2 * k] = [1, 1]
        cols = [p.boundary_values.get(name, 0.0) for name in p.outputs]
        u = torch.cat([F.pad(u[:, j:j + 1], pad, value=float(c)) for j, c in enumerate(cols)], 1)
        # grid_sample's last coordinate indexes the last axis (y here, the tensor's width)
        unit = (points.to(torch.float64) - lo) / (hi - lo) * 2 - 1
        where = unit.flip(-1).to(u.dtype).to(self.device).reshape(1, 1, -1, 2)
        out = F.grid_sample(u, where, align_corners=True, padding_mode="border")
        return out[0, :, 0].T.to(torch.float64).cpu()

    # --- checkpoints --------------------------------------------------------------------------
    def state_dict(self):
        return {"module": self.net.state_dict(), "order": self.order.clone(),
                "cursor": self.cursor, "generator": self.generator.get_state()}

    def load_state_dict(self, state):
        self.net.load_state_dict(state["module"])
        self.order, self.cursor = state["order"].clone(), state["cursor"]
        self.generator.set_state(state["generator"])
