"""Automatic loss balancing: multipliers of a physics-informed loss's terms.

A solver's loss is  L = sum_k w_k lambda_k L_k,  w_k the user's weights (`weights=`), L_k the
mean squared residual of term k (an equation or a soft condition) and lambda_k the balancer's
multiplier. A pointwise balancer (RBA) weighs each residual point instead,
L_k = mean_i (lambda_ki r_ki)^2.

The solver calls `update` from its `begin_step` hook, which the trainer calls once per
optimizer iteration before the iteration: inside an iteration -- every closure call of a line
search, a Hessian product -- the multipliers are constant, so a second-order method always
sees one objective. When the multipliers change, the trainer tells the optimizer
(`refresh()`), which re-evaluates the loss it had cached.

This module depends on torch only and sits below the solver families (physolve.models), which
use it; the trainer only calls their hook. Its import path is physolve.train.balancing.

Members (`balancer(name, **options)`):

    fixed      lambda_k = 1: the user's weights alone (the default; the loss is computed
               exactly as without a balancer).
    gradnorm   learning-rate annealing (Wang, Teng, Perdikaris 2021): from the gradients
               g_k = grad_theta L_k every `every` steps,
                 mode "max_mean" (paper, default):  hat_k = max_i |g_pde,i| / mean_i |g_k,i|,
                                                    hat = 1 for the PDE's equations
                 mode "norm" (jaxpi):               hat_k = sum_j |g_j|_2 / |g_k|_2
               and lambda_k <- alpha lambda_k + (1 - alpha) hat_k.
    relobralo  relative loss balancing with random lookback (Bischof, Kraus 2021):
                 bal_k(t, t') = K softmax_k(L_k(t) / (T L_k(t'))),
                 lambda_k <- a (rho lambda_k + (1 - rho) bal_k(t, 0)) + (1 - a) bal_k(t, t-1),
               rho ~ Bernoulli(rho_mean) from the balancer's own seeded generator.
    softadapt  SoftAdapt (Heydari et al. 2019): lambda_k = K softmax_k(beta s_k), s_k the
               relative rate of change (L_k(t) - L_k(t-1)) / L_k(t-1).
    ntk        neural-tangent-kernel weights (Wang, Yu, Perdikaris 2022): from the NTK's
               diagonal K_k,ii = |grad_theta r_ki|^2 on a seeded sample of each term's
               points, hat_k = sum_j t_j / t_k with t_k = mean_i K_k,ii, and
               lambda_k <- alpha lambda_k + (1 - alpha) hat_k.
    rba        residual-based attention (Anagnostopoulos et al. 2024), pointwise:
                 lambda_ki <- gamma lambda_ki + eta |r_ki| / max_i |r_ki|.
    sa         self-adaptive weights (McClenny, Braga-Neto 2023), pointwise: lambda_ki
               ascend the loss mean_i (lambda_ki r_ki)^2 by Adam (maximize), so they grow
               where the residual stays large.
"""
from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import torch

from .checks import number_requirement
from .collectives import all_reduce, all_reduce_mean, world_size

Terms = Mapping[str, torch.Tensor]


def _number(who: str, key: str, value, lo: float | None = None, hi: float | None = None,
            lo_open: bool = False, integer: bool = False):
    """`value` checked to be a number (an integer) in its range; else a ValueError naming the
    option, the value and what is allowed."""
    needed = number_requirement(value, lo, hi, lo_open=lo_open, integer=integer)
    if needed is not None:
        raise ValueError(f"balance_options.{key}: {who} needs {needed}, got {value!r}")
    return int(value) if integer else float(value)


