"""Levenberg-Marquardt (damped Gauss-Newton) on the residual vector.

The loss is F(x) = |r(x)|^2 with r the solver's residual_vector() (scaled so that F is the
weighted PINN loss). With J = dr/dx, g = J^T r and A = J^T J, one iteration solves
    (A + mu D) delta = -g,     D = I ("identity") or diag(A) ("marquardt"),
by Cholesky (falling back to least squares when A + mu D is numerically singular) and accepts
x + delta when the gain ratio
    rho = (F(x) - F(x + delta)) / (F(x) - |r + J delta|^2),
    F(x) - |r + J delta|^2 = -(2 delta'g + delta'A delta),
is positive. The damping adapts by Nielsen's rule (Nielsen 1999; Madsen, Nielsen & Tingleff
2004): on acceptance mu <- mu max(1/3, 1 - (2 rho - 1)^3), nu <- 2; on rejection mu <- mu nu,
nu <- 2 nu, and the same A, g are reused for the next trial. Small mu is Gauss-Newton, large mu
a short gradient step.

The Jacobian is built column by column in forward mode: J v = d/du (J^T u . v) at u = 0 (a
reverse pass differentiated once more), batched over `chunk_size` columns. It costs about
three backward passes per parameter, so LM suits small networks with few residuals.
Memory: J has N_res x N_params entries and A has N_params^2 (both in the parameters' dtype);
`max_memory` (bytes) is checked before allocation.

Several processes (data parallel): each rank's residual vector covers its own shard, so the
vectors cannot be joined, but the normal equations can. With `reduce` the mean over ranks
(the trainer sets physolve.train.distributed.all_reduce_mean under torch.distributed), A, g
and every F entering the gain ratio are reduced: F is then the loss on the union of the
shards, every rank solves the same system and takes the identical step. Each rank forms only
its own J (N_res / ranks rows); the reduction moves N_params^2 numbers per linearisation.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .flat import FlatOptimizer, check_memory

DAMPING = ("identity", "marquardt")


def jacobian(r: torch.Tensor, params: list[torch.Tensor], chunk_size: int = 64) -> torch.Tensor:
    """dr/dparams (N_res, N_params) for a residual vector r built with a graph to params."""
    u = torch.zeros_like(r, requires_grad=True)
    grads = torch.autograd.grad(r, params, grad_outputs=u, create_graph=True, allow_unused=True)
    Jtu = torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1)
                     for g, p in zip(grads, params)])
    n = Jtu.numel()
    J = torch.zeros(r.numel(), n, dtype=r.dtype, device=r.device)
    if not Jtu.requires_grad:  # r does not depend on the parameters
        return J
    for j0 in range(0, n, chunk_size):
        j1 = min(n, j0 + chunk_size)
        V = torch.zeros(j1 - j0, n, dtype=r.dtype, device=r.device)
        V[torch.arange(j1 - j0), torch.arange(j0, j1)] = 1
        (JV,) = torch.autograd.grad(Jtu, u, grad_outputs=V, is_grads_batched=True,
                                    retain_graph=True, allow_unused=True)
        if JV is not None:
            J[:, j0:j1] = JV.T
    return J


class LevenbergMarquardt(FlatOptimizer):
    """Levenberg-Marquardt with Nielsen's damping update.

    `step(closure)`: the closure returns the residual vector r (with its graph to the
    parameters); the trainer passes the solver's residual_vector.

    Parameters
    ----------
    damping: initial mu, relative to max(diag(A)) ("identity") or absolute ("marquardt").
    damping_mode: "identity" (D = I) or "marquardt" (D = diag(A), scale invariant).
    max_tries: rejected trials allowed per step before the stage stops.
    tolerance_grad, tolerance_change: stop when max|g| or the relative loss change falls below.
    chunk_size: Jacobian columns per batched pass.
    max_memory: bytes J (N_res x N_params) and A (N_params^2) may take together.

    Attribute `reduce` (a tensor -> tensor map, default the identity): applied to A, g and
    |r|^2 so that they are the mean over processes (see the module docstring).
    """

    def __init__(self, params, damping: float = 1e-3, damping_mode: str = "identity",
                 max_tries: int = 20, tolerance_grad: float = 0.0,
                 tolerance_change: float = 0.0, chunk_size: int = 64,
                 max_memory: float = 2 * 2**30):
        if damping_mode not in DAMPING:
            raise ValueError(f"LevenbergMarquardt: unknown damping_mode {damping_mode!r}; "
                             f"choose one of: {', '.join(DAMPING)}")
        if not damping > 0:
            raise ValueError(f"LevenbergMarquardt: damping must be > 0, got {damping}")
        super().__init__(params, dict(damping=damping, damping_mode=damping_mode,
                                      max_tries=max_tries, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, chunk_size=chunk_size,
                                      max_memory=max_memory))
        self.reduce: Callable[[torch.Tensor], torch.Tensor] = lambda t: t

    def _sum_of_squares(self, r: torch.Tensor) -> float:
        rd = r.detach()
        return float(self.reduce(rd @ rd))

    def refresh(self) -> None:
        self._flat_state().pop("r", None)

    def _linearise(self, r: torch.Tensor) -> dict:
        group = self.param_groups[0]
        n = self.numel
        check_memory("lm", n, (r.numel() * n + 2 * n * n) * r.element_size(),
                     group["max_memory"])
        J = jacobian(r, self._params, group["chunk_size"])
        rd = r.detach()
        return {"r": rd, "f": self._sum_of_squares(rd), "A": self.reduce(J.T @ J),
                "g": self.reduce(J.T @ rd)}

    def _residual(self, closure: Callable, x: torch.Tensor) -> torch.Tensor:
        self._set(x)
        with torch.enable_grad():
            r = closure()
        self.evaluations += 1
        return r

    def step(self, closure: Callable) -> float:
        group = self.param_groups[0]
        state = self._flat_state()
        self.stop_reason = None
        x = self._flat()
        if "r" not in state:
            state.update(self._linearise(self._residual(closure, x)))
            state.setdefault("nu", 2.0)
            if "mu" not in state:
                scale = 1.0 if group["damping_mode"] == "marquardt" else \
                    float(state["A"].diagonal().max())
                state["mu"] = group["damping"] * max(scale, 1e-300)
        f, A, g = state["f"], state["A"], state["g"]
        if not math.isfinite(f):
            self.stop_reason = "loss is not finite at the current point"
            return f
        if float(g.abs().max()) <= group["tolerance_grad"]:
            self.stop_reason = f"gradient below tolerance_grad={group['tolerance_grad']:g}"
            return f
        D = A.diagonal().clamp_min(1e-300) if group["damping_mode"] == "marquardt" else \
            torch.ones_like(g)
        for _ in range(group["max_tries"]):
            mu, nu = state["mu"], state["nu"]
            delta = self._solve(A + torch.diag(mu * D), -g)
            predicted = -float(2 * (delta @ g) + delta @ (A @ delta))
            r_new = self._residual(closure, x + delta)
            f_new = self._sum_of_squares(r_new)
            rho = (f - f_new) / predicted if predicted > 0 else -1.0
            if math.isfinite(f_new) and rho > 0:
                state["mu"] = mu * max(1 / 3, 1 - (2 * rho - 1) ** 3)
                state["nu"] = 2.0
                state.update(self._linearise(r_new))
                if abs(f - f_new) <= group["tolerance_change"] * max(abs(f), 1e-300):
                    self.stop_reason = (f"no progress: relative loss change below "
                                        f"tolerance_change={group['tolerance_change']:g}")
                return f_new
            state["mu"], state["nu"] = mu * nu, nu * 2
        self._set(x)
        self.stop_reason = (f"no decrease in {group['max_tries']} trials; damping grew to "
                            f"{state['mu']:.3g}")
        return f

    @staticmethod
    def _solve(M: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        L, info = torch.linalg.cholesky_ex(M)
        if int(info) == 0:
            return torch.cholesky_solve(b[:, None], L)[:, 0]
        return torch.linalg.lstsq(M, b[:, None]).solution[:, 0]
