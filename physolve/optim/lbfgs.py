"""L-BFGS with a strong Wolfe line search, written for full-batch physics-informed losses.

Differences from torch.optim.LBFGS that matter for PINNs:
- one `step` is one quasi-Newton iteration, and the loss and gradient found by the line search
  are reused by the next step, so running it for many steps wastes no evaluations;
- it never stops silently: when it cannot continue it sets `stop_reason` (gradient tolerance,
  no progress, line search failure) and the trainer ends the stage saying why;
- its history survives from step to step, so a stage that follows Adam starts from Adam's
  parameters and builds curvature from there; `refresh()` re-evaluates after the objective
  changes (new collocation points) while keeping the curvature pairs.
The line search is Nocedal & Wright's Algorithm 3.5/3.6 with safeguarded cubic interpolation.
"""
from __future__ import annotations

import math
from typing import Callable

import torch


def _cubic_min(a, fa, ga, b, fb, gb, lo, hi):
    """Minimiser of the cubic through (a, fa, ga), (b, fb, gb), clipped to [lo, hi]."""
    d1 = ga + gb - 3 * (fa - fb) / (a - b)
    disc = d1 * d1 - ga * gb
    if disc < 0 or not math.isfinite(disc):
        return (lo + hi) / 2
    d2 = math.copysign(math.sqrt(disc), b - a)
    denom = gb - ga + 2 * d2
    if denom == 0:
        return (lo + hi) / 2
    x = b - (b - a) * (gb + d2 - d1) / denom
    return min(max(x, lo), hi) if math.isfinite(x) else (lo + hi) / 2