class LossBalancer:
    """Multipliers lambda_k of the loss terms, changed only by `update` (between iterations).

    every: steps between updates (the first update is at the stage's step 0 of the fit).
    """

    name = "balancer"
    pointwise = False      # RBA, SA: multipliers per residual point (`reduce` uses them)
    needs_gradients = False
    needs_ntk = False      # NTK: the diagonal of each term's tangent kernel (`ntk_sample`)

    def __init__(self, every: int = 1):
        self.every = _number(self.name, "every", every, lo=1, integer=True)
        self.lam: dict[str, float] = {}

    def setup(self, terms: Sequence[str], seed: int) -> None:
        self.lam = {k: 1.0 for k in terms}

    def multipliers(self) -> dict[str, float]:
        return dict(self.lam)

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def update(self, losses: Terms, gradients: Mapping[str, torch.Tensor] | None,
               residuals: Terms | None = None, ntk: Terms | None = None) -> bool:
        """New multipliers from the current loss terms L_k (detached), the flat gradients
        grad_theta L_k when `needs_gradients`, the residuals when `pointwise`, and t_k, the
        mean NTK diagonal |grad_theta r_ki|^2 over each term's sampled points, when
        `needs_ntk`. Returns whether the objective changed."""
        return False

    def point_weight(self, name: str) -> torch.Tensor | None:
        """Pointwise multipliers lambda_ki of a term's residual points (None: none)."""
        return None

    def resampled(self, sizes: Mapping[str, int]) -> None:
        """New residual points (of these counts per term)."""

    def summary(self) -> dict[str, float]:
        """Scalars for metrics records beside the multipliers (e.g. RBA's mean weight)."""
        return {}

    def state_dict(self) -> dict:
        return {"lam": dict(self.lam)}

    def load_state_dict(self, state: dict) -> None:
        self.lam = dict(state["lam"])


class Fixed(LossBalancer):
    """lambda_k = 1: the user's weights alone, the loss as it is computed without balancing."""

    name = "fixed"

    def due(self, step: int) -> bool:
        return False


class _Annealed(LossBalancer):
    """Multipliers moved toward targets hat_k by a clipped moving average (gradnorm, ntk):
    lambda_k <- clip(alpha lambda_k + (1 - alpha) hat_k, 1 / max_weight, max_weight)."""

    def __init__(self, every: int, alpha: float, max_weight: float):
        super().__init__(every)
        self.alpha = _number(self.name, "alpha", alpha, 0.0, 1.0)
        self.max_weight = _number(self.name, "max_weight", max_weight, 1.0)

    def anneal(self, targets: Mapping[str, float]) -> bool:
        lo, hi = 1.0 / self.max_weight, self.max_weight
        for k, hat in targets.items():
            lam = self.alpha * self.lam[k] + (1.0 - self.alpha) * hat
            self.lam[k] = min(max(lam, lo), hi)
        return True


class GradNorm(_Annealed):
    """Learning-rate annealing from gradient norms (Wang, Teng, Perdikaris 2021).

    every: steps between updates (the gradients of every term cost one backward pass each).
    alpha: moving-average factor, lambda <- alpha lambda + (1 - alpha) hat (0: no memory).
    mode: "max_mean" (the paper's hat_k = max |g_pde| / mean |g_k| for conditions, 1 for the
        PDE's equations; the default) or "norm" (hat_k = sum_j |g_j| / |g_k| for every term,
        the form of jaxpi). "norm" raises a term whose gradient vanishes without bound: on
        Laplace's equation from a flat start, the PDE's (docs/training_recipes.md).
    max_weight: multipliers are clipped to [1 / max_weight, max_weight] (a term whose
        gradient vanishes would otherwise get an infinite weight).
    """

    name = "gradnorm"
    needs_gradients = True

    def __init__(self, every: int = 100, alpha: float = 0.9, mode: str = "max_mean",
                 max_weight: float = 1e6):
        super().__init__(every, alpha, max_weight)
        if mode not in ("norm", "max_mean"):
            raise ValueError(f"balance_options.mode: gradnorm's mode must be one of 'max_mean', "
                             f"'norm', got {mode!r}")
        self.mode = mode
        self.equations: tuple[str, ...] = ()

    def set_equations(self, equations: Sequence[str]) -> None:
        self.equations = tuple(equations)

    def targets(self, gradients: Mapping[str, torch.Tensor]) -> dict[str, float]:
        """hat_k of the docstring, from flat gradients g_k."""
        if self.mode == "norm":
            norms = {k: float(g.norm()) for k, g in gradients.items()}
            return inverse_shares(norms)
        eqs = [k for k in gradients if k in self.equations] or list(gradients)[:1]
        top = max(float(gradients[k].abs().max()) for k in eqs)
        return {k: 1.0 if k in eqs else top / max(float(g.abs().mean()), 1e-300)
                for k, g in gradients.items()}

    def update(self, losses, gradients, residuals=None, ntk=None) -> bool:
        return self.anneal(self.targets(gradients))


