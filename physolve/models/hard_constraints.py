"""A differentiable constrained-solve layer: batched Levenberg-Marquardt with implicit gradients.

Given a residual r(w; theta) in R^M of weights w in R^N (a basis expansion u = Phi w whose PDE,
initial and boundary residuals are stacked in r) and tensors theta that r depends on (the basis
values and derivatives a network produced), the layer returns

    w*(theta) = argmin_w |r(w; theta)|^2

for a batch of E independent problems at once (experts x samples: w is (E, N), r is (E, M)).

Forward: Levenberg-Marquardt in float64. With J = dr/dw (built by N forward-mode products,
vectorised with torch.func), A = J^T J and g = J^T r, each iteration solves the batched normal
equations (A + mu diag(A)) delta = -g by Cholesky and accepts the steps that lower |r|^2 (gain
ratio > 0), with Nielsen's damping update per problem. A problem has converged when
|r| <= atol, or |g|_inf <= gtol (1 + |r|^2), or an accepted step is below xtol (|w| + xtol).

Backward (never through the iterations): at the optimum F(w*, theta) = J^T r = 0, so by the
implicit function theorem dw*/dtheta = -H^{-1} dF/dtheta with H = dF/dw. The adjoint of an
incoming gradient wbar is v = H^{-1} wbar, and thetabar = -(dF/dtheta)^T v.

- adjoint="gauss_newton" (default) takes H = J^T J -- the normal-equation matrix of the last LM
  iterate, reused -- and dF/dtheta = J^T dr/dtheta, so thetabar = -(dr/dtheta)^T (J v): one
  vector-Jacobian product of r. It is exact when the residual vanishes at the optimum (a
  consistent system, as a hard constraint intends) and the Gauss-Newton approximation otherwise.
- adjoint="exact" uses the full Hessian H = J^T J + sum_k r_k Hess r_k and the full mixed
  derivative (second-order autograd, N extra backward passes); exact for any residual.

Non-convergence is never silent: the result carries a `converged` flag per problem, and the
layer warns (`ConstraintNotConverged`, on_failure="warn"), raises (on_failure="raise") or does
neither (on_failure="ignore").
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

ADJOINTS = ("gauss_newton", "exact")
ON_FAILURE = ("warn", "raise", "ignore")


class ConstraintNotConverged(RuntimeWarning):
    """Levenberg-Marquardt stopped at max_iter before its tolerances were met."""


class ConstraintSolveError(RuntimeError):
    """Raised instead of the warning when on_failure="raise"."""


@dataclass
class LMOptions:
    """Tolerances and limits of the batched Levenberg-Marquardt solve (see the module doc)."""

    max_iter: int = 50
    atol: float = 1e-12
    gtol: float = 1e-10
    xtol: float = 1e-12
    mu0: float = 1e-3
    adjoint: str = "gauss_newton"
    on_failure: str = "warn"

    def __post_init__(self):
        if not isinstance(self.max_iter, int) or self.max_iter < 1:
            raise ValueError(f"constrained solve: max_iter must be an integer >= 1, "
                             f"got {self.max_iter!r}")
        for key in ("atol", "gtol", "xtol", "mu0"):
            val = getattr(self, key)
            if not isinstance(val, (int, float)) or val < 0:
                raise ValueError(f"constrained solve: {key} must be a number >= 0, got {val!r}")
        if self.adjoint not in ADJOINTS:
            raise ValueError(f"constrained solve: adjoint must be one of {ADJOINTS}, "
                             f"got {self.adjoint!r}")
        if self.on_failure not in ON_FAILURE:
            raise ValueError(f"constrained solve: on_failure must be one of {ON_FAILURE}, "
                             f"got {self.on_failure!r}")


@dataclass
class ConstrainedSolution:
    """w (E, N) differentiable in theta; converged (E,) bool; iterations; final |r| per problem."""

    w: torch.Tensor
    converged: torch.Tensor
    iterations: int
    residual_norm: torch.Tensor


def batched_jacobian(fn: Callable, w: torch.Tensor, params: Sequence[torch.Tensor]
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """r = fn(w, *params) (E, M) and J = dr/dw (E, M, N) for independent problems (row e of r
    depends on row e of w only): N forward-mode products with tangents e_i in every row."""
    E, N = w.shape
    tangents = torch.eye(N, dtype=w.dtype, device=w.device)[:, None, :].expand(N, E, N)

    def column(t):
        return torch.func.jvp(lambda v: fn(v, *params), (w,), (t,))

    r = fn(w, *params)
    cols = torch.func.vmap(lambda t: column(t)[1])(tangents)    # (N, E, M)
    return r, cols.permute(1, 2, 0)


def _cholesky_solve(A: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Solve A x = b for a batch of symmetric positive (semi)definite A; a batch whose
    Cholesky fails falls back to least squares."""
    L, info = torch.linalg.cholesky_ex(A)
    if bool((info == 0).all()):
        return torch.cholesky_solve(b.unsqueeze(-1), L).squeeze(-1)
    return torch.linalg.lstsq(A, b.unsqueeze(-1)).solution.squeeze(-1)


