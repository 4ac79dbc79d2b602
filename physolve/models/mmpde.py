"""MM-PDE (Hu, Wang and Ma, ICLR 2024): a learned time stepper for 2D Burgers that runs on the
mesh the data-free mover (`mesh_mover.MeshMover`) gives for the current field, against the same
stepper on the fixed uniform mesh with as many nodes.

The stepper is an encoder-processor-decoder graph network written with plain torch indexing and
`index_add_` (no torch-geometric). It predicts the increment u_{n+1} - u_n at the nodes of the
mesh the state u_n lives on:

    h_i     = enc(u_i, log(s_i / h))                                 node encoding
    m_ij    = psi([h_i, h_j, d_ij / h, |d_ij| / h, u_j - u_i])        message from j to i
    h_i    <- h_i + phi([h_i, mean_j m_ij])                           L residual layers
    du_i    = scale * dec(h_i)

with d_ij = x_j - x_i (minimum image: the square is periodic), h the uniform spacing, s_i the mean
length of node i's edges (how much the mover has refined there) and `scale` the standard
deviation of the training increments. Positions enter only through differences, so the stepper
is translation invariant, as periodic Burgers is.

The graph is the mesh's own: each node is joined to the 8 nodes it shares a quad with, the
node grid wrapped periodically (the last row and column of nodes lie on x = 1 and y = 1, the
images of x = 0 and y = 0). The authors join each node to its 35 nearest neighbours; here the
mover keeps the mesh's connectivity and only moves its nodes, so the quad graph is fixed, needs
no neighbour search per step, and still follows the refinement (a node's 8 neighbours are close
where the mesh is fine). What the two meshes' graphs see differs only in their edge vectors.

One rollout step on the moving mesh (`rollout`):
  1. u_{n+1} = u_n + du on the nodes of mesh n;
  2. the node values are interpolated to the 96 x 96 reference grid (piecewise linear on the
     Delaunay triangulation of the nodes, `mesh_mover.linear_interpolate`) -- there the error is
     measured and the mover reads the field;
  3. the mover gives mesh n + 1 for that field in one forward pass;
  4. u_{n+1} is interpolated from mesh n to mesh n + 1, piecewise linearly as in 2 (exact for
     linear fields, second order). The authors learn this interpolation; plain interpolation is
     what is done here.
On the fixed mesh steps 3 and 4 fall away.

Training is supervised on trajectories of the classical pseudo-spectral solver
(`pde.solvers.burgers2d`): the exact states at mesh n's nodes (the Fourier series of the
solver's nodal values, `fourier_eval`) at t_n and t_{n+1}, the mesh n being the mover's for the
exact u_n. The mover is trained first, in `setup`, data-free on the Monge-Ampere loss over the
training trajectories' states; its parameters are not the trainer's.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from ..checks import number_requirement
from ..pde.solvers.navier_stokes2d import relative_l2
from .base import Solver, derived_seed, fresh_seed, solvers
from .mesh_mover import (MeshMover, field_family, fourier_eval, grid_nodes, inverted_cells,
                         linear_interpolate, quad_cells)


# ------------------------------------------------------------------------------ the mesh graph
def periodic_quad_graph(base: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(src, dst) of the edges j -> i joining each node of the base x base node grid (index
    i * base + j, both ends of each axis on the boundary) to the 8 nodes around it, the grid
    wrapped periodically: index base - 1 is the image of 0, so past it comes 1 (and before 0,
    base - 2)."""
    idx = np.arange(base)
    up = np.where(idx + 1 > base - 1, 1, idx + 1)
    down = np.where(idx - 1 < 0, base - 2, idx - 1)
    step = {-1: down, 0: idx, 1: up}
    I, J = np.meshgrid(idx, idx, indexing="ij")
    src, dst = [], []
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                src.append((step[di][I] * base + step[dj][J]).ravel())
                dst.append((I * base + J).ravel())
    return torch.as_tensor(np.concatenate(src)), torch.as_tensor(np.concatenate(dst))