class NTK(_Annealed):
    """Neural-tangent-kernel weights (Wang, Yu, Perdikaris 2022, in jaxpi's per-point form).

    The NTK block of term k has the diagonal K_k,ii = |grad_theta r_ki|^2. Its mean over
    the term's points, t_k, measures how fast gradient descent moves that term; the
    multipliers hat_k = sum_j t_j / t_k make every term's rate the same. The mean (rather
    than the paper's trace, the sum) matches the mean squared residuals of the loss: a term
    with more points does not get a smaller weight for it.

    points: residual points per term at which K_ii is computed, a seeded random sample
        (one backward pass each; all points if a term has fewer).
    every, alpha, max_weight: as for gradnorm.
    """

    name = "ntk"
    needs_ntk = True

    def __init__(self, every: int = 100, alpha: float = 0.9, points: int = 32,
                 max_weight: float = 1e6):
        super().__init__(every, alpha, max_weight)
        self.points = _number(self.name, "points", points, lo=1, integer=True)

    def setup(self, terms, seed):
        super().setup(terms, seed)
        self.generator = torch.Generator().manual_seed(int(seed))

    def ntk_sample(self, n: int) -> torch.Tensor:
        """Indices of the points (of n) whose NTK diagonal the next update uses."""
        return torch.randperm(n, generator=self.generator)[:self.points]

    def update(self, losses, gradients, residuals=None, ntk=None) -> bool:
        return self.anneal(inverse_shares({k: float(t) for k, t in ntk.items()}))

    def state_dict(self):
        return {"lam": dict(self.lam), "generator": self.generator.get_state()}

    def load_state_dict(self, state):
        self.lam = dict(state["lam"])
        self.generator.set_state(state["generator"])


def inverse_shares(sizes: Mapping[str, float]) -> dict[str, float]:
    """sum_j s_j / s_k for every k (a vanishing s_k gives a huge value, clipped by the
    caller)."""
    total = sum(sizes.values())
    return {k: total / max(v, 1e-300) for k, v in sizes.items()}


class ReLoBRaLo(LossBalancer):
    """Relative loss balancing with random lookback (Bischof, Kraus 2021).

    alpha: weight of the history (a in the module docstring); temperature: T;
    rho_mean: expectation of the Bernoulli lookback variable rho.
    """

    name = "relobralo"

    def __init__(self, every: int = 1, alpha: float = 0.999, temperature: float = 0.1,
                 rho_mean: float = 0.999):
        super().__init__(every)
        self.alpha = _number(self.name, "alpha", alpha, 0.0, 1.0)
        self.temperature = _number(self.name, "temperature", temperature, 0.0, lo_open=True)
        self.rho_mean = _number(self.name, "rho_mean", rho_mean, 0.0, 1.0)
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def setup(self, terms, seed):
        super().setup(terms, seed)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.first, self.last = {}, {}

    def balance(self, now: Mapping[str, float], then: Mapping[str, float]) -> dict[str, float]:
        """K softmax_k(L_k(t) / (T L_k(t'))), with the maximum subtracted for stability."""
        z = {k: now[k] / (self.temperature * max(then[k], 1e-300)) for k in now}
        top = max(z.values())
        e = {k: math.exp(v - top) for k, v in z.items()}
        s = sum(e.values())
        return {k: len(e) * v / s for k, v in e.items()}

    def update(self, losses, gradients, residuals=None, ntk=None) -> bool:
        now = {k: float(v) for k, v in losses.items()}
        if not self.first:  # the first update only records L(0)
            self.first, self.last = dict(now), dict(now)
            return False
        rho = float(torch.rand((), generator=self.generator, dtype=torch.float64)
                    < self.rho_mean)
        from_start, from_last = self.balance(now, self.first), self.balance(now, self.last)
        for k in self.lam:
            history = rho * self.lam[k] + (1.0 - rho) * from_start[k]
            self.lam[k] = self.alpha * history + (1.0 - self.alpha) * from_last[k]
        self.last = now
        return True

    def state_dict(self):
        return {"lam": dict(self.lam), "first": dict(self.first), "last": dict(self.last),
                "generator": self.generator.get_state()}

    def load_state_dict(self, state):
        self.lam, self.first, self.last = (dict(state[k]) for k in ("lam", "first", "last"))
        self.generator.set_state(state["generator"])