def levenberg_marquardt(fn: Callable, w0: torch.Tensor, params: Sequence[torch.Tensor],
                        opts: LMOptions):
    """The forward solve without graph: (w, converged, iterations, |r|, J at w)."""
    w = w0.detach().clone()
    E = w.shape[0]
    mu = torch.full((E,), float(opts.mu0), dtype=w.dtype, device=w.device)
    nu = torch.full_like(mu, 2.0)
    converged = torch.zeros(E, dtype=torch.bool, device=w.device)
    r, J = batched_jacobian(fn, w, params)
    cost = r.square().sum(-1)
    it = 0
    tiny = torch.finfo(w.dtype).tiny
    for it in range(1, opts.max_iter + 1):
        A = J.transpose(1, 2) @ J
        g = (J.transpose(1, 2) @ r.unsqueeze(-1)).squeeze(-1)
        converged |= (cost.sqrt() <= opts.atol) | (g.abs().amax(-1) <= opts.gtol * (1 + cost))
        if bool(converged.all()):
            break
        # only the problems still iterating are evaluated: a batch of experts costs what its
        # unconverged members cost, not its size times the slowest one's iterations
        act = (~converged).nonzero().squeeze(1)
        A_a, g_a, w_a, cost_a, mu_a, nu_a = A[act], g[act], w[act], cost[act], mu[act], nu[act]
        diag = torch.diagonal(A_a, dim1=1, dim2=2)
        scale = diag + 1e-12 * diag.amax(-1, keepdim=True) + tiny
        delta = _cholesky_solve(A_a + torch.diag_embed(mu_a[:, None] * scale), -g_a)
        trial = w_a + delta
        r_new = fn(trial, *[p_.index_select(0, act) for p_ in params])
        cost_new = r_new.square().sum(-1)
        predicted = -(2 * (delta * g_a).sum(-1)
                      + (delta * (A_a @ delta.unsqueeze(-1)).squeeze(-1)).sum(-1))
        rho = (cost_a - cost_new) / predicted.clamp_min(tiny)
        # a step that leaves |r|^2 unchanged to rounding is accepted: near the optimum the
        # decrease falls below the precision of |r|^2 long before w stops moving
        roundoff = 16 * torch.finfo(w.dtype).eps * cost_a
        accept = (cost_new <= cost_a + roundoff) & torch.isfinite(cost_new)
        small = delta.norm(dim=-1) <= opts.xtol * (w_a.norm(dim=-1) + opts.xtol)
        w[act] = torch.where(accept[:, None], trial, w_a)
        mu[act] = torch.where(accept, mu_a * torch.clamp(1 - (2 * rho - 1) ** 3, min=1 / 3),
                              mu_a * nu_a)
        nu[act] = torch.where(accept, torch.full_like(nu_a, 2.0), 2 * nu_a)
        converged[act] |= accept & small
        moved = act[accept]
        if moved.numel():
            r_m, J_m = batched_jacobian(fn, w[moved], [p_.index_select(0, moved)
                                                       for p_ in params])
            r[moved], J[moved] = r_m, J_m
            cost[moved] = r_m.square().sum(-1)
    else:
        A = J.transpose(1, 2) @ J
        g = (J.transpose(1, 2) @ r.unsqueeze(-1)).squeeze(-1)
        converged |= (cost.sqrt() <= opts.atol) | (g.abs().amax(-1) <= opts.gtol * (1 + cost))
    return w, converged, it, cost.sqrt(), J


