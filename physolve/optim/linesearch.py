"""Strong Wolfe line search shared by every quasi-Newton method in physolve.

Given phi(t) = f(x + t d) with phi'(0) = g.d < 0, find t > 0 with
    phi(t) <= phi(0) + c1 t phi'(0)           (sufficient decrease, Armijo)
    |phi'(t)| <= c2 |phi'(0)|                  (strong curvature condition)
by bracketing and zooming (Nocedal & Wright, Algorithms 3.5 and 3.6) with safeguarded cubic
interpolation.

Near a minimiser, in float64 with losses around 1e-10, the decrease c1 t phi'(0) falls below the
round-off of phi itself and the Armijo test rejects good steps only because the loss is not
computed exactly. Hager & Zhang (2005) replace it there by the *approximate Wolfe* conditions,
which only use derivatives (computed to full relative precision):
    (2 c1 - 1) phi'(0) >= phi'(t) >= c2 phi'(0)   and   phi(t) <= phi(0) + eps |phi(0)|.
The first inequality is the Armijo condition of the quadratic model of phi through phi(0),
phi'(0) and phi'(t). We accept such a point only when the exact test fails, so far from the
minimiser the search behaves exactly like the strong Wolfe search.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch


@dataclass
class LineSearchResult:
    """t is None when no point with a decrease was found; f, g are phi(t) and grad f there."""

    t: float | None
    f: float | None = None
    g: torch.Tensor | None = None
    approximate: bool = False  # accepted by the approximate Wolfe conditions


def cubic_min(a, fa, ga, b, fb, gb, lo, hi):
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


def strong_wolfe(phi: Callable[[float], tuple[float, torch.Tensor]], d: torch.Tensor,
                 f0: float, gtd0: float, t: float, c1: float = 1e-4, c2: float = 0.9,
                 max_evals: int = 25, approx_eps: float = 1e-10) -> LineSearchResult:
    """Step length along `d` satisfying the strong Wolfe conditions.

    phi(t) returns (f(x + t d), grad f(x + t d)); f0 = f(x), gtd0 = grad f(x).d < 0; t is the
    first trial step. approx_eps: relative loss increase tolerated by the approximate Wolfe
    fallback (0 disables it). When the budget runs out, the best point with a decrease is
    returned (its curvature condition may not hold).
    """
    search = _Search(phi, d, f0, gtd0, c1, c2, approx_eps)
    t_prev, f_prev, gtd_prev = 0.0, f0, gtd0
    for i in range(max_evals):
        f_t, g_t, gtd_t = search.eval(t)
        if search.found:
            return search.found
        if f_t > f0 + c1 * t * gtd0 or (i > 0 and f_t >= f_prev) or not math.isfinite(f_t):
            return search.zoom((t_prev, f_prev, gtd_prev), (t, f_t, gtd_t), max_evals - i - 1)
        if gtd_t >= 0:
            return search.zoom((t, f_t, gtd_t), (t_prev, f_prev, gtd_prev), max_evals - i - 1)
        # Extrapolate: cubic step beyond t, between 1.1 t and 10 t.
        t_next = cubic_min(t_prev, f_prev, gtd_prev, t, f_t, gtd_t, 1.1 * t, 10 * t)
        t_prev, f_prev, gtd_prev = t, f_t, gtd_t
        t = t_next
    return search.fallback()


class _Search:
    """Evaluations of one line search: acceptance tests and the best point seen."""

    def __init__(self, phi, d, f0, gtd0, c1, c2, approx_eps):
        self.phi, self.d, self.f0, self.gtd0 = phi, d, f0, gtd0
        self.c1, self.c2, self.approx_eps = c1, c2, approx_eps
        self.best = LineSearchResult(None, f0)
        self.found: LineSearchResult | None = None

    def eval(self, t):
        f_t, g_t = self.phi(t)
        gtd_t = float(g_t @ self.d) if math.isfinite(f_t) else math.inf
        if f_t < self.best.f:
            self.best = LineSearchResult(t, f_t, g_t)
        f0, gtd0 = self.f0, self.gtd0
        curvature = abs(gtd_t) <= -self.c2 * gtd0
        if f_t <= f0 + self.c1 * t * gtd0 and curvature:
            self.found = LineSearchResult(t, f_t, g_t)
        elif (self.approx_eps > 0 and f_t <= f0 + self.approx_eps * abs(f0) and curvature
              and (2 * self.c1 - 1) * gtd0 >= gtd_t):
            self.found = LineSearchResult(t, f_t, g_t, approximate=True)
        return f_t, g_t, gtd_t

    def zoom(self, lo, hi, budget):
        """Shrink the bracket [lo, hi] (lo has the lower loss) to an acceptable point."""
        for _ in range(max(budget, 0)):
            (a_lo, f_lo, g_lo), (a_hi, f_hi, g_hi) = lo, hi
            left, right = min(a_lo, a_hi), max(a_lo, a_hi)
            width = right - left
            if width <= 1e-16 * max(1.0, right):
                break
            if math.isfinite(f_hi) and math.isfinite(g_hi):
                t = cubic_min(a_lo, f_lo, g_lo, a_hi, f_hi, g_hi, left, right)
            else:
                t = (left + right) / 2
            # Stay away from the ends so the bracket really shrinks.
            t = min(max(t, left + 0.1 * width), right - 0.1 * width)
            f_t, _, g_t = self.eval(t)
            if self.found:
                return self.found
            if f_t > self.f0 + self.c1 * t * self.gtd0 or f_t >= f_lo or not math.isfinite(f_t):
                hi = (t, f_t, g_t)
            else:
                if g_t * (a_hi - a_lo) >= 0:
                    hi = lo
                lo = (t, f_t, g_t)
        return self.fallback()

    def fallback(self) -> LineSearchResult:
        """No acceptable point within budget: the best decrease found, if any."""
        return self.best if self.best.t is not None else LineSearchResult(None)