class SoftAdapt(LossBalancer):
    """SoftAdapt (Heydari, Thompson, Mehmood 2019): lambda_k = K softmax_k(beta s_k) with
    s_k = (L_k(t) - L_k(t-1)) / L_k(t-1), the relative change since the last update.
    beta: > 0 favours the terms that decrease slowest."""

    name = "softadapt"

    def __init__(self, every: int = 10, beta: float = 0.1):
        super().__init__(every)
        self.beta = _number(self.name, "beta", beta)
        self.last: dict[str, float] = {}

    def setup(self, terms, seed):
        super().setup(terms, seed)
        self.last = {}

    def update(self, losses, gradients, residuals=None, ntk=None) -> bool:
        now = {k: float(v) for k, v in losses.items()}
        if not self.last:
            self.last = now
            return False
        s = {k: (now[k] - self.last[k]) / max(self.last[k], 1e-300) for k in now}
        top = max(self.beta * v for v in s.values())
        e = {k: math.exp(self.beta * v - top) for k, v in s.items()}
        total = sum(e.values())
        self.lam = {k: len(e) * v / total for k, v in e.items()}
        self.last = now
        return True

    def state_dict(self):
        return {"lam": dict(self.lam), "last": dict(self.last)}

    def load_state_dict(self, state):
        self.lam, self.last = dict(state["lam"]), dict(state["last"])


class _Pointwise(LossBalancer):
    """Multipliers per residual point, lambda_ki, starting at `init`; the term's loss is
    mean_i (lambda_ki r_ki)^2. New points (resampling) start again from `init`.
    terms: which terms get pointwise weights (None: all)."""

    pointwise = True

    def __init__(self, every: int, init: float, terms: list[str] | None):
        super().__init__(every)
        self.init = _number(self.name, "init", init, 0.0)
        self.terms = None if terms is None else list(terms)
        self.point_weights: dict[str, torch.Tensor] = {}

    def setup(self, terms, seed):
        super().setup(terms, seed)
        if self.terms is not None:
            unknown = [t for t in self.terms if t not in terms]
            if unknown:
                raise ValueError(f"balance_options.terms: {self.name}'s terms {unknown} name "
                                 f"no term of the loss; terms are {sorted(terms)}")
        self.resampled({})

    def weighted(self, name: str) -> bool:
        return self.terms is None or name in self.terms

    def current(self, name: str, like: torch.Tensor) -> torch.Tensor:
        """The point weights of term `name`, fresh (all `init`) where its points changed."""
        lam = self.point_weights.get(name)
        if lam is None or lam.shape != like.shape:
            lam = torch.full_like(like, self.init)
        return lam

    def point_weight(self, name):
        return self.point_weights.get(name)

    def resampled(self, sizes):
        self.point_weights = {}

    def summary(self):
        return {f"{self.name}_mean/{k}": float(w.mean()) for k, w in self.point_weights.items()}

    def state_dict(self):
        return {"lam": dict(self.lam), "points": dict(self.point_weights)}

    def load_state_dict(self, state):
        self.lam, self.point_weights = dict(state["lam"]), dict(state["points"])


