"""Physics-informed neural networks (Raissi, Perdikaris, Karniadakis 2019).

The solution is a network u(X); the loss is the mean squared PDE residual at interior
collocation points plus the mean squared residual of every soft condition at its own points.
Derivatives come from forward-mode Taylor jets through the network where its layers have
Taylor rules (pde/jets.py), else from the autograd backend; hard conditions enter as an
output transform.
"""
from __future__ import annotations

import warnings
from typing import Any, Literal

import torch
from torch import nn

from ..pde.autograd import AutogradBackend
from ..pde.fields import Fields
from ..pde.hard import HardConstraints
from ..pde.jets import unsupported
from ..pde.taylor_backend import NetworkJet, TaylorEngine
from ..sampling import Sampler, make_sampler
from .compiled import CompiledOrEager
from .base import Solver, check_weight_names, derived_seed, fresh_seed, solvers
from ..balancing import BalancedLoss, objective_terms, residual_vector, scaled_residuals
from .networks import NETWORKS, FourierFeatures, PeriodicEmbedding


@solvers.register("pinn")
class PINN(BalancedLoss, Solver):
    """A PINN with an MLP (optionally behind a Fourier-feature embedding).

    Parameters
    ----------
    width, depth, activation, init: the MLP (depth = number of hidden layers).
    fourier_features, fourier_sigma: size and scale of a random Fourier embedding (0 = none).
    network: a ready `nn.Module` mapping (N, d) -> (N, outputs) instead of the MLP.
    n_interior: collocation points for the PDE residual.
    n_boundary, n_initial: default point counts per boundary / initial condition (a
        condition's own `n` wins).
    sampling: "uniform", "sobol", "halton", "lhs" or "grid": how uniform points are drawn
        (the interior's by the sampler, the conditions' always).
    sampler: where the interior points of each round come from (docs/adaptive_sampling.md):
        "uniform" (default: fresh points every round), "rar", "rad", "aas", or a
        physolve.sampling.Sampler. A round is what the trainer's `resample_every` makes.
    sampler_options: the named sampler's settings, e.g. {"k": 1.0, "c": 1.0} for "rad".
    weights: loss weights by term name: the PDE's equations ("pde" for one, "pde0", "pde1",
        ... for a list, the keys of a dict residual such as "momentum"), "pde" for every
        equation without a weight of its own, and condition names (default: the condition's
        own `weight`).
    normalize_inputs: map the domain's bounding box to [-1, 1]^d before the network.
    derivatives: how the residuals' derivatives are computed. "taylor": one forward jet pass
        through the network per term (value, first and second partials, mixed included),
        planned from the term's first evaluation; terms that differentiate expressions or
        need third derivatives stay on reverse mode. "autograd": nested reverse passes (the
        reference). "auto" (default): "taylor" when every layer of the network has a Taylor
        rule (the MLP, its activations and Fourier features do), else "autograd".
    architecture: "mlp", "modified_mlp" (Wang, Teng, Perdikaris 2021; networks.ModifiedMLP) or
        "pirate" (PirateNets, Wang et al. 2024; networks.PirateNet: `depth` residual blocks of
        three layers, gates starting at 0; use it with fourier_features).
    weight_fact: random weight factorisation {mean, std} of every layer (networks.
        FactorizedLinear; e.g. {mean: 1.0, std: 0.1}); None: plain weights.
    periodic: input axes made exactly periodic by a (cos, sin) embedding with the domain's
        extent as period (networks.PeriodicEmbedding), e.g. ["x"]; before any Fourier features.
    balance: how the loss terms are weighted (physolve.train.balancing, docs/training_recipes.md):
        "fixed" (the weights above alone, the default), "gradnorm", "ntk", "relobralo",
        "softadapt", or pointwise "rba" or "sa"; balance_options: that balancer's settings
        (e.g. {every: 100, alpha: 0.9}).
        The balancer's multipliers multiply the weights; they change only between optimizer
        iterations (`begin_step`).
    causal: causal training of a time-dependent problem (physolve.train.causal): {chunks: 32,
        eps: 1.0, eps_schedule: null, delta: 0.99}; None: off.
    compile: compile the loss terms on the Taylor path -- the jet pass through the network
        and the residuals, a function of the parameters and points -- with torch.compile
        (one graph, fixed shapes; the first compiled step takes tens of seconds). Steps are
        bound by the number of small elementwise operations, which the compiler fuses. Where
        compiling fails (a graph break, a platform without torch.compile) one UserWarning
        names the reason and the loss runs eagerly; the terms do not change either way (to
        rounding). Needs the Taylor path: not with derivatives="autograd".
    """

    name = "pinn"

    def __init__(self, width: int = 50, depth: int = 4, activation: str = "tanh",
                 init: str = "xavier_normal", fourier_features: int = 0,
                 fourier_sigma: float = 1.0, network: nn.Module | None = None,
                 n_interior: int = 4000, n_boundary: int = 400, n_initial: int | None = None,
                 sampling: str = "sobol", weights: dict[str, float] | None = None,
                 normalize_inputs: bool = True, chunk_size: int = 65536,
                 derivatives: Literal["auto", "taylor", "autograd"] = "auto",
                 compile: bool = False,
                 architecture: Literal["mlp", "modified_mlp", "pirate"] = "mlp",
                 weight_fact: dict[str, float] | None = None,
                 periodic: list[str] | None = None, balance: str = "fixed",
                 balance_options: dict[str, Any] | None = None,
                 causal: dict[str, Any] | None = None, sampler: str | Sampler = "uniform",
                 sampler_options: dict[str, Any] | None = None):
        if derivatives not in ("auto", "taylor", "autograd"):
            raise ValueError(f"PINN: derivatives must be 'auto', 'taylor' or 'autograd', "
                             f"got {derivatives!r}")
        if not isinstance(compile, bool):
            raise ValueError(f"PINN: compile must be true or false, got {compile!r}")
        if compile and derivatives == "autograd":
            raise ValueError("PINN: compile=True compiles the Taylor path; derivatives="
                             "'autograd' has none (use derivatives='auto' or 'taylor')")
        for key, val in {"n_interior": n_interior, "n_boundary": n_boundary,
                         "chunk_size": chunk_size}.items():
            if not isinstance(val, int) or val <= 0:
                raise ValueError(f"PINN: {key} must be a positive integer, got {val!r}")
        self.width, self.depth, self.activation, self.init = width, depth, activation, init
        self.fourier_features, self.fourier_sigma = fourier_features, fourier_sigma
        self.network = network
        self.n_interior, self.n_boundary = n_interior, n_boundary
        self.n_initial = n_initial if n_initial is not None else n_boundary
        self.sampling = sampling
        self.weights = dict(weights or {})
        self.normalize_inputs = normalize_inputs
        self.chunk_size = chunk_size
        self.derivatives = derivatives
        self.compile = compile
        if architecture not in NETWORKS:
            raise ValueError(f"PINN: architecture must be one of {', '.join(NETWORKS)}, "
                             f"got {architecture!r}")
        self.architecture, self.weight_fact = architecture, weight_fact
        if weight_fact is not None:
            from .networks import dense_layer
            dense_layer(1, 1, weight_fact)  # bad keys or values fail here, naming them
        if periodic is not None and (not isinstance(periodic, (list, tuple))
                                     or not all(isinstance(a, str) for a in periodic)):
            raise ValueError(f"PINN: periodic must be a list of input names, got {periodic!r}")
        self.periodic = list(periodic or [])
        self._init_balancing(balance, balance_options, causal)  # fails early on bad settings
        self.sampler = make_sampler(sampler, sampler_options, type(self).__name__)
        self.interior_weights = None
        self.problem = None

    # --- set-up -------------------------------------------------------------------------------
    def build_network(self, in_dim: int, out_dim: int, generator: torch.Generator) -> nn.Module:
        """The network u(X); subclasses (other solver families) override this."""
        if self.network is not None:
            return self.network
        embeddings = []
        if self.periodic:
            embeddings.append(PeriodicEmbedding(in_dim, self._periods()))
        if self.fourier_features:
            d = embeddings[0].out_dim if embeddings else in_dim
            embeddings.append(FourierFeatures(d, self.fourier_features, self.fourier_sigma,
                                              generator=generator))
        embedding = (None if not embeddings else embeddings[0] if len(embeddings) == 1
                     else _Chain(*embeddings))
        return NETWORKS[self.architecture](in_dim, out_dim, self.width, self.depth,
                                           self.activation, self.init, embedding=embedding,
                                           weight_fact=self.weight_fact)

    def _periods(self) -> dict[int, float]:
        """Period of each periodic axis in the network's coordinates: the domain's extent,
        divided by the half-width where inputs are normalised to [-1, 1]."""
        p = self.problem
        unknown = [a for a in self.periodic if a not in p.inputs]
        if unknown:
            raise ValueError(f"PINN: periodic names {unknown}, not inputs of the problem; "
                             f"inputs are {list(p.inputs)}")
        lo, hi = p.domain.bbox
        periods = {}
        for a in self.periodic:
            i = p.inputs.index(a)
            extent = float(hi[i]) - float(lo[i])
            periods[i] = 2.0 if self.normalize_inputs else extent
        return periods

    def setup(self, problem, *, dtype=torch.float32, device="cpu", seed=None):
        self.problem = problem
        self.dtype, self.device = dtype, torch.device(device)
        self.seed = fresh_seed() if seed is None else int(seed)
        init_seed = derived_seed(self.seed, 0)
        generator = torch.Generator().manual_seed(init_seed)
        # nn.Linear initialises from the global generator; fork it so that building a solver
        # never changes the caller's random state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            net = self.build_network(len(problem.inputs), len(problem.outputs), generator)
        self.net = net.to(dtype=dtype, device=self.device)
        self.unknowns = nn.ParameterDict({
            k: nn.Parameter(torch.tensor(u.raw_init(), dtype=dtype, device=self.device))
            for k, u in problem.unknowns.items()
        })
        self.module = nn.ModuleDict({"net": self.net, "unknowns": self.unknowns})
        lo, hi = (torch.as_tensor(b, dtype=dtype, device=self.device).reshape(-1)
                  for b in problem.domain.bbox)
        self._center, self._half = (lo + hi) / 2, (hi - lo) / 2
        self.hard = HardConstraints(problem)
        self.engine = self._taylor_engine()
        self._compiled_terms = self._compiled_loss()
        self.round = 0
        self.sampler.setup(problem.domain, method=self.sampling,
                           seeds=lambda r, *k: derived_seed(self.seed, 1, r, *k))
        self.resample(0)
        self.equations = self._equation_names()
        self._condition_weights = {c.name: c.weight for c in problem.soft_conditions}
        check_weight_names(self.weights, self.equations, list(self._condition_weights),
                           type(self).__name__)
        t_range = None
        if self.causal is not None:
            if problem.time is None:
                raise ValueError(f"{type(self).__name__}: causal training needs a time-dependent "
                                 f"problem; {problem.name!r} has no time input (inputs "
                                 f"{list(problem.inputs)})")
            lo, hi = problem.domain.bbox
            it = problem.inputs.index(problem.time)
            t_range = (float(lo[it]), float(hi[it]))
        # the balancer over every term of the loss, and the causal slices of the points
        self._setup_balancing([*self.equations, *self._condition_weights], self.equations,
                              derived_seed(self.seed, 3), t_range)
        if self.causal is not None:
            self._time_index = self.causal.chunk_index(self.interior[:, it].detach())

    def _taylor_engine(self) -> TaylorEngine | None:
        """The forward-mode engine, or None where reverse mode is chosen (or needed)."""
        if self.derivatives == "autograd":
            return None
        # The jet composes u = hard(X, net(Z)) as `forward` does here; a family that changes
        # `forward` or `backend` has its own idea of u or of its derivatives.
        own = [m for m in ("forward", "backend")
               if getattr(type(self), m) is not getattr(PINN, m)]
        missing = (f"{type(self).__name__}.{own[0]}" if own else None) or unsupported(self.net)
        if missing is not None:
            if self.derivatives == "taylor":
                raise ValueError(f"{type(self).__name__}: derivatives='taylor' needs a network "
                                 f"whose layers all have Taylor rules; {missing} has none (use "
                                 f"derivatives='autograd' or 'auto')")
            return None
        p = self.problem
        scale = (self._center, self._half) if self.normalize_inputs else (None, None)
        jet = NetworkJet(self.net, *scale,
                         offset_and_scale=self.hard.offset_and_scale if self.hard else None)
        return TaylorEngine(self.forward, jet, p.inputs, p.outputs, p.spatial)

    def _compiled_loss(self) -> CompiledOrEager | None:
        if not self.compile:
            return None
        if self.engine is None:  # "auto" resolved to reverse mode: nothing to compile
            warnings.warn(f"{type(self).__name__}: compile=True needs the Taylor path, which "
                          f"this network has not ({unsupported(self.net)}); the loss runs "
                          f"eagerly", UserWarning, stacklevel=3)
            return None
        return CompiledOrEager(self._residual_terms, type(self).__name__)

    def _terms(self) -> list:
        return [("pde",), *(("condition", c.name) for c in self.problem.soft_conditions)]

    @property
    def derivative_path(self) -> str:
        """"taylor" or "autograd": what `derivatives` resolved to at set-up."""
        return "autograd" if self.engine is None else "taylor"

    def _equation_names(self) -> tuple[str, ...]:
        """Names of the PDE's equations. A dict residual names them only when evaluated, so
        it is evaluated once, at one collocation point, before training: weights that name no
        equation then fail here (and a config at validation), not at the first step."""
        def terms(f):
            return self.problem.residual_terms(f, self.unknown_tensors())

        if self.engine is not None:  # this evaluation also plans the PDE's Taylor pass
            return tuple(self.engine.record(("pde",), self.interior[:1], terms))
        backend = self.backend(self.interior[:1])
        with backend.active():
            return tuple(terms(Fields(backend)))

    def resample(self, round_index: int) -> bool:
        """Collocation points of round `round_index` (reproducible from the seed and round)."""
        self.round = round_index
        self.sampler.sample(round_index, self.n_interior, self.pointwise_residual)
        self._take_sampler_points()
        self._sample_conditions(round_index)
        return True

    def _take_sampler_points(self) -> None:
        self.interior = self.sampler.points.to(self.dtype).to(self.device)
        w = self.sampler.weights
        self.interior_weights = None if w is None else w.to(self.dtype).to(self.device)
        self._points_changed()

    def _sample_conditions(self, round_index: int) -> None:
        p = self.problem
        self.batches = {}
        for k, c in enumerate(p.soft_conditions):
            n = c.n or (self.n_initial if c.points_kind == "initial" else self.n_boundary)
            batch = c.sample(n, self.sampling, derived_seed(self.seed, 2 + k, round_index))
            self.batches[c.name] = batch.to(self.dtype, self.device)

    def _points_changed(self) -> None:
        """New interior points: their causal time chunks, and fresh pointwise (RBA, SA)
        weights."""
        p = self.problem
        if getattr(self, "_time_index", None) is not None:
            self._time_index = self.causal.chunk_index(
                self.interior[:, p.inputs.index(p.time)].detach())
        if getattr(self, "equations", None) is not None:  # set up: new points, new point weights
            self.balancer.resampled({})

    def pointwise_residual(self, points: torch.Tensor) -> torch.Tensor:
        """|r| at points (N, d): the Euclidean norm over the PDE's equations, float64 on the
        CPU, detached (what adaptive samplers rank and weigh points by)."""
        unknowns = {k: v.detach() for k, v in self.unknown_tensors().items()}
        out = []
        for chunk in torch.split(points, self.chunk_size):
            backend = self.backend(chunk.to(self.dtype).to(self.device))
            with backend.active():
                terms = self.problem.residual_terms(Fields(backend), unknowns)
            sq = sum(torch.as_tensor(t).detach().reshape(len(chunk), -1).square().sum(1)
                     for t in terms.values())
            out.append(sq.sqrt().to(torch.float64).cpu())
        return torch.cat(out)

    # --- evaluation ---------------------------------------------------------------------------
    def forward(self, X: torch.Tensor) -> torch.Tensor:
        Z = (X - self._center) / self._half if self.normalize_inputs else X
        return self.hard(X, self.net(Z))

    def unknown_tensors(self) -> dict[str, torch.Tensor]:
        return {k: self.problem.unknowns[k].value(v) for k, v in self.unknowns.items()}

    def unknown_values(self) -> dict[str, float]:
        return {k: float(v.detach()) for k, v in self.unknown_tensors().items()}

    def backend(self, points: torch.Tensor, create_graph: bool = True) -> AutogradBackend:
        p = self.problem
        return AutogradBackend(self.forward, points, p.inputs, p.outputs, p.spatial,
                               create_graph=create_graph)

    def _evaluate(self, term: tuple, points: torch.Tensor, fn, transforms: dict | None = None):
        """fn(Fields) at `points`, on the Taylor engine (which plans per term) or autograd;
        `transforms`: the hard transform's jets by term, given to a compiled loss."""
        if self.engine is not None:
            return self.engine.evaluate(term, points, fn, (transforms or {}).get(term))
        backend = self.backend(points)
        with backend.active():
            return fn(Fields(backend))

    def residuals(self, transforms: dict | None = None) -> dict[str, torch.Tensor]:
        """Pointwise residuals of the PDE and of every soft condition, by term name."""
        unknowns = self.unknown_tensors()
        out = dict(self._evaluate(("pde",), self.interior,
                                  lambda f: self.problem.residual_terms(f, unknowns),
                                  transforms))
        for c in self.problem.soft_conditions:
            batch = self.batches[c.name]
            out[c.name] = self._evaluate(("condition", c.name), batch.points,
                                         lambda f: torch.as_tensor(c.residual(f, batch)),
                                         transforms)
        return out

    def _transform_inputs(self) -> dict | None:
        """The hard transform's jets for every term, by term, computed eagerly (cached per
        point set): they depend on the points only, and their reverse passes cannot go into
        a compiled graph, which takes them as inputs instead. None without hard conditions."""
        if not self.hard:
            return None
        points = {("pde",): self.interior}
        points.update({("condition", c.name): self.batches[c.name].points
                       for c in self.problem.soft_conditions})
        return {t: self.engine.transform_inputs(t, x) for t, x in points.items()}

    def residual_terms(self) -> dict[str, torch.Tensor]:
        """Mean squared residual of the PDE and of every soft condition."""
        # Compiled once every term is planned on the Taylor path (after the first step): the
        # points are read inside, so resampled points of the same counts reuse the graph.
        compiled = self._compiled_terms
        if compiled is not None and compiled.failure is None:
            modes = {t: self.engine.mode(t) for t in self._terms()}
            if all(m == "taylor" for m in modes.values()):
                return compiled(self._transform_inputs())
            on_reverse = [t[-1] for t, m in modes.items() if m == "autograd"]
            if on_reverse:  # planned for good: reverse mode cannot go into the compiled graph
                compiled.give_up(f"term {on_reverse[0]!r} needs reverse mode")
        return self._residual_terms()

    def _residual_terms(self, transforms: dict | None = None) -> dict[str, torch.Tensor]:
        return {name: r.square().mean()
                for name, r in self._with_importance(self.residuals(transforms)).items()}

    def residual_vector(self) -> torch.Tensor:
        """sqrt(w_k / N_k) r_k for every term k, stacked: its squared norm is the loss."""
        residuals = self._with_importance(self.residuals())
        if self.balanced:
            return residual_vector(self._scaled(residuals), self.total_weight)
        return torch.cat([(self.weight(k) / r.numel()) ** 0.5 * r.reshape(-1)
                          for k, r in residuals.items()])

    def _with_importance(self, residuals: dict) -> dict:
        """The PDE's residuals times the square roots of the sampler's loss weights of the
        interior points (mean 1; none for most samplers), so that squared they weigh each
        point; the conditions' residuals as they are."""
        w = self.interior_weights
        if w is None:
            return residuals
        return {k: r if k in self._condition_weights else
                (r.reshape(len(w), -1) * w.sqrt()[:, None]).reshape(r.shape)
                for k, r in residuals.items()}

    def _scaled(self, residuals: dict) -> dict:
        causal_terms = self.equations if self.causal is not None else ()
        return scaled_residuals(residuals, self.balancer, self.causal,
                                getattr(self, "_time_index", None), causal_terms)

    def total_weight(self, term: str) -> float:
        """The user's weight times the balancer's multiplier."""
        return self.weight(term) * self.balancer.lam.get(term, 1.0)

    def _balance_evaluate(self):
        residuals = self._with_importance(self.residuals())
        return objective_terms(self._scaled(residuals)), residuals

    def scale_points(self, factor: float) -> bool:
        self.n_interior = max(1, round(self.n_interior * factor))
        self.n_boundary = max(1, round(self.n_boundary * factor))
        self.n_initial = max(1, round(self.n_initial * factor))
        return True

    def weight(self, term: str) -> float:
        """The loss weight of a term: its own, else "pde"'s for an equation, else the
        condition's `weight`."""
        if term in self.weights:
            return self.weights[term]
        if term in self._condition_weights:
            return self._condition_weights[term]
        return self.weights.get("pde", 1.0)

    def loss(self):
        if self.balanced:
            residuals = self.residuals()
            objective = objective_terms(self._scaled(self._with_importance(residuals)))
            total = sum(self.total_weight(k) * v for k, v in objective.items())
            return total, {k: r.square().mean() for k, r in residuals.items()}
        terms = self.residual_terms()
        total = sum(self.weight(k) * v for k, v in terms.items())
        return total, terms

    def parameters(self):
        return list(self.module.parameters())

    def predict(self, points: torch.Tensor) -> torch.Tensor:
        out = []
        with torch.no_grad():
            for chunk in torch.split(points, self.chunk_size):
                out.append(self.forward(chunk.to(self.dtype).to(self.device)))
        return torch.cat(out).to(torch.float64).cpu()

    def fields(self, points: torch.Tensor) -> Fields:
        """Fields and their derivatives at given points, for post-processing."""
        return Fields(self.backend(points.to(self.dtype).to(self.device), create_graph=False))

    # --- checkpoints --------------------------------------------------------------------------
    def state_dict(self):
        return {"module": self.module.state_dict(), "round": self.round,
                "sampler": self.sampler.state_dict(),
                **self._balance_state()}

    def load_state_dict(self, state):
        self.module.load_state_dict(state["module"])
        if "sampler" in state:  # the points of adaptive samplers follow from their state
            self.round = state["round"]
            self.sampler.load_state_dict(state["sampler"], self.n_interior)
            self._take_sampler_points()
            self._sample_conditions(self.round)
        elif state.get("round", 0) != self.round:
            self.resample(state["round"])
        # after resampling, which starts pointwise weights afresh
        self._load_balance_state(state)


class _Chain(nn.Sequential):
    """Embeddings applied in turn (periodic, then Fourier features); out_dim is the last's."""

    @property
    def out_dim(self) -> int:
        return self[-1].out_dim