def edge_features(u: torch.Tensor, pos: torch.Tensor, src: torch.Tensor, dst: torch.Tensor,
                  h: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Node features (B, N, 2) = (u, log(s / h)) and edge features (B, E, 4) =
    (d / h, |d| / h, u_j - u_i) of fields u (B, N) at nodes pos (B, N, 2); d = x_j - x_i wrapped
    to the nearest periodic image, s the mean length of a node's edges."""
    d = pos[:, src] - pos[:, dst]
    d = d - torch.round(d)
    dist = d.norm(dim=-1, keepdim=True)
    deg = torch.bincount(dst, minlength=u.shape[1]).to(u.dtype)
    size = torch.zeros_like(u).index_add_(1, dst, dist[..., 0]) / deg
    nodes = torch.stack([u, torch.log(size / h)], -1)
    return nodes, torch.cat([d / h, dist / h, (u[:, src] - u[:, dst])[..., None]], -1)


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.GELU(), nn.Linear(hidden, n_out))


class MessagePassing(nn.Module):
    """h_i <- h_i + phi([h_i, mean over edges j -> i of psi([h_i, h_j, e_ij])]).

    The mean (not the sum) keeps the update's size independent of a node's degree; the
    residual form lets a deep processor start near the identity."""

    def __init__(self, hidden: int, edge_dim: int):
        super().__init__()
        self.message = _mlp(2 * hidden + edge_dim, hidden, hidden)
        self.update = _mlp(2 * hidden, hidden, hidden)

    def forward(self, h: torch.Tensor, e: torch.Tensor, src: torch.Tensor, dst: torch.Tensor
                ) -> torch.Tensor:
        m = self.message(torch.cat([h[:, dst], h[:, src], e], -1))
        deg = torch.bincount(dst, minlength=h.shape[1]).to(h.dtype)[:, None]
        agg = torch.zeros_like(h).index_add_(1, dst, m) / deg
        return h + self.update(torch.cat([h, agg], -1))


class MeshStepper(nn.Module):
    """Encoder, `layers` message-passing layers, decoder: the normalised increment (B, N) of
    fields u (B, N) at nodes pos (B, N, 2) of a mesh with graph (src, dst) and spacing h."""

    def __init__(self, hidden: int = 32, layers: int = 3, seed: int = 0):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.encoder = _mlp(2, hidden, hidden)
            self.layers = nn.ModuleList(MessagePassing(hidden, 4) for _ in range(layers))
            self.decoder = _mlp(hidden, hidden, 1)
        # feature scales (see `standardise`): the differences u_j - u_i are O(h |grad u|),
        # an order below the other features, and an unscaled network barely learns from them
        for key, dim in (("node_mean", 2), ("node_std", 2), ("edge_mean", 4), ("edge_std", 4)):
            self.register_buffer(key, torch.zeros(dim) if "mean" in key else torch.ones(dim))

    @torch.no_grad()
    def standardise(self, u, pos, src, dst, h: float) -> None:
        """Fix the feature means and standard deviations to those of the sample (u, pos)."""
        nodes, e = edge_features(u, pos, src, dst, h)
        for key, f in (("node", nodes), ("edge", e)):
            f = f.reshape(-1, f.shape[-1])
            getattr(self, f"{key}_mean").copy_(f.mean(0))
            getattr(self, f"{key}_std").copy_(f.std(0).clamp_min(1e-6))

    def forward(self, u, pos, src, dst, h: float) -> torch.Tensor:
        nodes, e = edge_features(u, pos, src, dst, h)
        nodes = (nodes - self.node_mean) / self.node_std
        e = (e - self.edge_mean) / self.edge_std
        z = self.encoder(nodes)
        for layer in self.layers:
            z = layer(z, e, src, dst)
        return self.decoder(z)[..., 0]