class RBA(_Pointwise):
    """Residual-based attention (Anagnostopoulos, Toscano, Stergiopulos, Karniadakis 2024).

    Every residual point i of a term k carries lambda_ki, starting at `init`, updated as
    lambda_ki <- gamma lambda_ki + eta |r_ki| / max_i |r_ki| (bounded by init + eta / (1 -
    gamma)); the term's loss is mean_i (lambda_ki r_ki)^2. New points (resampling) start
    again from `init`.
    gamma: decay; eta: learning rate of the weights; init: starting weight;
    terms: which terms get pointwise weights (None: all).
    """

    name = "rba"

    def __init__(self, every: int = 1, gamma: float = 0.999, eta: float = 0.01,
                 init: float = 1.0, terms: list[str] | None = None):
        super().__init__(every, init, terms)
        self.gamma = _number(self.name, "gamma", gamma, 0.0, 1.0)
        self.eta = _number(self.name, "eta", eta, 0.0)

    def update(self, losses, gradients, residuals=None, ntk=None) -> bool:
        for k, r in residuals.items():
            if not self.weighted(k):
                continue
            a = r.detach().abs().reshape(-1)
            lam = self.current(k, a)
            top = all_reduce(a.max(), "max")  # over every rank's points under torch.distributed
            self.point_weights[k] = self.gamma * lam + self.eta * a / top.clamp_min(1e-300)
        return True


class SelfAdaptive(_Pointwise):
    """Self-adaptive weights (McClenny, Braga-Neto 2023, "Self-adaptive physics-informed
    neural networks"), with their mask m(lambda) = lambda^2.

    The weights are trainable and maximise the loss while the network minimises it: every
    update takes one Adam step (torch.optim.Adam, maximize=True) on each term's weights
    along the exact gradient dL_k / dlambda_ki = 2 lambda_ki r_ki^2 / N_k of its loss
    L_k = mean_i (lambda_ki r_ki)^2. That gradient is never negative, so the weights only
    grow, fastest where the residual stays large; Adam's normalised step makes the growth
    about `eta` per update while the gradient is above Adam's eps (1e-8).
    eta: the weights' learning rate; init: starting weight; terms: as for rba.
    """

    name = "sa"

    def __init__(self, every: int = 1, eta: float = 0.005, init: float = 1.0,
                 terms: list[str] | None = None):
        super().__init__(every, init, terms)
        self.eta = _number(self.name, "eta", eta, 0.0, lo_open=True)
        self.optimizers: dict[str, torch.optim.Adam] = {}

    def resampled(self, sizes):
        super().resampled(sizes)
        self.optimizers = {}

    def _optimizer(self, name: str, lam: torch.Tensor) -> torch.optim.Adam:
        held = self.optimizers.get(name)
        if held is None or held.param_groups[0]["params"][0] is not lam:
            held = self.optimizers[name] = torch.optim.Adam([lam], lr=self.eta, maximize=True)
        return held

    def update(self, losses, gradients, residuals=None, ntk=None) -> bool:
        for k, r in residuals.items():
            if not self.weighted(k):
                continue
            r2 = r.detach().reshape(-1).square()
            lam = self.current(k, r2)
            self.point_weights[k] = lam
            # N_k counts every rank's points: each rank holds an equal shard of the term
            lam.grad = 2.0 * lam * r2 / (r2.numel() * world_size())
            self._optimizer(k, lam).step()
            lam.grad = None
        return True

    def state_dict(self):
        return {**super().state_dict(),
                "adam": {k: opt.state_dict() for k, opt in self.optimizers.items()}}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.point_weights = {k: w.clone() for k, w in self.point_weights.items()}
        self.optimizers = {}
        for k, opt_state in state.get("adam", {}).items():
            self._optimizer(k, self.point_weights[k]).load_state_dict(opt_state)


BALANCERS: dict[str, type[LossBalancer]] = {
    c.name: c for c in (Fixed, GradNorm, NTK, ReLoBRaLo, SoftAdapt, RBA, SelfAdaptive)}


