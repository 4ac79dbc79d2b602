"""Physics-informed hard constraints with a mixture of experts (PI-HC-MoE; Chalapathi, Du and
Krishnapriyan, ICLR 2024), the single global constraint (`hc`) and the soft-constraint baseline
(`soft`), on the diffusion-sorption family.

A backbone maps the input field u0 of a sample to N basis functions phi_1..phi_N on the
space-time grid; their derivatives come from the grid backend (finite differences). The grid
is split into K experts (chunks of x nodes, or of t nodes); expert k predicts u = Phi w_k on
its nodes, with weights from the constrained solve (physolve.models.hard_constraints)

    w_k = argmin_w  |s_pde (R(u) u_t - D u_xx)|^2 on its sampled PDE points
                   + |s_c (u - u0)|^2 on its initial nodes
                   + |s_c (u - 1)|^2, |s_c (u - D u_x)|^2 on its boundary nodes at x = 0, 1

(s_pde = T makes the PDE rows O(1) in the time unit T; s_c = condition_weight). All B x K
problems of a batch are solved at once by batched Levenberg-Marquardt; gradients reach the
backbone through the implicit function theorem. Training is physics-informed and data-free:
the loss is the same residual of the stitched prediction on every node (the constraint sees
only `points` of them); its finite differences across expert interfaces see the jumps there,
which is what couples the experts. `hc` is one expert over the whole grid (K = 1), `soft` the same backbone
with one output u trained on that residual directly. The prediction of the mixture is the
experts' fields stitched together (continuity across interfaces only through the loss).

Reference data come from the finite-volume solver of the family; `metrics` reports the
relative L2 error on the held-out samples (`rel_l2`).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..pde.grid_backend import GridBackend
from .base import derived_seed, solvers
from .hard_constraints import ConstrainedSolution, LMOptions, constrained_solve
from .operator import OperatorSolver

SPLITS = ("x", "t")
ACTIVATIONS = {"tanh": nn.Tanh, "gelu": nn.GELU, "silu": nn.SiLU}


class BasisNet(nn.Module):
    """A pointwise network on the space-time grid conditioned on the input field:
    features (x, t / T, u0(x), c(u0)) at every node, c a linear code of the whole u0 profile,
    then an MLP to `out_channels` fields. (B, 1, nx, nt) -> (B, out_channels, nx, nt)."""

    def __init__(self, nx: int, nt: int, t_end: float, out_channels: int, width: int = 32,
                 depth: int = 3, code: int = 8, activation: str = "tanh"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"hc_moe: activation must be one of {sorted(ACTIVATIONS)}, "
                             f"got {activation!r}")
        self.t_end = float(t_end)
        self.encode = nn.Linear(nx, code)
        layers, width_in = [], 3 + code
        for _ in range(depth):
            layers += [nn.Linear(width_in, width), ACTIVATIONS[activation]()]
            width_in = width
        layers.append(nn.Linear(width_in, out_channels))
        self.mlp = nn.Sequential(*layers)
        x = torch.linspace(0, 1, nx)
        t = torch.linspace(0, 1, nt)
        X, T = torch.meshgrid(x, t, indexing="ij")
        self.register_buffer("coords", torch.stack([X, T], -1))         # (nx, nt, 2)

    def forward(self, u0: torch.Tensor) -> torch.Tensor:
        B, _, nx, nt = u0.shape
        profile = u0[:, 0, :, 0]                                          # (B, nx)
        code = self.encode(profile)                                       # (B, c)
        feats = torch.cat([self.coords.expand(B, nx, nt, 2),
                           u0[:, 0, :, :, None],
                           code[:, None, None, :].expand(B, nx, nt, code.shape[-1])], -1)
        return self.mlp(feats).permute(0, 3, 1, 2)


def _expert_rows(nx: int, nt: int, experts: int, split: str) -> dict[str, np.ndarray]:
    """Flat node indices (K, rows) and masks of every expert's PDE, initial and boundary rows;
    every expert gets the same number of rows (masked rows are padding)."""
    idx = np.arange(nx * nt).reshape(nx, nt)
    K = experts
    if split == "x":
        if nx % K:
            raise ValueError(f"hc_moe: nx = {nx} must be divisible by experts = {K} for an "
                             "x split (equal experts); change nx or experts")
        chunks = np.split(np.arange(nx), K)
        pde = np.stack([idx[c][:, 1:].ravel() for c in chunks])
        interior = np.stack([((c > 0) & (c < nx - 1))[:, None].repeat(nt - 1, 1).ravel()
                             for c in chunks])
        ic = np.stack([idx[c, 0] for c in chunks])
        ic_mask = np.ones_like(ic, dtype=bool)
        left = np.stack([idx[0, 1:]] * K)
        right = np.stack([idx[nx - 1, 1:]] * K)
        left_mask = np.zeros_like(left, dtype=bool)
        left_mask[0] = True
        right_mask = np.zeros_like(right, dtype=bool)
        right_mask[-1] = True
        owner = np.repeat(np.arange(K), nx // K)[:, None].repeat(nt, 1)
    elif split == "t":
        if (nt - 1) % K:
            raise ValueError(f"hc_moe: nt - 1 = {nt - 1} must be divisible by experts = {K} "
                             "for a t split; change nt or experts")
        chunks = np.split(np.arange(1, nt), K)
        pde = np.stack([idx[:, c].ravel() for c in chunks])
        interior = np.stack([((np.arange(nx) > 0) & (np.arange(nx) < nx - 1))[:, None]
                             .repeat(len(c), 1).ravel() for c in chunks])
        ic = np.stack([idx[:, 0]] * K)
        ic_mask = np.zeros_like(ic, dtype=bool)
        ic_mask[0] = True
        left = np.stack([idx[0, c] for c in chunks])
        right = np.stack([idx[nx - 1, c] for c in chunks])
        left_mask = np.ones_like(left, dtype=bool)
        right_mask = np.ones_like(right, dtype=bool)
        owner = np.concatenate([[0], np.repeat(np.arange(K), (nt - 1) // K)])[None, :] \
            .repeat(nx, 0)
    else:
        raise ValueError(f"hc_moe: split must be one of {SPLITS}, got {split!r}")
    return {"pde": pde, "pde_mask": interior, "ic": ic, "ic_mask": ic_mask, "left": left,
            "left_mask": left_mask, "right": right, "right_mask": right_mask,
            "owner": owner.ravel()}


class _Residual:
    """r(w; basis rows) of the constrained solve, batched over problems (a pure function)."""

    def __init__(self, beta_n: float, n_f: float, D: float, s_pde: float, s_c: float,
                 u_floor: float):
        self.beta_n, self.n_f, self.D = beta_n, n_f, D
        self.s_pde, self.s_c, self.u_floor = s_pde, s_c, u_floor

    def __call__(self, w, phi, phi_t, phi_xx, m_pde, phi_ic, u0, m_ic, phi_l, m_l, phi_r,
                 phi_rx, m_r):
        dot = lambda A: (A @ w.unsqueeze(-1)).squeeze(-1)  # noqa: E731
        u = dot(phi)
        R = 1 + self.beta_n * torch.clamp(u, min=self.u_floor) ** (self.n_f - 1)
        r_pde = self.s_pde * m_pde * (R * dot(phi_t) - self.D * dot(phi_xx))
        r_ic = self.s_c * m_ic * (dot(phi_ic) - u0)
        r_l = self.s_c * m_l * (dot(phi_l) - 1)
        r_r = self.s_c * m_r * (dot(phi_r) - self.D * dot(phi_rx))
        return torch.cat([r_pde, r_ic, r_l, r_r], -1)


@solvers.register("hc_moe")
class HardConstraintMoE(OperatorSolver):
    """Hard-constrained operator with K experts on a diffusion-sorption family.

    basis: N, the number of basis functions the backbone outputs.
    experts: K; split: "x" (chunks of x nodes, the paper's spatial experts) or "t".
    points: PDE points per expert in each constrained solve, drawn at random from its nodes
        every step (null: all of them); the training loss uses all nodes.
    condition_weight: s_c, the weight of the initial and boundary rows.
    width, depth, code, activation: the backbone (BasisNet).
    max_iter, gtol, xtol, adjoint, on_failure: the Levenberg-Marquardt solve (LMOptions).
        Training logs "lm_unconverged" (problems of the step that stopped at max_iter) and
        "lm_iterations"; `metrics` reports the unconverged fraction on the test set.
        on_failure="warn" or "raise" makes every unconverged solve warn or stop the run.
    Data-set options (n_train, n_test, data_seed, cache_dir, batch_size, eval_batch_size,
    progress) as for every operator solver; the training samples' solutions are never used.
    """

    name = "hc_moe"
    mode = "hard"

    def __init__(self, basis: int = 16, experts: int = 4, split: str = "x",
                 points: int | None = None, condition_weight: float = 10.0, width: int = 32,
                 depth: int = 3, code: int = 8, activation: str = "tanh", max_iter: int = 15,
                 gtol: float = 1e-6, xtol: float = 1e-6, adjoint: str = "gauss_newton",
                 on_failure: str = "ignore", **options):
        options.setdefault("loss", "l2")
        options["normalize"] = "none"
        super().__init__(**options)
        for key, val in {"basis": basis, "experts": experts, "width": width, "depth": depth,
                         "code": code}.items():
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                raise ValueError(f"{self.name}: {key} must be an integer >= 1, got {val!r}")
        if split not in SPLITS:
            raise ValueError(f"{self.name}: split must be one of {SPLITS}, got {split!r}")
        if points is not None and (not isinstance(points, int) or points < 1):
            raise ValueError(f"{self.name}: points must be an integer >= 1 or null, "
                             f"got {points!r}")
        if not (isinstance(condition_weight, (int, float)) and condition_weight > 0):
            raise ValueError(f"{self.name}: condition_weight must be a number > 0, "
                             f"got {condition_weight!r}")
        self.basis, self.experts, self.split, self.points = basis, experts, split, points
        self.condition_weight = float(condition_weight)
        self.width, self.depth, self.code, self.activation = width, depth, code, activation
        self.lm = LMOptions(max_iter=max_iter, gtol=gtol, xtol=xtol, atol=0.0, adjoint=adjoint,
                            on_failure=on_failure)

    # --- set-up -------------------------------------------------------------------------------
    def build_network(self, in_channels, out_channels):
        p = self.problem
        return BasisNet(p.nx, p.nt, p.t_end, self.basis if self.mode == "hard" else 1,
                        self.width, self.depth, self.code, self.activation)

    def setup(self, problem, *, dtype=torch.float64, device="cpu", seed=None):
        if not hasattr(problem, "constants") or getattr(problem, "spatial", None) != ("x",):
            raise TypeError(f"{self.name} solves the diffusion-sorption family "
                            f"('diffusion_sorption'), got {type(problem).__name__}")
        super().setup(problem, dtype=dtype, device=device, seed=seed)
        rows = _expert_rows(problem.nx, problem.nt, self.experts, self.split)
        self.rows = {k: torch.as_tensor(v, device=self.device) for k, v in rows.items()}
        n_pde = rows["pde"].shape[1]
        if self.points is not None and self.points > n_pde:
            raise ValueError(f"{self.name}: points = {self.points} exceeds the {n_pde} PDE "
                             "nodes of an expert; lower points or experts")
        c = problem.constants
        self.residual_fn = _Residual(c.beta * c.n_f, c.n_f, c.D, problem.t_end,
                                     self.condition_weight, problem.u_floor)
        self.point_generator = torch.Generator().manual_seed(derived_seed(self.seed, 2))
        self.last_solution: ConstrainedSolution | None = None

    # --- the operator -------------------------------------------------------------------------
    def _derivatives(self, fields: torch.Tensor) -> dict[str, torch.Tensor]:
        """fields (B, C, nx, nt) -> values, u_t, u_x, u_xx flattened to (B, C, nx * nt)."""
        p = self.problem
        B, C = fields.shape[:2]
        flat = fields.reshape(B * C, p.nx, p.nt)
        backend = GridBackend({"u": flat}, p.grid, p.inputs, p.boundary, {}, p.spatial)
        out = {"u": flat, "u_t": backend.derivative("u", ("t",)),
               "u_x": backend.derivative("u", ("x",)),
               "u_xx": backend.derivative("u", ("x", "x"))}
        return {k: v.reshape(B, C, -1) for k, v in out.items()}

    def _gather(self, d: dict, u0: torch.Tensor, pde_rows: torch.Tensor, pde_mask: torch.Tensor):
        """Rows (B * K, rows, C) of every expert, the residual's arguments after w."""
        r = self.rows
        K = self.experts
        B = u0.shape[0]

        def take(field, index):                     # field (B, C, P) -> (B*K, rows, C)
            out = field[:, :, index.reshape(-1)].reshape(B, -1, K, index.shape[-1])
            return out.permute(0, 2, 3, 1).reshape(B * K, index.shape[-1], -1)

        def mask(m):
            return m.to(u0.dtype).expand(B, *m.shape).reshape(B * K, -1)

        u0_flat = u0[:, 0].reshape(B, -1)
        u0_ic = u0_flat[:, r["ic"].reshape(-1)].reshape(B * K, -1)
        return (take(d["u"], pde_rows), take(d["u_t"], pde_rows), take(d["u_xx"], pde_rows),
                mask(pde_mask), take(d["u"], r["ic"]), u0_ic, mask(r["ic_mask"]),
                take(d["u"], r["left"]), mask(r["left_mask"]), take(d["u"], r["right"]),
                take(d["u_x"], r["right"]), mask(r["right_mask"]))

    def _warm_start(self, args) -> torch.Tensor:
        """Weights of the problem linearised with R frozen at R(0.5) (a least-squares solve)."""
        f = self.residual_fn
        phi, phi_t, phi_xx, m_pde, phi_ic, u0, m_ic, phi_l, m_l, phi_r, phi_rx, m_r = \
            [a.detach() for a in args]
        Rc = 1 + f.beta_n * 0.5 ** (f.n_f - 1)
        A = torch.cat([f.s_pde * m_pde[..., None] * (Rc * phi_t - f.D * phi_xx),
                       f.s_c * m_ic[..., None] * phi_ic, f.s_c * m_l[..., None] * phi_l,
                       f.s_c * m_r[..., None] * (phi_r - f.D * phi_rx)], 1)
        b = torch.cat([torch.zeros_like(m_pde), f.s_c * m_ic * u0, f.s_c * m_l,
                       torch.zeros_like(m_r)], 1)
        AtA = A.transpose(1, 2) @ A
        ridge = 1e-10 * torch.diagonal(AtA, dim1=1, dim2=2).mean(-1)[:, None, None]
        eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
        return torch.linalg.solve(AtA + ridge * eye, (A.transpose(1, 2) @ b[..., None]))[..., 0]

    def _sample_rows(self, train: bool):
        pde, mask = self.rows["pde"], self.rows["pde_mask"]
        if self.points is None or not train:
            return pde, mask
        K, n = pde.shape
        pick = torch.stack([torch.randperm(n, generator=self.point_generator)[:self.points]
                            for _ in range(K)]).to(pde.device)
        return pde.gather(1, pick), mask.gather(1, pick)

    def fields(self, u0: torch.Tensor, train: bool = False):
        """Prediction (B, 1, nx, nt), and the per-expert rows over all nodes (for the loss)."""
        p = self.problem
        out = self.net(u0)
        if self.mode == "soft":
            return out, None
        B = u0.shape[0]
        d = self._derivatives(out)
        args = self._gather(d, u0, *self._sample_rows(train))
        w0 = self._warm_start(args)
        sol = constrained_solve(self.residual_fn, w0, list(args), self.lm)
        self.last_solution = sol
        w = sol.w.reshape(B, self.experts, -1)                          # (B, K, N)
        owner = self.rows["owner"]                                       # (nx * nt,)
        per_node = {k: (v * w[:, owner, :].transpose(1, 2)).sum(1) for k, v in d.items()}
        u = per_node["u"]
        return u.reshape(B, 1, p.nx, p.nt), per_node

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fields(x)[0]

    def metrics(self) -> dict[str, float]:
        out = {}
        unconverged, total = 0, 0
        pred = []
        with torch.no_grad():
            for chunk in torch.split(self.x_test, self.eval_batch_size):
                pred.append(self.forward(chunk))
                if self.mode == "hard":
                    unconverged += int((~self.last_solution.converged).sum())
                    total += len(self.last_solution.converged)
        pred = torch.cat(pred)
        out["rel_l2"] = float(self.relative_errors(pred, self.y_test, "l2").mean())
        out["max_abs_err"] = float((pred - self.y_test).abs().max())
        terms = self.physics_terms(self.x_test, pred) if self.mode == "soft" else None
        if terms is not None:
            out["test_pde"] = float(terms["pde"])
        if self.mode == "hard":
            out["lm_unconverged_fraction"] = unconverged / max(total, 1)
        return out

    # --- training -----------------------------------------------------------------------------
    def physics_terms(self, u0, pred, per_node=None) -> dict[str, torch.Tensor]:
        """Mean squared PDE, initial and boundary residuals of a prediction on every node
        (scaled as in the constrained solve); for the experts from their own fields."""
        p = self.problem
        B = u0.shape[0]
        if per_node is None:
            per_node = {k: v[:, 0] for k, v in self._derivatives(pred).items()}
        grid = lambda v: v.reshape(B, p.nx, p.nt)  # noqa: E731
        u, ut, ux, uxx = (grid(per_node[k]) for k in ("u", "u_t", "u_x", "u_xx"))
        f = self.residual_fn
        R = 1 + f.beta_n * torch.clamp(u, min=f.u_floor) ** (f.n_f - 1)
        pde = f.s_pde * (R * ut - f.D * uxx)[:, 1:-1, 1:]
        ic = f.s_c * (u[:, :, 0] - u0[:, 0, :, 0])
        left = f.s_c * (u[:, 0, 1:] - 1)
        right = f.s_c * (u[:, -1, 1:] - f.D * ux[:, -1, 1:])
        return {"pde": pde.square().mean(), "ic": ic.square().mean(),
                "bc": torch.cat([left, right], 1).square().mean()}

    def loss(self):
        idx = self.next_batch()
        u0 = self.x_train[idx]
        pred, _ = self.fields(u0, train=True)
        # the residual of the stitched field: finite differences across an interface see the
        # jump between two experts, so the loss couples them (each expert's own residual alone
        # leaves the inner experts without the inflow they need)
        terms = self.physics_terms(u0, pred)
        total = terms["pde"] + terms["ic"] + terms["bc"]
        if self.last_solution is not None and self.mode == "hard":
            sol = self.last_solution
            terms["lm_iterations"] = torch.tensor(float(sol.iterations))
            terms["lm_unconverged"] = (~sol.converged).sum().to(total.dtype)
        return total, terms


    # --- checkpoints --------------------------------------------------------------------------
    def state_dict(self):
        return {**super().state_dict(), "point_generator": self.point_generator.get_state()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        if "point_generator" in state:
            self.point_generator.set_state(state["point_generator"])


@solvers.register("hc")
class HardConstraint(HardConstraintMoE):
    """One global hard constraint over the whole grid (hc_moe with experts = 1)."""

    name = "hc"

    def __init__(self, **options):
        options.pop("split", None)
        if options.get("experts", 1) != 1:
            raise ValueError(f"hc: experts must be 1 (one global constraint), got "
                             f"{options['experts']!r}; use hc_moe for several")
        options["experts"] = 1
        super().__init__(**options)


@solvers.register("soft")
class SoftConstraint(HardConstraintMoE):
    """The soft-constraint baseline: the same backbone with one output u, trained on the
    residual loss (PDE + initial + boundary) of hc_moe, without a constrained solve."""

    name = "soft"
    mode = "soft"

    def __init__(self, **options):
        for key in ("basis", "experts", "split", "points", "max_iter", "gtol", "xtol",
                    "adjoint", "on_failure"):
            if key in options and options[key] is not None:
                raise ValueError(f"soft: {key} is an option of hc / hc_moe (soft has no "
                                 "constrained solve); remove it")
            options.pop(key, None)
        super().__init__(experts=1, **options)


def _signature_without(drop):
    import inspect
    sig = inspect.signature(HardConstraintMoE.__init__)
    return sig.replace(parameters=[p for n, p in sig.parameters.items()
                                   if n not in drop and n != "self"])


# config validation reads these: hc takes every hc_moe option but experts, soft none of the
# constrained solve's
HardConstraint.__signature__ = _signature_without(("experts", "split"))
SoftConstraint.__signature__ = _signature_without((
    "basis", "experts", "split", "points", "max_iter", "gtol", "xtol", "adjoint", "on_failure"))