# ------------------------------------------------------------------------------ the solver
@solvers.register("mmpde")
class MMPDE(Solver):
    """MM-PDE on `burgers2d_fields`: the graph stepper on the moving mesh and, trained beside it
    on the same data for the same steps, the same stepper on the fixed uniform mesh.

    Parameters
    ----------
    hidden, layers: width and number of message-passing layers of both steppers.
    base: nodes per side of both meshes (base x base nodes).
    frames: time steps per trajectory; the step is the problem's t_end / frames (the problem's
        solver steps must be a multiple of frames).
    train_trajectories, test_trajectories: trajectories 0 .. train - 1 of the problem's data seed
        train, the next test ones are rolled out for the metrics.
    batch: (trajectory, step) pairs per training step.
    alpha, latent: the mover's monitor parameter and global code size (`MeshMover`).
    mover_steps, mover_lr, mover_batch, mover_points: the mover's data-free training in setup
        (Adam; mover_batch states and a jittered mover_points^2 coordinate grid per step).
    """

    name = "mmpde"

    def __init__(self, hidden: int = 32, layers: int = 3, base: int = 32, frames: int = 10,
                 train_trajectories: int = 8, test_trajectories: int = 2, batch: int = 4,
                 alpha: float = 0.01, latent: int = 16, mover_steps: int = 150,
                 mover_lr: float = 1e-3, mover_batch: int = 4, mover_points: int = 24):
        for key, value, lo in (("hidden", hidden, 1), ("layers", layers, 1), ("base", base, 4),
                               ("frames", frames, 1), ("train_trajectories", train_trajectories, 1),
                               ("test_trajectories", test_trajectories, 1), ("batch", batch, 1),
                               ("latent", latent, 0), ("mover_steps", mover_steps, 0),
                               ("mover_batch", mover_batch, 1), ("mover_points", mover_points, 3)):
            needed = number_requirement(value, lo, integer=True)
            if needed:
                raise ValueError(f"mmpde: {key} must be {needed}, got {value!r}")
        for key, value in (("alpha", alpha), ("mover_lr", mover_lr)):
            needed = number_requirement(value, 0, lo_open=True)
            if needed:
                raise ValueError(f"mmpde: {key} must be {needed}, got {value!r}")
        if batch > train_trajectories * frames:
            raise ValueError(f"mmpde: batch={batch} must not exceed the training pairs "
                             f"train_trajectories * frames = {train_trajectories * frames}")
        self.hidden, self.layers, self.base, self.frames = hidden, layers, base, frames
        self.train_trajectories, self.test_trajectories = train_trajectories, test_trajectories
        self.batch, self.alpha, self.latent = batch, alpha, latent
        self.mover_steps, self.mover_lr = mover_steps, mover_lr
        self.mover_batch, self.mover_points = mover_batch, mover_points

    # ----------------------------------------------------------------------------- set-up
    def setup(self, problem, *, dtype: torch.dtype = torch.float32, device="cpu",
              seed: int | None = 0) -> None:
        fam = field_family(problem, "mmpde learns the dynamics of")
        from ..pde.solvers.burgers2d import random_burgers_trajectories

        if fam["steps"] % self.frames:
            raise ValueError(f"mmpde: frames={self.frames} must divide the problem's "
                             f"steps={fam['steps']} (solver steps per rollout step)")
        self.problem, self.dtype, self.device = problem, dtype, torch.device(device)
        self.seed = fresh_seed() if seed is None else int(seed)
        self.n, self.dt = fam["n"], fam["t_end"] / self.frames
        count = self.train_trajectories + self.test_trajectories
        self.spectral = random_burgers_trajectories(count, n=self.n, t_end=fam["t_end"],
                                                    nu=fam["nu"], modes=fam["modes"],
                                                    steps=fam["steps"], frames=self.frames,
                                                    seed=fam["seed"])
        self.ref = grid_nodes(self.n).numpy()
        self.on_ref = np.stack([[fourier_eval(f, self.ref) for f in traj]
                                for traj in self.spectral])          # (count, frames + 1, n^2)
        self.uniform = grid_nodes(self.base).numpy()
        self.src, self.dst = (t.to(self.device) for t in periodic_quad_graph(self.base))
        self.h = 1.0 / (self.base - 1)
        self.mover_train_s = self._train_mover()
        self._build_pairs()
        self.moving = MeshStepper(self.hidden, self.layers, derived_seed(self.seed, 2) % 2 ** 31)
        self.fixed = MeshStepper(self.hidden, self.layers, derived_seed(self.seed, 2) % 2 ** 31)
        for name, model in self.steppers().items():
            model.to(dtype).to(self.device)
            pos, u0, _ = self.pairs[name]
            model.standardise(u0, pos, self.src, self.dst, self.h)
        self.generator = torch.Generator().manual_seed(derived_seed(self.seed, 3) % 2 ** 63)
        self._eval = self._floor = None

    def _ref_tensor(self, values) -> torch.Tensor:
        """Reference-grid values (..., n^2) as the mover's (B, n, n) input."""
        v = torch.as_tensor(np.asarray(values), dtype=self.dtype, device=self.device)
        return v.reshape(-1, self.n, self.n)

    def _train_mover(self) -> float:
        """Data-free Monge-Ampere training of the mover over the training trajectories' states;
        returns its process seconds."""
        mover = MeshMover(alpha=self.alpha, latent=self.latent,
                          seed=derived_seed(self.seed, 1) % 2 ** 31)
        self.mover = mover.to(self.dtype).to(self.device)
        states = self._ref_tensor(self.on_ref[: self.train_trajectories])
        g = torch.Generator().manual_seed(derived_seed(self.seed, 4) % 2 ** 63)
        xi0 = grid_nodes(self.mover_points, dtype=self.dtype)
        spacing = 1.0 / (self.mover_points - 1)
        opt = torch.optim.Adam(self.mover.parameters(), lr=self.mover_lr)
        t0 = time.process_time()
        for _ in range(self.mover_steps):
            pick = torch.randint(len(states), (self.mover_batch,), generator=g)
            jitter = (torch.rand(xi0.shape, generator=g, dtype=self.dtype) - 0.5) * 0.9 * spacing
            xi = (xi0 + jitter).clamp(0, 1).to(self.device)[None].expand(self.mover_batch, -1, -1)
            opt.zero_grad()
            self.mover.loss(states[pick], xi).backward()
            opt.step()
        for p in self.mover.parameters():
            p.requires_grad_(False)
        return time.process_time() - t0

    def move(self, on_ref) -> np.ndarray:
        """The mover's mesh nodes (base^2, 2) for a field given on the reference grid."""
        base = torch.as_tensor(self.uniform, dtype=self.dtype, device=self.device)
        moved = self.mover.move(self._ref_tensor(on_ref), base[None])[0]
        return moved.to(torch.float64).cpu().numpy()

    def _build_pairs(self) -> None:
        """Training pairs (u_n, u_{n+1}) at the nodes of mesh n, for both meshes, and the
        increments' standard deviations (the steppers' output scales)."""
        pos, u0, u1 = [], [], []
        for r in range(self.train_trajectories):
            for k in range(self.frames):
                p = self.move(self.on_ref[r, k])
                pos.append(p)
                u0 += [fourier_eval(self.spectral[r, k], p)]
                u1 += [fourier_eval(self.spectral[r, k + 1], p)]

        def t(a):
            return torch.as_tensor(np.stack(a), dtype=self.dtype, device=self.device)
        self.pairs = {"moving": (t(pos), t(u0), t(u1))}
        flat = self.spectral[: self.train_trajectories]
        uni0 = [fourier_eval(f, self.uniform) for f in flat[:, :-1].reshape(-1, self.n, self.n)]
        uni1 = [fourier_eval(f, self.uniform) for f in flat[:, 1:].reshape(-1, self.n, self.n)]
        grid = np.broadcast_to(self.uniform, (len(uni0), *self.uniform.shape))
        self.pairs["fixed"] = (t(grid), t(uni0), t(uni1))
        self.scale = {k: float((v[2] - v[1]).std()) for k, v in self.pairs.items()}

    def parameters(self) -> list[nn.Parameter]:
        return list(self.moving.parameters()) + list(self.fixed.parameters())

    def steppers(self) -> dict[str, MeshStepper]:
        return {"moving": self.moving, "fixed": self.fixed}

    def loss(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Mean squared error of the normalised one-step increments, the two meshes' summed."""
        self._eval = None
        idx = torch.randperm(len(self.pairs["moving"][0]), generator=self.generator)[: self.batch]
        terms = {}
        for name, model in self.steppers().items():
            pos, u0, u1 = (v[idx] for v in self.pairs[name])
            pred = model(u0, pos, self.src, self.dst, self.h)
            terms[name] = (pred - (u1 - u0) / self.scale[name]).pow(2).mean()
        return terms["moving"] + terms["fixed"], {k: v.detach() for k, v in terms.items()}

    # ----------------------------------------------------------------------------- evaluation
    @torch.no_grad()
    def step(self, name: str, u: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """u_{n+1} at the nodes pos of u_n (float64 numpy in and out)."""
        t = lambda a: torch.as_tensor(a, dtype=self.dtype, device=self.device)[None]  # noqa: E731
        du = self.steppers()[name](t(u), t(pos), self.src, self.dst, self.h)[0]
        return u + self.scale[name] * du.to(torch.float64).cpu().numpy()

    def rollout(self, r: int, moving: bool) -> dict:
        """Trajectory r rolled out for `frames` steps from its exact initial state: the meshes
        (frames + 1, base^2, 2), the node values and the values on the reference grid."""
        name = "moving" if moving else "fixed"
        pos = self.move(self.on_ref[r, 0]) if moving else self.uniform
        u = fourier_eval(self.spectral[r, 0], pos)
        out = {"pos": [pos], "nodes": [u], "ref": [self.on_ref[r, 0]]}
        for _ in range(self.frames):
            u = self.step(name, u, pos)
            on_ref = linear_interpolate(pos, u, self.ref)
            if moving:
                new = self.move(on_ref)
                u, pos = linear_interpolate(pos, u, new), new
            out["pos"].append(pos), out["nodes"].append(u), out["ref"].append(on_ref)
        return {k: np.stack(v) for k, v in out.items()}

    def evaluate(self) -> dict:
        """Rollouts of the held-out trajectories on both meshes (cached until the next step)."""
        if self._eval is None:
            tests = range(self.train_trajectories, self.train_trajectories + self.test_trajectories)
            self._eval = {r: {"moving": self.rollout(r, True), "fixed": self.rollout(r, False)}
                          for r in tests}
        return self._eval

    def metrics(self) -> dict[str, float]:
        """rollout_rel_l2 (moving mesh) and rollout_rel_l2_fixed (uniform mesh): relative L2
        error on the reference grid, averaged over the held-out trajectories and the `frames`
        rollout steps; rollout_error_ratio = fixed / moving; the same at the last step
        (..._final); interp_rel_l2(_fixed): the floor a mesh sets, the exact field sampled at
        the mesh's nodes and interpolated back, averaged over the same states; inverted_cells:
        total over the rollout's moving meshes; mover_train_s: process seconds of the mover's
        training."""
        cells = quad_cells(self.base)
        err = {"moving": [], "fixed": []}
        inverted = 0
        for r, runs in self.evaluate().items():
            truth = self.on_ref[r]
            for name, run in runs.items():
                err[name].append([relative_l2(run["ref"][k], truth[k])
                                  for k in range(1, self.frames + 1)])
            inverted += sum(inverted_cells(p, cells) for p in runs["moving"]["pos"])
        mean = {k: float(np.mean(v)) for k, v in err.items()}
        last = {k: float(np.mean(np.asarray(v)[:, -1])) for k, v in err.items()}
        floor = self.interpolation_floor()
        return {"rollout_rel_l2": mean["moving"], "rollout_rel_l2_fixed": mean["fixed"],
                "rollout_error_ratio": mean["fixed"] / mean["moving"],
                "rollout_rel_l2_final": last["moving"],
                "rollout_rel_l2_fixed_final": last["fixed"],
                "interp_rel_l2": floor["moving"], "interp_rel_l2_fixed": floor["fixed"],
                "inverted_cells": int(inverted), "mover_train_s": self.mover_train_s}

    def interpolation_floor(self) -> dict[str, float]:
        """The mean relative L2 error of the exact held-out states sampled at each mesh's nodes
        and interpolated back to the reference grid. It depends on the mover alone, which is
        frozen after set-up, so it is computed once, not at every metrics record."""
        if self._floor is None:
            floor = {"moving": [], "fixed": []}
            for r in range(self.train_trajectories,
                           self.train_trajectories + self.test_trajectories):
                truth = self.on_ref[r]
                for name in floor:
                    for k in range(1, self.frames + 1):
                        p = self.move(truth[k]) if name == "moving" else self.uniform
                        floor[name].append(relative_l2(linear_interpolate(
                            p, fourier_eval(self.spectral[r, k], p), self.ref), truth[k]))
            self._floor = {k: float(np.mean(v)) for k, v in floor.items()}
        return self._floor

    def predict(self, points: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("mmpde predicts on its meshes, not at given points; its outputs "
                                  "are the rollouts (set output.formats=[] and output.plots=false)")

    def write_outputs(self, folder) -> list:
        """For the first held-out trajectory: vtk/rollout_moving.pvd and vtk/rollout_fixed.pvd
        (one VTU quad mesh per step at that step's nodes, point arrays u and u_reference, the
        exact field there) and plots/rollout.png (reference and both rollouts on the reference
        grid)."""
        from pathlib import Path

        from ..io.meshing import OutputMesh
        from ..io.vtk import write_pvd, write_vtu
        from .neural_stagger import plot_strip

        folder = Path(folder)
        (folder / "vtk").mkdir(parents=True, exist_ok=True)
        (folder / "plots").mkdir(parents=True, exist_ok=True)
        r, runs = next(iter(self.evaluate().items()))
        cells = [("quad", quad_cells(self.base))]
        files = []
        for name, run in runs.items():
            frames = []
            for k, (pos, u) in enumerate(zip(run["pos"], run["nodes"])):
                arrays = {"u": u, "u_reference": fourier_eval(self.spectral[r, k], pos)}
                path = folder / "vtk" / f"rollout_{name}_{k:04d}.vtu"
                frames.append((k * self.dt, write_vtu(path, OutputMesh(pos, cells), arrays)))
            files.append(write_pvd(folder / "vtk" / f"rollout_{name}.pvd", frames))
        grid = lambda a: torch.as_tensor(a.reshape(-1, self.n, self.n))  # noqa: E731
        steps = sorted({0, self.frames // 2, self.frames})
        files.append(plot_strip(folder / "plots" / "rollout.png",
                                {f"{k} mesh": grid(v["ref"]) for k, v in runs.items()},
                                grid(self.on_ref[r]), steps))
        return files

    # ----------------------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        return {"moving": self.moving.state_dict(), "fixed": self.fixed.state_dict(),
                "mover": self.mover.state_dict(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.moving.load_state_dict(state["moving"])
        self.fixed.load_state_dict(state["fixed"])
        self.mover.load_state_dict(state["mover"])
        self.generator.set_state(state["generator"])
        self._eval = self._floor = None
