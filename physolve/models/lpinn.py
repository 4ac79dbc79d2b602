"""Lagrangian PINNs (LPINN; Mojgani, Balajewicz, Hassanzadeh).

For a 1D transport-diffusion problem u_t + c(x, t, u) u_x = nu u_xx the solution is learned along
characteristics. Two separate networks (no shared layers) of the Lagrangian label xi and time t:

    X(xi, t) = xi + t * N_X(xi, t)          (X(xi, 0) = xi exactly)
    u(xi, t) = u0(xi) + t * N_u(xi, t)      (u(xi, 0) = u0(xi) exactly)

Residuals: X_t - c(X, t, u) (characteristics) and u_t - nu u_XX (state), with the diffusion
written through the chain rule in X: u_X = u_xi / X_xi, u_XX = (u_xixi - X_xixi u_X) / X_xi^2
(differentiating in xi instead of X is exact only where X_xi = 1).

Periodic problems: the networks see xi through (cos, sin) of its phase, so X - xi and u are
periodic in xi; X is wrapped into the period when mapping back. Dirichlet boundaries: as in the
paper, the boundary labels xi = a, b are soft-constrained to stay on the boundary
(X(a, t) = a, X(b, t) = b) and to carry the boundary value (u = g there).

The transport velocity is declared, not parsed from the PDE: `velocity=` a number, a callable
c(x, t) or c(x, t, u) of tensors, or "u" (Burgers); a problem attribute `velocity` is used when
the solver has none. `nu` is the diffusion coefficient of the Eulerian PDE.

Predictions at Eulerian points (x, t): for each distinct t, the nodes X(xi_j, t) of a fine label
grid are computed; the map xi -> X must be strictly increasing (X_xi > 0), else characteristics
have crossed (a shock) and predict raises CharacteristicsCrossed. u is then interpolated
linearly in X (periodically for periodic problems). Metrics records do not raise: their errors
are NaN with `crossed_at_t`, and a CharacteristicsCrossedWarning names the place.

Derivatives in xi and t are taken with nested reverse-mode autograd (torch.autograd.grad).
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import torch
from torch import nn

from ..pde.conditions import Dirichlet, Initial, Periodic
from ..balancing import BalancedLoss, objective_terms, scaled_residuals
from .base import Solver, derived_seed, fresh_seed, solvers
from .networks import MLP


STRETCH_FLOOR = 0.05  # smallest X0_xi the state residual is scaled by (lpinn.residuals)


class CharacteristicsCrossed(RuntimeError):
    """The learned characteristics cross (X not monotone in xi): no single-valued Eulerian field.
    `t`: the first time of the query where they do."""

    def __init__(self, message: str, t: float):
        super().__init__(message)
        self.t = t


class CharacteristicsCrossedWarning(UserWarning):
    """A metrics record found crossed characteristics; its errors are NaN (see crossed_at_t)."""


def _grad(y, x):
    return torch.autograd.grad(y, x, torch.ones_like(y), create_graph=True)[0]


@solvers.register("lpinn")
class LPINN(BalancedLoss, Solver):
    """Lagrangian PINN: characteristic and state networks on labels (xi, t).

    Parameters
    ----------
    velocity: transport velocity: number, callable c(x, t) or c(x, t, u), or "u".
    nu: diffusion coefficient (0 for pure transport).
    width_state, depth_state, width_char, depth_char: the two MLPs (hidden layers).
    n_xi, n_t: collocation labels x times (a tensor grid, random in t per seed).
    weights: loss weights: "characteristics", "state", "boundary".
    n_predict: label-grid size used to map back to Eulerian points.
    t_end: train and evaluate only on [t0, t_end] (e.g. before characteristics cross); the
        metrics are then those on the reference points with t <= t_end (key `t_end` added).
    balance, balance_options: loss balancing of the three terms, as for PINN
        (physolve.train.balancing; the multipliers multiply `weights`).
    causal: causal weights over time slices of the labels' times for the characteristics and
        state residuals, as for PINN (physolve.train.causal); None: off.
    """

    name = "lpinn"

    def __init__(self, velocity=None, nu: float = 0.0, width_state: int = 50, depth_state: int = 5,
                 width_char: int = 50, depth_char: int = 2, activation: str = "tanh",
                 n_xi: int = 128, n_t: int = 50, weights: dict | None = None,
                 n_predict: int = 2048, t_end: float | None = None, balance: str = "fixed",
                 balance_options: dict | None = None, causal: dict | None = None):
        self._init_balancing(balance, balance_options, causal)  # fails early, naming the key
        if t_end is not None and (not isinstance(t_end, numbers.Real) or isinstance(t_end, bool)):
            raise ValueError(f"lpinn: t_end must be a number or null, got {t_end!r}")
        self.t_end = None if t_end is None else float(t_end)
        self.velocity = _check_velocity(velocity) if velocity is not None else None
        if not isinstance(nu, numbers.Real) or nu < 0:
            raise ValueError(f"lpinn: nu must be a number >= 0, got {nu!r}")
        for key, val in {"width_state": width_state, "depth_state": depth_state,
                         "width_char": width_char, "depth_char": depth_char, "n_xi": n_xi,
                         "n_t": n_t, "n_predict": n_predict}.items():
            if not isinstance(val, int) or isinstance(val, bool) or val <= 0:
                raise ValueError(f"lpinn: {key} must be a positive integer, got {val!r}")
        allowed = {"characteristics", "state", "boundary"}
        weights = dict(weights or {})
        bad = set(weights) - allowed
        if bad:
            raise ValueError(f"lpinn: unknown weights {sorted(bad)}; allowed: {sorted(allowed)}")
        self.weights = {"characteristics": 10.0, "state": 1.0, "boundary": 10.0, **weights}
        self.nu = float(nu)
        self.arch = dict(width_state=width_state, depth_state=depth_state, width_char=width_char,
                         depth_char=depth_char, activation=activation)
        self.n_xi, self.n_t, self.n_predict = n_xi, n_t, n_predict

    # ---- setup -------------------------------------------------------------------------
    def setup(self, problem, *, dtype, device, seed=None):
        if len(problem.spatial) != 1 or problem.time is None or len(problem.outputs) != 1:
            raise ValueError("lpinn: needs one space input, one time input and one output "
                             f"(got inputs {problem.inputs}, outputs {problem.outputs})")
        velocity = self.velocity
        if velocity is None:
            declared = getattr(problem, "velocity", None)
            if declared is None:
                raise ValueError(
                    f"lpinn: cannot split the PDE of problem {problem.name!r} into transport and "
                    "the rest; declare the transport velocity with velocity= (a number, a "
                    "callable c(x, t[, u]) or 'u' for Burgers) on the solver or the problem")
            velocity = _check_velocity(declared)
        self.c = velocity
        # Output scale of the characteristics network (nondimensionalisation): |c| for a
        # constant velocity, max |u0| on the label grid for "u", 1 for a callable.
        self.c_scale = 1.0
        self.problem, self.dtype, self.device = problem, dtype, device
        inits = [c for c in problem.conditions if isinstance(c, Initial) and not c.derivative]
        if len(inits) != 1:
            raise ValueError("lpinn: the problem needs exactly one initial value condition")
        self.u0 = inits[0].target_fn
        self.periodic = any(isinstance(c, Periodic) for c in problem.conditions)
        self.dirichlet = [c for c in problem.conditions if isinstance(c, Dirichlet)]
        lo, hi = problem.domain.bbox
        ix, it = problem.inputs.index(problem.spatial[0]), problem.inputs.index(problem.time)
        self.ix, self.it = ix, it
        self.a, self.b = float(lo[ix]), float(hi[ix])
        self.t0, self.t1 = float(lo[it]), float(hi[it])
        if self.t_end is not None:
            if not self.t0 < self.t_end <= self.t1:
                raise ValueError(f"lpinn: t_end must lie in ({self.t0}, {self.t1}], got {self.t_end}")
            self.t1 = self.t_end
        seed = fresh_seed() if seed is None else seed
        torch.manual_seed(derived_seed(seed, 0))
        in_dim = 3 if self.periodic else 2
        A = self.arch
        self.net_x = MLP(in_dim, 1, A["width_char"], A["depth_char"], A["activation"]).to(device, dtype)
        self.net_u = MLP(in_dim, 1, A["width_state"], A["depth_state"], A["activation"]).to(device, dtype)
        # The correction starts at zero, so X starts as the straight characteristics
        # xi + (t - t0) c0(xi): increasing in xi wherever c0 does not fall steeply. A random
        # correction scaled by |c| folds X at once for large c, and with diffusion the chain
        # rule's 1 / X_xi^2 then blows the state residual up (measured: 2e14 at step 100).
        with torch.no_grad():
            last = self.net_x.layers[-1]
            last.weight.zero_()
            last.bias.zero_()
        g = torch.Generator().manual_seed(derived_seed(seed, 1))
        if self.periodic:
            xi = self.a + (self.b - self.a) * torch.arange(self.n_xi, dtype=torch.float64) / self.n_xi
        else:
            xi = torch.linspace(self.a, self.b, self.n_xi, dtype=torch.float64)
        t = self.t0 + (self.t1 - self.t0) * torch.rand(self.n_t, generator=g, dtype=torch.float64)
        XI, T = torch.meshgrid(xi, t, indexing="ij")
        self.xi = XI.reshape(-1).to(device, dtype)
        self.t = T.reshape(-1).to(device, dtype)
        tb = torch.linspace(self.t0, self.t1, self.n_t, dtype=torch.float64).to(device, dtype)
        self.tb = tb
        if isinstance(self.c, float):
            self.c_scale = max(abs(self.c), 1.0)
        elif self.c == "u":
            with torch.no_grad():
                u0 = self.u0(self._points(self.xi, torch.full_like(self.xi, self.t0)))
            self.c_scale = max(float(u0.abs().max()), 1e-12)
        terms = ["characteristics", "state"]
        if self.dirichlet and not self.periodic:
            terms.append("boundary")
        self._setup_balancing(terms, ("characteristics", "state"), derived_seed(seed, 3),
                              (self.t0, self.t1))
        if self.causal is not None:
            self._time_index = self.causal.chunk_index(self.t)

    def _features(self, xi, t):
        s = 2.0 * (t - self.t0) / (self.t1 - self.t0) - 1.0
        if self.periodic:
            ph = 2 * math.pi * (xi - self.a) / (self.b - self.a)
            return torch.stack([torch.cos(ph), torch.sin(ph), s], 1)
        z = 2.0 * (xi - self.a) / (self.b - self.a) - 1.0
        return torch.stack([z, s], 1)

    def _points(self, x, t):
        p = torch.empty(x.shape[0], len(self.problem.inputs), dtype=x.dtype, device=x.device)
        p[:, self.ix], p[:, self.it] = x, t
        return p

    def fields(self, xi, t):
        """X(xi, t) and u(xi, t) at labels xi (N,) and times t (N,).

        X = xi + (t - t0) (c0(xi) + s N_X), c0 the velocity at the start, c(xi, t0, u0(xi)):
        the slope X_t at t0 is exact by construction (X_t = c there), so constant velocities
        are represented exactly with N_X = 0 and Burgers starts from its inviscid
        characteristics; s = c_scale. u = u0(xi) + (t - t0) N_u."""
        f = self._features(xi, t)
        dt = (t - self.t0)
        u0, c0 = self._start(xi)
        X = xi + dt * (c0 + self.c_scale * self.net_x(f)[:, 0])
        u = u0 + dt * self.net_u(f)[:, 0]
        return X, u

    def _velocity(self, X, t, u):
        c = self.c
        if c == "u":
            return u
        if isinstance(c, float):
            return torch.full_like(X, c)
        try:
            return c(X, t, u)
        except TypeError:
            return c(X, t)

    def residuals(self, xi, t):
        """Characteristic residual X_t - c and state residual u_t - nu u_XX (chain rule)."""
        xi = xi.detach().requires_grad_(True)
        t = t.detach().requires_grad_(True)
        X, u = self.fields(xi, t)
        r_x = _grad(X, t) - self._velocity(X, t, u)
        r_u = _grad(u, t)
        if self.nu:
            # u_t - nu u_XX multiplied by (X_xi / X0_xi)^3: the chain rule without its
            # denominators, the same zeros wherever X_xi > 0. Divided by X_xi^2 (the plain
            # chain rule), a map that folds anywhere in training sends the residual and its
            # gradient through X to infinity (measured: loss 2e14 at step 100). X0_xi, the
            # stretch of the straight characteristics xi + t c0(xi), depends on no parameter;
            # dividing by its cube keeps the residual's scale where characteristics converge
            # (Burgers before its shock: X_xi falls to 0.06, and X_xi^3 alone weighted that
            # region 2e-4 times less; measured rel. L2 7.7e-3 against 1.4e-3).
            X_xi, u_xi = _grad(X, xi), _grad(u, xi)
            cleared = X_xi ** 3 * r_u - self.nu * (X_xi * _grad(u_xi, xi) - _grad(X_xi, xi) * u_xi)
            r_u = cleared / self._straight_stretch(xi, t) ** 3
        return r_x, r_u

    def _start(self, xi):
        """u0(xi) and the velocity at the start, c0(xi) = c(xi, t0, u0(xi))."""
        t0 = torch.full_like(xi, self.t0)
        u0 = self.u0(self._points(xi, t0)).reshape(-1)
        return u0, self._velocity(xi, t0, u0)

    def _straight_stretch(self, xi, t):
        """d/dxi of the straight characteristics xi + (t - t0) c0(xi), floored at
        STRETCH_FLOOR (where they have crossed); no graph to the parameters."""
        with torch.enable_grad():
            z = xi.detach().requires_grad_(True)
            _, c0 = self._start(z)
            dc0 = (torch.autograd.grad(c0.sum(), z, allow_unused=True)[0]
                   if c0.requires_grad else None)
        if dc0 is None:  # c0 does not depend on xi (a constant velocity)
            return torch.ones_like(xi)
        return (1 + (t.detach() - self.t0) * dc0.detach()).clamp_min(STRETCH_FLOOR)

    def parameters(self):
        return list(self.net_x.parameters()) + list(self.net_u.parameters())

    def _pointwise(self) -> dict[str, torch.Tensor]:
        """Pointwise residuals of the three terms (the boundary's: X - edge and u - g)."""
        r_x, r_u = self.residuals(self.xi, self.t)
        out = {"characteristics": r_x, "state": r_u}
        if self.dirichlet and not self.periodic:
            parts = []
            for edge in (self.a, self.b):
                xi = torch.full_like(self.tb, edge)
                X, u = self.fields(xi, self.tb)
                g = torch.cat([d.target_fn(self._points(xi, self.tb)).reshape(-1)
                               for d in self.dirichlet[:1]])
                parts += [X - edge, u - g]
            out["boundary"] = torch.cat(parts)
        return out

    def _objective(self, residuals):
        causal_terms = ("characteristics", "state") if self.causal is not None else ()
        return objective_terms(scaled_residuals(residuals, self.balancer, self.causal,
                                                getattr(self, "_time_index", None),
                                                causal_terms))

    def _balance_evaluate(self):
        residuals = self._pointwise()
        return self._objective(residuals), residuals

    def total_weight(self, term: str) -> float:
        """The term's weight times the balancer's multiplier."""
        return self.weights[term] * self.balancer.lam.get(term, 1.0)

    def loss(self):
        if self.balanced:
            residuals = self._pointwise()
            objective = self._objective(residuals)
            total = sum(self.total_weight(k) * v for k, v in objective.items())
            return total, {k: r.square().mean().detach() for k, r in residuals.items()}
        terms = {k: r.square().mean() for k, r in self._pointwise().items()}
        total = sum(self.weights[k] * v for k, v in terms.items())
        return total, {k: v.detach() for k, v in terms.items()}

    # ---- Eulerian predictions ------------------------------------------------------------
    def lagrangian_nodes(self, t: float, n: int | None = None):
        """Nodes X_j and states u_j of a label grid at time t (numpy, float64)."""
        n = n or self.n_predict
        if self.periodic:
            xi = self.a + (self.b - self.a) * torch.arange(n, dtype=torch.float64) / n
        else:
            xi = torch.linspace(self.a, self.b, n, dtype=torch.float64)
        xi = xi.to(self.device, self.dtype)
        with torch.no_grad():
            X, u = self.fields(xi, torch.full_like(xi, t))
        return X.double().cpu().numpy(), u.double().cpu().numpy()

    def predict(self, points):
        pts = points.to(self.device, self.dtype)
        x = pts[:, self.ix].double().cpu().numpy()
        t = pts[:, self.it].double().cpu().numpy()
        out = np.empty_like(x)
        L = self.b - self.a
        for tv in np.unique(t):
            sel = t == tv
            X, u = self.lagrangian_nodes(float(tv))
            dX = np.diff(X)
            if np.any(dX <= 0):
                j = int(np.argmax(dX <= 0))
                raise CharacteristicsCrossed(
                    f"lpinn: characteristics cross at t = {tv:.6g} near x = {X[j]:.6g} "
                    "(X no longer increasing in xi: a shock); the Eulerian field is not "
                    "single-valued there", float(tv))
            if self.periodic:
                if X[-1] - X[0] >= L:
                    raise CharacteristicsCrossed(
                        f"lpinn: characteristics overlap across the period at t = {tv:.6g}",
                        float(tv))
                Xw = self.a + np.mod(X - self.a, L)
                order = np.argsort(Xw)
                out[sel] = np.interp(self.a + np.mod(x[sel] - self.a, L), Xw[order], u[order],
                                     period=L)
            else:
                out[sel] = np.interp(x[sel], X, u)
        return torch.as_tensor(out, dtype=points.dtype, device=points.device).reshape(-1, 1)

    def metrics(self):
        """Errors on the reference's points (up to t_end where set). Where the characteristics
        have crossed, no Eulerian field exists: the errors are NaN, `crossed_at_t` says when,
        and a CharacteristicsCrossedWarning carries the message. Training goes on, since a
        map that crosses early in training (before X has learnt the transport) may untangle;
        predict itself still raises."""
        ref = self.problem.reference
        if ref is None:
            return None
        from ..train.metrics import error_metrics
        pts, vals = ref.points(), ref.values()
        extra = {}
        if self.t_end is not None:
            keep = pts[:, self.it] <= self.t_end + 1e-12
            pts, vals, extra = pts[keep], vals[keep], {"t_end": self.t_end}
        try:
            pred = self.predict(pts)[:, ref.output_index]
        except CharacteristicsCrossed as err:
            warnings.warn(f"{err}; its errors are recorded as NaN", CharacteristicsCrossedWarning)
            return {"rel_l2": math.nan, "max_abs_err": math.nan, "crossed_at_t": err.t, **extra}
        return {**error_metrics(pred, vals, ref.outputs), **extra}

    def state_dict(self):
        return {"net_x": self.net_x.state_dict(), "net_u": self.net_u.state_dict(),
                **self._balance_state()}

    def load_state_dict(self, state):
        self.net_x.load_state_dict(state["net_x"])
        self.net_u.load_state_dict(state["net_u"])
        self._load_balance_state(state)


def diffusion_chain_rule(X, u, xi):
    """u_XX from derivatives in the label xi: (u_xixi - X_xixi u_X) / X_xi^2, u_X = u_xi / X_xi."""
    X_xi, u_xi = _grad(X, xi), _grad(u, xi)
    X_xixi, u_xixi = _grad(X_xi, xi), _grad(u_xi, xi)
    u_X = u_xi / X_xi
    return (u_xixi - X_xixi * u_X) / X_xi ** 2


def _check_velocity(v):
    if isinstance(v, str):
        if v == "u":
            return "u"
        raise ValueError(f"lpinn: velocity must be a number, a callable c(x, t[, u]) or 'u', "
                         f"got the string {v!r}")
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return float(v)
    if callable(v):
        return v
    raise ValueError(f"lpinn: velocity must be a number, a callable c(x, t[, u]) or 'u', got {v!r}")
