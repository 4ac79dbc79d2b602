"""L-BFGS with a strong Wolfe line search, written for full-batch physics-informed losses.

Differences from torch.optim.LBFGS that matter for PINNs:
- one `step` is one quasi-Newton iteration, and the loss and gradient found by the line search
  are reused by the next step, so running it for many steps wastes no evaluations;
- it never stops silently: when it cannot continue it sets `stop_reason` (gradient tolerance,
  no progress, line search failure) and the trainer ends the stage saying why;
- its history survives from step to step, so a stage that follows Adam starts from Adam's
  parameters and builds curvature from there; `refresh()` re-evaluates after the objective
  changes (new collocation points) while keeping the curvature pairs;
- near machine precision the line search falls back to Hager & Zhang's approximate Wolfe
  conditions instead of failing on round-off (physolve.optim.linesearch).
"""
from __future__ import annotations

import torch

from .quasi_newton import QuasiNewton


class LBFGS(QuasiNewton):
    """Limited-memory BFGS with strong Wolfe line search.

    Parameters
    ----------
    lr: scale of the first trial step of each line search (1 is the natural choice).
    history_size: number of curvature pairs kept (memory: 2 * history_size * n parameters).
    c1, c2: sufficient-decrease and curvature constants of the strong Wolfe conditions.
    tolerance_grad: stop when the largest gradient entry falls below this.
    tolerance_change: stop when a step changes neither the loss nor the parameters by more.
    max_ls: function evaluations allowed per line search.
    approx_wolfe: relative loss increase the approximate Wolfe fallback tolerates (0: off).
    """

    def __init__(self, params, lr: float = 1.0, history_size: int = 100, c1: float = 1e-4,
                 c2: float = 0.9, tolerance_grad: float = 0.0, tolerance_change: float = 0.0,
                 max_ls: int = 25, approx_wolfe: float = 1e-10):
        if not (isinstance(history_size, int) and history_size >= 1):
            raise ValueError(f"LBFGS history_size must be an integer >= 1, got {history_size!r}")
        super().__init__(params, lr=lr, c1=c1, c2=c2, tolerance_grad=tolerance_grad,
                         tolerance_change=tolerance_change, max_ls=max_ls,
                         approx_wolfe=approx_wolfe, history_size=history_size)

    @property
    def _pairs(self) -> dict:
        """Curvature pairs, kept in the optimizer state (so state_dict round-trips them)."""
        return self._flat_state().setdefault("pairs", {"s": [], "y": [], "rho": []})

    def _has_curvature(self) -> bool:
        return bool(self._pairs["s"])

    def _reset(self) -> None:
        for v in self._pairs.values():
            v.clear()

    def _update(self, s, y, g, t) -> None:
        sy = float(s @ y)
        if sy > 1e-10 * float(y @ y):  # keep the inverse Hessian approximation positive definite
            pairs = self._pairs
            if len(pairs["s"]) == self.param_groups[0]["history_size"]:
                for v in pairs.values():
                    v.pop(0)
            pairs["s"].append(s); pairs["y"].append(y); pairs["rho"].append(1.0 / sy)

    def _direction(self, g: torch.Tensor) -> torch.Tensor:
        """Two-loop recursion: -H g with the initial scaling s'y / y'y."""
        S, Y, R = self._pairs["s"], self._pairs["y"], self._pairs["rho"]
        q = -g.clone()
        alphas = []
        for s, y, rho in zip(reversed(S), reversed(Y), reversed(R)):
            a = rho * float(s @ q)
            q.add_(y, alpha=-a)
            alphas.append(a)
        s, y = S[-1], Y[-1]
        q.mul_(float(s @ y) / float(y @ y))
        for (s, y, rho), a in zip(zip(S, Y, R), reversed(alphas)):
            b = rho * float(y @ q)
            q.add_(s, alpha=a - b)
        return q