def balancer(name: str, options: Mapping | None = None) -> LossBalancer:
    """The balancer `name` with `options`; errors name the setting and what is allowed."""
    if not isinstance(name, str) or name not in BALANCERS:
        raise ValueError(f"balance: unknown balancer {name!r}; allowed: "
                         f"{', '.join(sorted(BALANCERS))}")
    options = dict(options or {})
    cls = BALANCERS[name]
    import inspect

    allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = [k for k in options if k not in allowed]
    if unknown:
        owners = [b for b, c in BALANCERS.items()
                  if unknown[0] in inspect.signature(c.__init__).parameters]
        # a config that switches balancer keeps the old one's options (Hydra merges dicts)
        hint = (f" ({unknown[0]!r} is an option of {', '.join(owners)}; on the command line "
                f"replace the options with '~model.balance_options' "
                f"'+model.balance_options={{...}}')" if owners else "")
        raise ValueError(f"balance_options.{unknown[0]}: unknown option of balancer {name!r}; "
                         f"allowed: {', '.join(allowed) or 'none'}{hint}")
    return cls(**options)


def flat_gradients(terms: Terms, params: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
    """grad_theta L_k for every term, flattened (one backward pass per term; parameters a
    term does not reach count as zeros)."""
    out = {}
    for k, v in terms.items():
        grads = torch.autograd.grad(v, params, retain_graph=True, allow_unused=True)
        out[k] = torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1)
                            for p, g in zip(params, grads)]).detach()
    return out


def ntk_diagonal(residual: torch.Tensor, params: Sequence[torch.Tensor], index: torch.Tensor
                 ) -> torch.Tensor:
    """|grad_theta r_i|^2 for the points `index` of a residual with graph: the diagonal of
    its neural tangent kernel there. One backward pass per point: on the PINN sizes measured
    (3 x 20, 2540 points) a loop of them took a quarter of the time of one batched
    (is_grads_batched) pass, which carries every intermediate once per point."""
    flat = residual.reshape(-1)
    out = []
    for i in index.tolist():
        grads = torch.autograd.grad(flat[i], params, retain_graph=True, allow_unused=True)
        out.append(sum((g.detach().square().sum() for g in grads if g is not None),
                       flat.new_zeros(())))
    return torch.stack(out)


def run_update(balancer_: LossBalancer, evaluate: Callable[[], tuple[Terms, Terms]],
               params: Sequence[torch.Tensor]) -> bool:
    """One update: evaluate() -> (objective terms with graph, pointwise residuals).

    Under torch.distributed every rank holds an equal shard of each term's points, so the
    means over ranks of the term losses, their gradients and the NTK diagonals' sample means
    are those of the union of the shards: every rank computes the same multipliers."""
    terms, residuals = evaluate()
    grads = None
    if balancer_.needs_gradients:
        grads = {k: all_reduce_mean(g) for k, g in flat_gradients(terms, params).items()}
    ntk = None
    if balancer_.needs_ntk:
        ntk = {k: all_reduce_mean(ntk_diagonal(r, params, balancer_.ntk_sample(r.numel())).mean())
               for k, r in residuals.items()}
    losses = {k: all_reduce_mean(v.detach()) for k, v in terms.items()}
    return balancer_.update(losses, grads, residuals, ntk)


def scaled_residuals(residuals: Terms, balancer_: LossBalancer, causal=None,
                     time_index: torch.Tensor | None = None, causal_terms: Sequence[str] = ()
                     ) -> dict[str, tuple[torch.Tensor, torch.Tensor | float]]:
    """(p_k, s_k) per term with objective L_k = sum_j s_kj p_kj^2: p = lambda_k r (pointwise
    multipliers, RBA) or r, s = 1 / N_k, or the causal s_j = w_i(j) / (M n_i(j)) for the terms
    in `causal_terms` (the PDE's equations: their weights come from the sum of their slice
    losses, so every equation sees the same w_i). s is detached; so is lambda."""
    flat = {k: r.reshape(-1) for k, r in residuals.items()}
    points = {}
    for k, r in flat.items():
        lam = balancer_.point_weight(k)
        points[k] = r if lam is None else lam.to(r) * r
    causal_scale = None
    if causal is not None and causal_terms:
        squared = sum(points[k].detach().square() for k in causal_terms)
        causal_scale = causal.point_scale(squared, time_index)
    return {k: (p, causal_scale if causal_scale is not None and k in causal_terms
                else 1.0 / p.numel()) for k, p in points.items()}


