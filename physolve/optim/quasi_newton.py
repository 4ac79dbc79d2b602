"""The quasi-Newton iteration shared by L-BFGS and the dense BFGS / self-scaled Broyden family.

One `step` is one iteration x+ = x + t d with d = -H g and t from the strong Wolfe line search
(physolve.optim.linesearch); the loss and gradient found by the line search are kept for the next
step, so a long stage wastes no evaluations. Subclasses say how d is formed from the curvature
pairs (s, y) = (x+ - x, g+ - g) and how the pairs are stored.

Stops are explicit: `stop_reason` is set when the gradient is below tolerance, when a step
changes nothing, or when the line search fails even from steepest descent (a failed search with
curvature information first retries from the gradient direction, which forgets the
approximation; this is what happens near machine precision when the model is stale).
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .flat import FlatOptimizer
from .linesearch import strong_wolfe


class QuasiNewton(FlatOptimizer):
    """Base class; see LBFGS and DenseQuasiNewton for the parameters."""

    def __init__(self, params, lr: float = 1.0, c1: float = 1e-4, c2: float = 0.9,
                 tolerance_grad: float = 0.0, tolerance_change: float = 0.0, max_ls: int = 25,
                 approx_wolfe: float = 1e-10, **defaults):
        name = type(self).__name__
        if not 0 < c1 < c2 < 1:
            raise ValueError(f"{name} needs 0 < c1 < c2 < 1, got c1={c1}, c2={c2}")
        if not lr > 0:
            raise ValueError(f"{name}: lr (the first trial step) must be > 0, got {lr}")
        if not (isinstance(max_ls, int) and max_ls >= 1):
            raise ValueError(f"{name}: max_ls must be an integer >= 1, got {max_ls!r}")
        super().__init__(params, dict(lr=lr, c1=c1, c2=c2, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, max_ls=max_ls,
                                      approx_wolfe=approx_wolfe, **defaults))
        self.approximate_steps = 0  # steps accepted by the approximate Wolfe conditions

    # --- what subclasses provide ----------------------------------------------------------------
    def _direction(self, g: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _update(self, s: torch.Tensor, y: torch.Tensor, g: torch.Tensor, t: float) -> None:
        """Take the curvature pair (s, y); g is the gradient at the start of the step."""
        raise NotImplementedError

    def _reset(self) -> None:
        """Forget the curvature information."""
        raise NotImplementedError

    def _has_curvature(self) -> bool:
        raise NotImplementedError

    # --- the iteration --------------------------------------------------------------------------
    @torch.no_grad()
    def step(self, closure: Callable) -> float:
        """One iteration. `closure` zeroes the gradients, evaluates and backpropagates the
        loss and returns it."""
        group = self.param_groups[0]
        state = self._flat_state()
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

        result, d = None, None
        for attempt in range(2):
            d = self._direction(g) if self._has_curvature() else -g
            gtd = float(g @ d)
            if not gtd < 0:  # lost descent (numerical trouble): forget the curvature
                self._reset()
                d, gtd = -g, float(-(g @ g))
            t0 = group["lr"] if self._has_curvature() else \
                group["lr"] * min(1.0, 1.0 / float(g.abs().sum()))

            def phi(t):
                return self._evaluate(closure, x + t * d)

            result = strong_wolfe(phi, d, f, gtd, t0, group["c1"], group["c2"], group["max_ls"],
                                  group["approx_wolfe"])
            if result.t is not None or not self._has_curvature():
                break
            self._reset()  # retry once from steepest descent
        if result.t is None:
            self._set(x)
            self.stop_reason = "line search found no point with a decrease, even along -grad"
            return f
        self.approximate_steps += result.approximate
        s = d * result.t
        self._update(s, result.g - g, g, result.t)
        state["f"], state["g"] = result.f, result.g
        self._set(x + s)
        tol = group["tolerance_change"]
        if abs(result.f - f) <= tol * max(1.0, abs(f)) and float(s.abs().max()) <= tol:
            self.stop_reason = f"no progress: loss and step below tolerance_change={tol:g}"
        return result.f