class _ConstrainedSolve(torch.autograd.Function):
    """w* = argmin |fn(w, *params)|^2 with implicit-function-theorem gradients in params."""

    @staticmethod
    def forward(ctx, fn, opts, w0, *params):
        w, converged, iterations, rnorm, J = levenberg_marquardt(fn, w0, params, opts)
        ctx.fn, ctx.opts = fn, opts
        ctx.save_for_backward(w, J, *params)
        its = torch.tensor(iterations)
        ctx.mark_non_differentiable(converged, rnorm, its)
        return w, converged, rnorm, its

    @staticmethod
    def backward(ctx, w_bar, _conv_bar, _rnorm_bar, _its_bar):
        w, J, *params = ctx.saved_tensors
        needs = ctx.needs_input_grad[3:]
        if not any(needs):
            return (None, None, None, *[None] * len(params))
        fn, opts = ctx.fn, ctx.opts
        with torch.enable_grad():
            theta = [p.detach().requires_grad_(n) for p, n in zip(params, needs)]
            wanted = [t for t, n in zip(theta, needs) if n]
            if opts.adjoint == "gauss_newton":
                A = J.transpose(1, 2) @ J
                v = _cholesky_solve(A, w_bar)
                r = fn(w.detach(), *theta)
                grads = torch.autograd.grad(r, wanted, grad_outputs=-(J @ v.unsqueeze(-1)
                                                                      ).squeeze(-1),
                                            allow_unused=True)
            else:
                wv = w.detach().requires_grad_(True)
                r = fn(wv, *theta)
                F = torch.autograd.grad(0.5 * r.square().sum(), wv, create_graph=True)[0]
                N = w.shape[1]
                rows = []
                for i in range(N):     # H[e, i, :] = d F[e, i] / d w[e] (problems independent)
                    e_i = torch.zeros_like(F)
                    e_i[:, i] = 1
                    rows.append(torch.autograd.grad(F, wv, grad_outputs=e_i,
                                                    retain_graph=True)[0])
                H = torch.stack(rows, 1)
                v = torch.linalg.solve(H, w_bar.unsqueeze(-1)).squeeze(-1)
                grads = torch.autograd.grad(F, wanted, grad_outputs=-v, allow_unused=True)
        out, k = [], 0
        for t, n in zip(theta, needs):
            if n:
                g = grads[k]
                out.append(torch.zeros_like(t) if g is None else g)
                k += 1
            else:
                out.append(None)
        return (None, None, None, *out)


def constrained_solve(fn: Callable, w0: torch.Tensor, params: Sequence[torch.Tensor],
                      opts: LMOptions | None = None, **options) -> ConstrainedSolution:
    """Solve min_w |fn(w, *params)|^2 for E independent problems (w0: (E, N), fn -> (E, M))
    in float64, differentiable in `params` by the implicit function theorem.

    fn must be a pure function of its arguments written with torch operations (it is called
    under torch.func transforms); row e of its output may depend on row e of w only, and every
    tensor in params has the problems along its first axis (fn is called on sub-batches: the
    problems that have converged are no longer evaluated).
    `options` (max_iter, atol, gtol, xtol, mu0, adjoint, on_failure) build LMOptions.
    """
    opts = opts or LMOptions(**options)
    if w0.ndim != 2:
        raise ValueError(f"constrained solve: w0 must be (problems, weights), got shape "
                         f"{tuple(w0.shape)}")
    dtype = params[0].dtype if params else w0.dtype
    params64 = [p.to(torch.float64) for p in params]
    w, converged, rnorm, its = _ConstrainedSolve.apply(fn, opts, w0.to(torch.float64),
                                                        *params64)
    iterations = int(its)
    if not bool(converged.all()):
        bad = int((~converged).sum())
        msg = (f"constrained solve: {bad} of {len(converged)} problems did not converge in "
               f"max_iter={opts.max_iter} Levenberg-Marquardt iterations (largest |r| "
               f"{float(rnorm.max()):.3e}); raise max_iter or loosen atol/gtol/xtol")
        if opts.on_failure == "raise":
            raise ConstraintSolveError(msg)
        if opts.on_failure == "warn":
            warnings.warn(msg, ConstraintNotConverged, stacklevel=2)
    return ConstrainedSolution(w.to(dtype), converged, iterations, rnorm)

