"""Adversarial adaptive sampling (AAS; Tang, Zhai, Wan, Yang, ICLR 2024).

The collocation points are drawn from a normalising flow p over the domain's bounding box,
trained between the solver's rounds to *maximise* the residual the solver minimises,

    min_u max_p  J(u, p) = ∫ r(x; u)^2 p(x) dx  -  beta ∫ |grad p(x)|^2 dx,

the solver's loss being the mean of r^2 over points drawn from p (an estimate of the first
term). Without the second term the best p is a point mass at the largest residual; the
H^1-seminorm penalty keeps p smooth: for fixed u its maximiser solves
2 beta (-laplace p) = r^2 - const, so p - uniform is the H^-1 Riesz representer of the
normalised residual, and the max equals (1/4 beta) |r^2 - mean|^2_{H^-1}, the linearised
(quadratic) Wasserstein distance between the residual-induced distribution r^2 / ∫ r^2 and
the uniform one -- the "implicit Wasserstein term" of the paper, which keeps the residual
profile flat and the Monte-Carlo error of the loss small.

Implementation (all in coordinates z in [-1, 1]^d of the bounding box; see flows.py):
- Both integrals are estimated by importance sampling, so the flow's gradient needs the
  residual's values only (no derivative of r in x, which would cost third derivatives of
  the network): the residual is evaluated once per round on a proposal set Q -- `candidates`
  fresh uniform points of the domain plus the current points -- whose mixture density q is
  known, and then  J1 = V mean_Q[rho p / q]  with rho = r^2 / mean(r^2) (scale-free), and
  J2 = mean over fresh uniform box points of |grad (V p)|^2  (V the box's volume: a uniform
  p gives J1 = 1, J2 = 0).  `flow_steps` Adam steps on -(J1 - beta J2) per round.
- Flow samples outside the domain are rejected (the flow lives on the bounding box; CSG
  holes and curved boundaries are handled by `domain.contains`); p restricted to the domain
  is p / A, A the acceptance rate, estimated from the draw.
- A fraction `uniform_fraction` of every round's points is drawn uniformly from the domain:
  a floor under the density, so that the sampler never stops looking where the residual is
  small now (the guard against the flow collapsing onto one residual peak).
- weights: "none" (default) -- the solver minimises the mean of r^2 over the drawn points,
  the min-max objective; "importance" -- loss weights w ∝ 1 / q(x) (mean 1) make the loss an
  unbiased estimate of the domain mean of r^2 instead.
Round 0 is uniform (the network is untrained); the flow starts at its random initialisation.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import (Sampler, SettingError, check_choice, check_number, check_positive_int,
                   residual_in_chunks)
from .flows import box_flow, flow_log_prob, flow_sample
from .registry import samplers

WEIGHTINGS = ("none", "importance")


@samplers.register("aas")
class AAS(Sampler):
    """Collocation points from a normalising flow trained adversarially against the solver.

    Settings
    --------
    beta: weight of the H^1 penalty on the density (default 1e-3; larger is smoother and
        closer to uniform, smaller concentrates the points harder).
    uniform_fraction: share of each round's points drawn uniformly from the domain (0..1,
        default 0.2).
    flow_steps: Adam steps on the flow per round (default 50); lr: their learning rate (1e-3).
    candidates: uniform domain points in the proposal set for the flow's objective (4000).
    penalty_points: uniform box points estimating the penalty at each flow step (1000).
    transforms, bins, hidden: the flow (autoregressive spline layers, bins per spline,
        hidden widths of each layer's masked MLP); defaults 3, 8, [32, 32].
    weights: "none" or "importance" (see the module's docstring).
    max_draws: flow samples drawn per round at most, in multiples of n, before giving up on
        filling the round (the flow's mass outside the domain; default 50).
    """

    name = "aas"
    adaptive = True

    def __init__(self, beta: float = 1e-3, uniform_fraction: float = 0.2, flow_steps: int = 50,
                 lr: float = 1e-3, candidates: int = 4000, penalty_points: int = 1000,
                 transforms: int = 3, bins: int = 8, hidden: list[int] | None = None,
                 weights: str = "none", max_draws: int = 50):
        who = self.name
        self.beta = check_number(who, "beta", beta)
        self.uniform_fraction = check_number(who, "uniform_fraction", uniform_fraction, 0.0, 1.0)
        self.flow_steps = check_positive_int(who, "flow_steps", flow_steps, minimum=0)
        self.lr = check_number(who, "lr", lr, low_open=True)
        self.candidates = check_positive_int(who, "candidates", candidates)
        self.penalty_points = check_positive_int(who, "penalty_points", penalty_points)
        self.transforms = check_positive_int(who, "transforms", transforms)
        self.bins = check_positive_int(who, "bins", bins, minimum=2)
        hidden = [32, 32] if hidden is None else hidden
        if not isinstance(hidden, (list, tuple)) or not hidden:
            raise SettingError(who, "hidden", f"must be a non-empty list of positive "
                               f"integers, got {hidden!r}")
        self.hidden = tuple(check_positive_int(who, "hidden", h) for h in hidden)
        self.weighting = check_choice(who, "weights", weights, WEIGHTINGS)
        self.max_draws = check_positive_int(who, "max_draws", max_draws)

    # --- set-up ---------------------------------------------------------------------------
    def setup(self, domain, *, method: str, seeds) -> None:
        super().setup(domain, method=method, seeds=seeds)
        lo, hi = (b.to(torch.float64).reshape(-1) for b in domain.bbox)
        self._center, self._half = (lo + hi) / 2, (hi - lo) / 2
        self.d = lo.numel()
        # log of the Jacobian of z -> x, and of the volume V of [-1, 1]^d
        self._log_half = float(self._half.log().sum())
        self._log_box = self.d * math.log(2.0)
        self._log_domain = math.log(domain.volume())
        # flow initialisation from its own seed, without touching the caller's random state
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seeds(0, 3))
            self.flow = box_flow(self.d, self.transforms, self.bins, self.hidden)
        self.flow = self.flow.to(torch.float64)
        self.optimizer = torch.optim.Adam(self.flow.parameters(), lr=self.lr)
        self.log_q: Tensor | None = None   # log density (in x) the current points came from
        self.round_was_uniform = True
        self.acceptance = 1.0
        self._diag: dict[str, float] = {}

    def _to_z(self, x: Tensor) -> Tensor:
        return (x - self._center) / self._half

    def _to_x(self, z: Tensor) -> Tensor:
        return self._center + self._half * z

    def log_density(self, x: Tensor) -> Tensor:
        """log of the flow's density at x (in the domain's coordinates, over the bounding
        box), no gradient."""
        with torch.no_grad():
            return flow_log_prob(self.flow, self._to_z(x)) - self._log_half

    # --- a round --------------------------------------------------------------------------
    def _sample(self, round_index: int, n: int, residual) -> Tensor:
        if round_index == 0 or self.points is None:
            points = self.uniform(n, round_index)
            self.log_q = torch.full((len(points),), -self._log_domain, dtype=torch.float64)
            self.round_was_uniform = True
            self._diag = {"acceptance": 1.0}
            return points
        self._train_flow(round_index, residual)
        return self._draw(round_index, n)

    def _train_flow(self, round_index: int, residual) -> None:
        cand = self.uniform(self.candidates, round_index, stream=1)
        proposal = torch.cat([cand, self.points])
        # the proposal's law: the uniform candidates' and the current points' in proportion
        share = len(cand) / len(proposal)
        log_q_now = torch.cat([self._log_q_at(cand), self.log_q])
        log_q = torch.logaddexp(torch.full_like(log_q_now, math.log(share) - self._log_domain),
                                math.log(1 - share) + log_q_now)
        r2 = residual_in_chunks(residual, proposal).double().square()
        ratio = torch.exp(-log_q - self._log_domain)        # (1 / |domain|) / q
        mean_r2 = (r2 * ratio).mean()
        rho = r2 / mean_r2 if mean_r2 > 0 else torch.ones_like(r2)
        z_prop = self._to_z(proposal)
        # J1 = V mean_Q[rho p_z / q_z] with p_z / q_z = p_x / q_x: computed in log space
        log_w = torch.log(rho.clamp_min(1e-300)) - log_q - self._log_half + self._log_box
        g = torch.Generator().manual_seed(self.seeds(round_index, 4))
        j1 = j2 = torch.zeros((), dtype=torch.float64)
        for _ in range(self.flow_steps):
            u = 2 * torch.rand(self.penalty_points, self.d, dtype=torch.float64,
                               generator=g) - 1
            j1 = torch.exp(log_w + flow_log_prob(self.flow, z_prop)).mean()
            j2 = self._penalty(u)
            loss = -(j1 - self.beta * j2)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        self._diag = {"flow_j1": float(j1.detach()), "flow_penalty": float(j2.detach())}

    def _log_q_at(self, x: Tensor) -> Tensor:
        """log of the density the current points were drawn from, at other points x: the
        uniform share plus the flow's share (the flow as it was when they were drawn, which
        is the flow now: it is trained only at the start of a round)."""
        if self.round_was_uniform:
            return torch.full((len(x),), -self._log_domain, dtype=torch.float64)
        return self._mixture_log_q(x)

    def _mixture_log_q(self, x: Tensor) -> Tensor:
        lam = self.uniform_fraction
        parts = []
        if lam > 0:
            parts.append(torch.full((len(x),), math.log(lam) - self._log_domain,
                                    dtype=torch.float64))
        if lam < 1:
            parts.append(math.log(1 - lam) + self.log_density(x) - math.log(self.acceptance))
        return parts[0] if len(parts) == 1 else torch.logaddexp(*parts)

    def _penalty(self, u: Tensor) -> Tensor:
        """mean over box points of |grad_z (V p_z)|^2, differentiable in the flow."""
        u = u.requires_grad_(True)
        lp = flow_log_prob(self.flow, u)
        (grad,) = torch.autograd.grad(lp.sum(), u, create_graph=True)
        p_tilde = torch.exp(lp + self._log_box)
        return (p_tilde.square() * grad.square().sum(1)).mean()

    def _draw(self, round_index: int, n: int) -> Tensor:
        n_uniform = round(self.uniform_fraction * n)
        n_flow = n - n_uniform
        parts = [self.uniform(n_uniform, round_index, stream=5)] if n_uniform else []
        g = torch.Generator().manual_seed(self.seeds(round_index, 6))
        kept, count, drawn = [], 0, 0
        with torch.no_grad():
            while count < n_flow:
                if drawn >= self.max_draws * n:
                    raise RuntimeError(
                        f"sampler 'aas': only {count} of {drawn} flow samples fell inside the "
                        f"domain in round {round_index} ({n_flow} needed); raise "
                        "uniform_fraction or beta, or max_draws")
                m = max(2 * (n_flow - count), 256)
                u = 2 * torch.rand(m, self.d, dtype=torch.float64, generator=g) - 1
                x = self._to_x(flow_sample(self.flow, u))
                x = x[self.domain.contains(x) & (u.abs() < 1).all(1)]
                kept.append(x)
                count += len(x)
                drawn += m
        flow_points = torch.cat(kept)[:n_flow] if kept else torch.zeros(0, self.d,
                                                                         dtype=torch.float64)
        self.acceptance = max(count / max(drawn, 1), 1e-12) if n_flow else 1.0
        self.round_was_uniform = False
        points = torch.cat([*parts, flow_points])
        self.log_q = self._mixture_log_q(points)
        if self.weighting == "importance":
            w = torch.exp(-self.log_q - self._log_domain)
            self.weights = w / w.mean()
        log_p_tilde = self.log_density(flow_points) + self._log_half + self._log_box
        self._diag.update({
            "acceptance": self.acceptance,
            # KL(flow || uniform on the box), from the accepted samples: 0 for a uniform
            # flow, large when it concentrates (log of the area ratio it shrinks onto)
            "kl_uniform": float(log_p_tilde.mean()) if n_flow else 0.0,
        })
        return points

    def diagnostics(self) -> dict[str, float]:
        return dict(self._diag)

    # --- checkpoints ----------------------------------------------------------------------
    def state_dict(self):
        return {**super().state_dict(), "flow": self.flow.state_dict(),
                "optimizer": self.optimizer.state_dict(), "log_q": self.log_q,
                "acceptance": self.acceptance, "round_was_uniform": self.round_was_uniform,
                "diagnostics": dict(self._diag)}

    def load_state_dict(self, state, n: int) -> None:
        super().load_state_dict(state, n)
        self.flow.load_state_dict(state["flow"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.log_q, self.acceptance = state["log_q"], state["acceptance"]
        self.round_was_uniform = state["round_was_uniform"]
        self._diag = dict(state["diagnostics"])

    def __repr__(self) -> str:
        return (f"AAS(beta={self.beta:g}, uniform_fraction={self.uniform_fraction:g}, "
                f"flow_steps={self.flow_steps}, weights={self.weighting!r})")