class LBFGS(torch.optim.Optimizer):
    """Limited-memory BFGS with strong Wolfe line search.

    Parameters
    ----------
    lr: scale of the first trial step of each line search (1 is the natural choice).
    history_size: number of curvature pairs kept (memory: 2 * history_size * n parameters).
    c1, c2: sufficient-decrease and curvature constants of the strong Wolfe conditions.
    tolerance_grad: stop when the largest gradient entry falls below this.
    tolerance_change: stop when a step changes neither the loss nor the parameters by more.
    max_ls: function evaluations allowed per line search.
    """

    def __init__(self, params, lr: float = 1.0, history_size: int = 100, c1: float = 1e-4,
                 c2: float = 0.9, tolerance_grad: float = 0.0, tolerance_change: float = 0.0,
                 max_ls: int = 25):
        if not 0 < c1 < c2 < 1:
            raise ValueError(f"LBFGS needs 0 < c1 < c2 < 1, got c1={c1}, c2={c2}")
        if history_size < 1:
            raise ValueError(f"LBFGS history_size must be >= 1, got {history_size}")
        super().__init__(params, dict(lr=lr, history_size=history_size, c1=c1, c2=c2,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, max_ls=max_ls))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS supports a single parameter group")
        self._params = self.param_groups[0]["params"]
        self.stop_reason: str | None = None
        self.evaluations = 0

    # --- flat views of the parameters -----------------------------------------------------
    def _flat(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self._params])

    def _set(self, x: torch.Tensor) -> None:
        offset = 0
        with torch.no_grad():
            for p in self._params:
                n = p.numel()
                p.copy_(x[offset:offset + n].view_as(p))
                offset += n

    def _evaluate(self, closure: Callable, x: torch.Tensor) -> tuple[float, torch.Tensor]:
        self._set(x)
        with torch.enable_grad():
            loss = closure()
        self.evaluations += 1
        grad = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                          for p in self._params])
        f = float(loss)
        return (f if math.isfinite(f) else math.inf), grad

    # --- the iteration ----------------------------------------------------------------------
    def refresh(self) -> None:
        """The objective changed: re-evaluate at the next step, keep the curvature pairs."""
        self.state["lbfgs"].pop("f", None)

    @torch.no_grad()
    def step(self, closure: Callable) -> float:
        """One iteration. `closure` zeroes the gradients, evaluates and backpropagates the
        loss and returns it."""
        group = self.param_groups[0]
        state = self.state.setdefault("lbfgs", {"s": [], "y": [], "rho": []})
        self.stop_reason = None
        x = self._flat()
        if "f" not in state:
            state["f"], state["g"] = self._evaluate(closure, x)
        f, g = state["f"], state["g"]
        if not math.isfinite(f):
            self.stop_reason = "loss is not finite at the current point"
            return f
        if g.abs().max() <= group["tolerance_grad"]:
            self.stop_reason = f"gradient below tolerance_grad={group['tolerance_grad']:g}"
            return f

        d = self._direction(g, state)
        gtd = float(g @ d)
        if not gtd < 0:  # lost descent (numerical trouble): restart from steepest descent
            state["s"].clear(); state["y"].clear(); state["rho"].clear()
            d, gtd = -g, float(-(g @ g))
        if not state["s"]:
            t0 = group["lr"] * min(1.0, 1.0 / float(g.abs().sum()))
        else:
            t0 = group["lr"]
        t, f_new, g_new = self._line_search(closure, x, f, g, d, gtd, t0, group)
        if t is None:
            self._set(x)
            self.stop_reason = "line search found no point with sufficient decrease"
            return f
        s = d * t
        y = g_new - g
        sy = float(s @ y)
        if sy > 1e-10 * float(y @ y):  # keep the inverse Hessian approximation positive definite
            if len(state["s"]) == group["history_size"]:
                state["s"].pop(0); state["y"].pop(0); state["rho"].pop(0)
            state["s"].append(s); state["y"].append(y); state["rho"].append(1.0 / sy)
        state["f"], state["g"] = f_new, g_new
        self._set(x + s)
        tol = group["tolerance_change"]
        if abs(f_new - f) <= tol * max(1.0, abs(f)) and float(s.abs().max()) <= tol:
            self.stop_reason = f"no progress: loss and step below tolerance_change={tol:g}"
        return f_new

    def _direction(self, g: torch.Tensor, state: dict) -> torch.Tensor:
        """Two-loop recursion: -H g with the initial scaling s'y / y'y."""
        q = -g.clone()
        alphas = []
        for s, y, rho in zip(reversed(state["s"]), reversed(state["y"]), reversed(state["rho"])):
            a = rho * float(s @ q)
            q.add_(y, alpha=-a)
            alphas.append(a)
        if state["s"]:
            s, y = state["s"][-1], state["y"][-1]
            q.mul_(float(s @ y) / float(y @ y))
        for (s, y, rho), a in zip(zip(state["s"], state["y"], state["rho"]), reversed(alphas)):
            b = rho * float(y @ q)
            q.add_(s, alpha=a - b)
        return q

    def _line_search(self, closure, x, f0, g0, d, gtd0, t, group):
        """Step length satisfying the strong Wolfe conditions, or None."""
        c1, c2, budget = group["c1"], group["c2"], group["max_ls"]
        phi = lambda a: self._evaluate(closure, x + a * d)  # noqa: E731
        t_prev, f_prev, gtd_prev, g_prev = 0.0, f0, gtd0, g0
        best = (0.0, f0, g0)
        for i in range(budget):
            f_t, g_t = phi(t)
            gtd_t = float(g_t @ d) if math.isfinite(f_t) else math.inf
            if f_t < best[1]:
                best = (t, f_t, g_t)
            if f_t > f0 + c1 * t * gtd0 or (i > 0 and f_t >= f_prev) or not math.isfinite(f_t):
                return self._zoom(phi, d, f0, gtd0, (t_prev, f_prev, gtd_prev, g_prev),
                                  (t, f_t, gtd_t, g_t), c1, c2, budget - i - 1, best)
            if abs(gtd_t) <= -c2 * gtd0:
                return t, f_t, g_t
            if gtd_t >= 0:
                return self._zoom(phi, d, f0, gtd0, (t, f_t, gtd_t, g_t),
                                  (t_prev, f_prev, gtd_prev, g_prev), c1, c2, budget - i - 1, best)
            # Extrapolate: cubic step beyond t, between 1.1 t and 10 t.
            t_next = _cubic_min(t_prev, f_prev, gtd_prev, t, f_t, gtd_t, 1.1 * t, 10 * t)
            t_prev, f_prev, gtd_prev, g_prev = t, f_t, gtd_t, g_t
            t = t_next
        return best if best[0] > 0 else (None, None, None)

    @staticmethod
    def _zoom(phi, d, f0, gtd0, lo, hi, c1, c2, budget, best):
        """Shrink the bracket [lo, hi] (lo has the lower loss) to a strong Wolfe point."""
        for _ in range(max(budget, 0)):
            (a_lo, f_lo, g_lo, G_lo), (a_hi, f_hi, g_hi, _) = lo, hi
            left, right = min(a_lo, a_hi), max(a_lo, a_hi)
            width = right - left
            if width <= 1e-16 * max(1.0, right):
                break
            if math.isfinite(f_hi) and math.isfinite(g_hi):
                t = _cubic_min(a_lo, f_lo, g_lo, a_hi, f_hi, g_hi, left, right)
            else:
                t = (left + right) / 2
            # Stay away from the ends so the bracket really shrinks.
            t = min(max(t, left + 0.1 * width), right - 0.1 * width)
            f_t, G_t = phi(t)
            g_t = float(G_t @ d) if math.isfinite(f_t) else math.inf
            if f_t < best[1]:
                best = (t, f_t, G_t)
            if f_t > f0 + c1 * t * gtd0 or f_t >= f_lo or not math.isfinite(f_t):
                hi = (t, f_t, g_t, G_t)
            else:
                if abs(g_t) <= -c2 * gtd0:
                    return t, f_t, G_t
                if g_t * (a_hi - a_lo) >= 0:
                    hi = lo
                lo = (t, f_t, g_t, G_t)
        # No strong Wolfe point within budget: accept the best decrease found, if any.
        return best if best[0] > 0 else (None, None, None)
