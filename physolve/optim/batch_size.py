"""Adaptive batch size by the norm test: the schedule behind AdAdaGrad (Lau et al. 2024).

A physics-informed loss is a sample mean over collocation points,
    L(theta) = sum_i r_i(theta)^2     (r = the solver's residual_vector(), which carries the
                                       1/N_k and weights of every term),
and each resampling draws a new batch, so the gradient is a stochastic estimate of the gradient
of the loss over the whole domain. Its error is controlled by the *norm test* (Byrd et al. 2012;
Bollapragada et al. 2018), which Lau et al. combine with AdaGrad's step sizes:
    E || g_B - grad L ||^2  <=  eta^2 || g_B ||^2.
The left side is the variance of the batch gradient. We estimate it without per-point
gradients: split the residual entries at random into M equal groups G_j, and let
    g_j = grad (M sum_{i in G_j} r_i^2)
(each is an unbiased estimate of g_B, and their mean is exactly g_B). Then
    V = 1/(M (M - 1)) sum_j || g_j - g_B ||^2
estimates the variance of g_B. When V > eta^2 ||g_B||^2 the batch is too small: the variance
falls like 1/b, so the batch that passes the test is b' = b V / (eta^2 ||g_B||^2). The solver
multiplies its point counts by b'/b (capped by `max_growth` per test and `max_factor` in total)
and draws a new set of points. The M group gradients come from one batched backward pass
through the residual vector (J^T times M masked copies of r).

Tests run every `every` steps; between them nothing changes, so the overhead is one extra
backward pass with M right-hand sides per test.
"""
from __future__ import annotations

import torch

from ..models.base import derived_seed


class NormTest:
    """Grow the solver's training points when the gradient fails the norm test.

    Parameters
    ----------
    eta: tolerance of the norm test (smaller: larger batches sooner).
    every: steps between tests.
    groups: number M of random groups the variance is estimated from.
    max_growth: largest factor one test may multiply the points by.
    max_factor: largest total factor over the initial point counts.
    seed: seeds the random partition into groups.
    """

    def __init__(self, eta: float = 0.5, every: int = 100, groups: int = 8,
                 max_growth: float = 4.0, max_factor: float = 16.0, seed: int = 0):
        if not eta > 0:
            raise ValueError(f"NormTest: eta must be > 0, got {eta}")
        if not (isinstance(every, int) and every >= 1):
            raise ValueError(f"NormTest: every must be an integer >= 1, got {every!r}")
        if not (isinstance(groups, int) and groups >= 2):
            raise ValueError(f"NormTest: groups must be an integer >= 2, got {groups!r}")
        if not (max_growth >= 1 and max_factor >= 1):
            raise ValueError("NormTest: max_growth and max_factor must be >= 1")
        self.eta, self.every, self.groups = eta, every, groups
        self.max_growth, self.max_factor, self.seed = max_growth, max_factor, seed
        self.factor = 1.0  # total growth so far
        self.tests = 0
        self.history: list[dict] = []  # one record per test: step, variance ratio, factor

    def variance_ratio(self, solver) -> float:
        """V / ||g_B||^2 at the solver's current points (the norm test passes when <= eta^2)."""
        params = [p for p in solver.parameters() if p.requires_grad]
        with torch.enable_grad():
            r = solver.residual_vector()
        M = self.groups
        gen = torch.Generator().manual_seed(derived_seed(self.seed, self.tests))
        group = (torch.randperm(r.numel(), generator=gen) % M).to(r.device)
        masks = torch.nn.functional.one_hot(group, M).T.to(r.dtype)  # (M, N)
        cotangents = 2 * M * masks * r.detach()
        try:
            grads = torch.autograd.grad(r, params, grad_outputs=cotangents,
                                        is_grads_batched=True, allow_unused=True)
            G = torch.cat([(g if g is not None else torch.zeros(M, *p.shape, dtype=r.dtype,
                                                                device=r.device)).reshape(M, -1)
                           for g, p in zip(grads, params)], dim=1)
        except RuntimeError:  # an operation without a batching rule: one pass per group
            rows = []
            for j in range(M):
                gj = torch.autograd.grad(r, params, grad_outputs=cotangents[j],
                                         retain_graph=True, allow_unused=True)
                rows.append(torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1)
                                       for g, p in zip(gj, params)]))
            G = torch.stack(rows)
        g_mean = G.mean(0)
        variance = float((G - g_mean).square().sum()) / (M * (M - 1))
        return variance / max(float(g_mean.square().sum()), 1e-300)

    def __call__(self, solver, step: int) -> float | None:
        """At test steps: the factor to multiply the points by, or None (test passed)."""
        if step % self.every:
            return None
        ratio = self.variance_ratio(solver)
        self.tests += 1
        growth = None
        if ratio > self.eta ** 2:
            growth = min(ratio / self.eta ** 2, self.max_growth, self.max_factor / self.factor)
            growth = growth if growth > 1 + 1e-9 else None
        if growth is not None:
            self.factor *= growth
        self.history.append({"step": step, "variance_ratio": ratio,
                             "factor": self.factor})
        return growth