def objective_terms(scaled: Mapping[str, tuple]) -> dict[str, torch.Tensor]:
    """L_k = sum_j s_kj p_kj^2 from `scaled_residuals`."""
    return {k: p.square().mean() if isinstance(s, float) else (s * p.square()).sum()
            for k, (p, s) in scaled.items()}


def residual_vector(scaled: Mapping[str, tuple], weight: Callable[[str], float]
                    ) -> torch.Tensor:
    """sqrt(W_k s_kj) p_kj stacked (W_k: a term's total weight): its squared norm is the loss."""
    return torch.cat([(weight(k) * s) ** 0.5 * p for k, (p, s) in scaled.items()])


def balance_state(balancer_: LossBalancer, causal=None) -> dict:
    """The checkpoint entries of a solver's balancing: the balancer's state and the causal
    weights' (none for the fixed weights alone, so such checkpoints stay as they were)."""
    state = {}
    if not isinstance(balancer_, Fixed) or causal is not None:
        state["balancer"] = balancer_.state_dict()
        if causal is not None:
            state["causal"] = causal.state_dict()
    return state


def load_balance_state(state: Mapping, balancer_: LossBalancer, causal=None) -> None:
    """Restore what balance_state saved (entries a checkpoint lacks are left as they are)."""
    if "balancer" in state:
        balancer_.load_state_dict(state["balancer"])
    if "causal" in state:
        causal.load_state_dict(state["causal"])


class BalancedLoss:
    """The loss-balancing side of a point-based solver (PINN, PIG, LPINN), one copy for all.

    The solver calls `_init_balancing` from its constructor (bad settings fail there, naming
    the key) and `_setup_balancing` from its setup; it provides `parameters()`,
    `total_weight(term)` (its own weight times the multiplier) and `_balance_evaluate()` ->
    (objective terms with graph, pointwise residuals), the pair `run_update` takes."""

    def _init_balancing(self, balance: str, options: Mapping | None, causal: Mapping | None):
        from .causal import CausalWeights

        self.balance, self.balance_options = balance, dict(options or {})
        self.balancer = balancer(balance, options)
        self.causal_options = causal
        self.causal = CausalWeights.from_options(causal)

    def _setup_balancing(self, terms: Sequence[str], equations: Sequence[str], seed: int,
                         t_range: tuple[float, float] | None = None) -> None:
        """A fresh balancer over `terms` (`equations`: the PDE's, for gradnorm's reference)
        and, with causal training, fresh causal weights over `t_range`."""
        from .causal import CausalWeights

        self.balancer = balancer(self.balance, self.balance_options)
        if hasattr(self.balancer, "set_equations"):
            self.balancer.set_equations(tuple(equations))
        self.balancer.setup(list(terms), seed)
        if self.causal is not None:
            self.causal = CausalWeights.from_options(self.causal_options)
            self.causal.setup(*t_range)

    @property
    def balanced(self) -> bool:
        """Whether the loss differs from the plain weighted sum (a balancer or causal
        weights); False keeps the plain computation exactly."""
        return not isinstance(self.balancer, Fixed) or self.causal is not None

    def begin_step(self, step: int) -> bool:
        """Called by the trainer before each optimizer iteration: the causal eps schedule and
        the balancer move on here, never inside an iteration. Whether the objective changed."""
        changed = self.causal is not None and self.causal.advance()
        if self.balancer.due(step):
            changed = run_update(self.balancer, self._balance_evaluate,
                                 self.parameters()) or changed
        return changed

    def training_metrics(self) -> dict[str, float]:
        """Per-term total weights, balancer and causal summaries, for metrics records."""
        if not self.balanced:
            return {}
        out = {f"weight/{k}": self.total_weight(k) for k in self.balancer.lam}
        out.update(self.balancer.summary())
        if self.causal is not None:
            out.update(self.causal.summary())
        return out

    def _balance_state(self) -> dict:
        return balance_state(self.balancer, self.causal)

    def _load_balance_state(self, state: Mapping) -> None:
        load_balance_state(state, self.balancer, self.causal)
