"""Networks shared by the solver families: an MLP (optionally with random weight
factorisation), the modified MLP, and input embeddings (random Fourier features, exact
periodicity). Every module here has a Taylor rule (pde/jets.py), so a PINN built from them
takes the forward-mode derivative path."""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from ..pde.jets import Jet, cat, propagate


class Sine(nn.Module):
    def forward(self, x):
        return torch.sin(x)

    def taylor_rule(self, h):
        s = torch.sin(h)
        return s, torch.cos(h), -s


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "tanh": nn.Tanh, "sin": Sine, "gelu": nn.GELU, "silu": nn.SiLU, "softplus": nn.Softplus,
    "sigmoid": nn.Sigmoid, "relu": nn.ReLU,
}

INITIALIZERS: dict[str, Callable[[torch.Tensor], None]] = {
    "xavier_normal": nn.init.xavier_normal_,
    "xavier_uniform": nn.init.xavier_uniform_,
    "kaiming_normal": lambda w: nn.init.kaiming_normal_(w, nonlinearity="tanh"),
    "kaiming_uniform": lambda w: nn.init.kaiming_uniform_(w, nonlinearity="tanh"),
}


def _choice(table: dict, key: str, what: str):
    if key not in table:
        raise ValueError(f"unknown {what} '{key}'; choose one of: {', '.join(sorted(table))}")
    return table[key]


class FourierFeatures(nn.Module):
    """gamma(x) = [cos(2 pi B x), sin(2 pi B x)] with B ~ N(0, sigma^2), fixed (Tancik et al.).

    Lifts low-frequency inputs so an MLP can represent high frequencies; sigma sets the scale.
    `keep_input=True` also passes x through unchanged.
    """

    def __init__(self, in_dim: int, n_features: int, sigma: float = 1.0, keep_input: bool = False,
                 generator: torch.Generator | None = None):
        super().__init__()
        if n_features <= 0 or sigma <= 0:
            raise ValueError(f"FourierFeatures needs n_features > 0 and sigma > 0, got "
                             f"{n_features}, {sigma}")
        self.register_buffer("B", torch.randn(in_dim, n_features, generator=generator) * sigma)
        self.keep_input = keep_input
        self.out_dim = 2 * n_features + (in_dim if keep_input else 0)

    def forward(self, x):
        proj = 2 * math.pi * x @ self.B
        parts = [torch.cos(proj), torch.sin(proj)] + ([x] if self.keep_input else [])
        return torch.cat(parts, dim=-1)

    def taylor(self, jet: Jet) -> Jet:
        proj = jet.linear(2 * math.pi * self.B.T)
        cos, sin = torch.cos(proj.value), torch.sin(proj.value)
        parts = [proj.elementwise(cos, -sin, -cos), proj.elementwise(sin, cos, -sin)]
        return cat(parts + ([jet] if self.keep_input else []))


class PeriodicEmbedding(nn.Module):
    """Exact periodicity: each periodic input axis x_a becomes (cos(2 pi x_a / L_a),
    sin(2 pi x_a / L_a)); the other axes pass through unchanged. Any network behind it is a
    function of these, so it is periodic in x_a with period L_a to the last bit of the cosine
    and sine, value and every derivative alike (Dong and Ni 2021; jaxpi's PeriodEmbs).

    periods: {axis index: period L_a} in the coordinates the embedding receives.
    """

    def __init__(self, in_dim: int, periods: dict[int, float]):
        super().__init__()
        if not periods or any(not 0 <= a < in_dim for a in periods):
            raise ValueError(f"PeriodicEmbedding: periodic axes must be among 0..{in_dim - 1}, "
                             f"got {sorted(periods)}")
        if any(not p > 0 for p in periods.values()):
            raise ValueError(f"PeriodicEmbedding: periods must be > 0, got {periods}")
        self.in_dim, self.periods = in_dim, dict(periods)
        axes = sorted(periods)
        rest = [a for a in range(in_dim) if a not in periods]
        # rows of the two linear maps x -> (omega_a x_a) and x -> x_rest; built in float64 so
        # that 2 pi / L is not first rounded to float32 (the period would be off by 1e-7)
        omega = torch.zeros(len(axes), in_dim, dtype=torch.float64)
        for j, a in enumerate(axes):
            omega[j, a] = 2 * math.pi / periods[a]
        keep = torch.zeros(len(rest), in_dim, dtype=torch.float64)
        for j, a in enumerate(rest):
            keep[j, a] = 1.0
        self.register_buffer("omega", omega)
        self.register_buffer("keep", keep)
        self.out_dim = 2 * len(axes) + len(rest)

    def forward(self, x):
        phase = x @ self.omega.T
        return torch.cat([torch.cos(phase), torch.sin(phase), x @ self.keep.T], dim=-1)

    def taylor(self, jet: Jet) -> Jet:
        phase = jet.linear(self.omega)
        cos, sin = torch.cos(phase.value), torch.sin(phase.value)
        return cat([phase.elementwise(cos, -sin, -cos), phase.elementwise(sin, cos, -sin),
                    jet.linear(self.keep)])


class FactorizedLinear(nn.Module):
    """A linear layer with random weight factorisation (Wang, Wang, Perdikaris 2022):
    W = diag(exp(s)) V, trained as (s, V). At initialisation s ~ N(mean, std^2) per output
    unit and V = W0 / exp(s) for the layer's usual initial weight W0, so the layer starts as
    the unfactorised one; the scale factors then train on their own (in log form, so that a
    step never flips a sign)."""

    def __init__(self, in_features: int, out_features: int, mean: float = 1.0,
                 std: float = 0.1):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.mean, self.std = mean, std
        self.s = nn.Parameter(torch.zeros(out_features))
        self.v = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))

    def reset(self, initialize: Callable) -> None:
        """W0 from `initialize`, then s ~ N(mean, std^2), V = W0 / exp(s), zero bias."""
        with torch.no_grad():
            w0 = torch.empty_like(self.v)
            initialize(w0)
            self.s.copy_(self.mean + self.std * torch.randn_like(self.s))
            self.v.copy_(w0 / torch.exp(self.s)[:, None])
            self.bias.zero_()

    @property
    def weight(self) -> torch.Tensor:
        return torch.exp(self.s)[:, None] * self.v

    def forward(self, x):
        return nn.functional.linear(x, self.weight, self.bias)

    def taylor(self, jet: Jet) -> Jet:
        return jet.linear(self.weight, self.bias)


def dense_layer(in_features: int, out_features: int, weight_fact: dict | None = None
                ) -> nn.Module:
    """nn.Linear, or its factorised form with `weight_fact` = {mean, std}; uninitialised
    until `initialize_layers`."""
    if weight_fact is None:
        return nn.Linear(in_features, out_features)
    if not isinstance(weight_fact, dict):
        raise ValueError(f"weight_fact: must be a mapping {{mean, std}} or null, "
                         f"got {weight_fact!r}")
    unknown = [k for k in weight_fact if k not in ("mean", "std")]
    if unknown:
        raise ValueError(f"weight_fact.{unknown[0]}: unknown key; allowed: mean, std")
    mean, std = weight_fact.get("mean", 1.0), weight_fact.get("std", 0.1)
    for key, val in {"mean": mean, "std": std}.items():
        if isinstance(val, bool) or not isinstance(val, (int, float)) or (
                key == "std" and not val >= 0):
            raise ValueError(f"weight_fact.{key}: must be a number{' >= 0' * (key == 'std')}, "
                             f"got {val!r}")
    return FactorizedLinear(in_features, out_features, float(mean), float(std))


def initialize_layers(modules, init: str) -> None:
    """Weights by `init`, zero biases. Run after all layers exist: building an nn.Linear
    draws from the global generator too, and this order keeps the draws -- and so the
    initial networks of existing runs -- what they were."""
    initialize = _choice(INITIALIZERS, init, "initialisation")
    for m in modules:
        if isinstance(m, nn.Linear):
            initialize(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, FactorizedLinear):
            m.reset(initialize)


class MLP(nn.Module):
    """Fully connected network: `depth` hidden layers of `width` units.

    weight_fact: {mean, std} factorises every weight matrix (FactorizedLinear); None: plain.
    """

    def __init__(self, in_dim: int, out_dim: int, width: int = 50, depth: int = 4,
                 activation: str = "tanh", init: str = "xavier_normal",
                 embedding: nn.Module | None = None, weight_fact: dict | None = None):
        super().__init__()
        if width <= 0 or depth <= 0:
            raise ValueError(f"MLP width and depth must be positive, got {width}, {depth}")
        act = _choice(ACTIVATIONS, activation, "activation")
        _choice(INITIALIZERS, init, "initialisation")
        self.embedding = embedding
        sizes = [embedding.out_dim if embedding is not None else in_dim] + [width] * depth
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [dense_layer(a, b, weight_fact), act()]
        layers.append(dense_layer(sizes[-1], out_dim, weight_fact))
        self.layers = nn.Sequential(*layers)
        initialize_layers(self.layers, init)

    def forward(self, x):
        if self.embedding is not None:
            x = self.embedding(x)
        return self.layers(x)

    def taylor(self, jet: Jet) -> Jet:
        if self.embedding is not None:
            jet = propagate(self.embedding, jet)
        return propagate(self.layers, jet)


class _Encoded(nn.Module):
    """What the modified MLP and PirateNet share: the input's embedding and the two encoders
    U = s(W_u Phi + b_u), V = s(W_v Phi + b_v) that gate their hidden layers."""

    def _build_encoders(self, name: str, in_dim: int, width: int, depth: int, activation: str,
                        init: str, embedding: nn.Module | None, weight_fact: dict | None
                        ) -> int:
        """Checks the sizes, builds act, embedding and encoders; returns Phi's width."""
        if width <= 0 or depth <= 0:
            raise ValueError(f"{name} width and depth must be positive, got {width}, {depth}")
        self.act = _choice(ACTIVATIONS, activation, "activation")()
        _choice(INITIALIZERS, init, "initialisation")
        self.embedding = embedding
        d = embedding.out_dim if embedding is not None else in_dim
        self.encoder_u = dense_layer(d, width, weight_fact)
        self.encoder_v = dense_layer(d, width, weight_fact)
        return d

    def _encode(self, x):
        """(Phi, U, V) at x."""
        if self.embedding is not None:
            x = self.embedding(x)
        return x, self.act(self.encoder_u(x)), self.act(self.encoder_v(x))

    def _encode_jet(self, jet: Jet):
        """The jets of Phi, U and V."""
        if self.embedding is not None:
            jet = propagate(self.embedding, jet)
        return (jet, propagate(self.act, propagate(self.encoder_u, jet)),
                propagate(self.act, propagate(self.encoder_v, jet)))


class ModifiedMLP(_Encoded):
    """The modified MLP of Wang, Teng and Perdikaris (2021), in jaxpi's form:

        U = sigma(W_u x + b_u),   V = sigma(W_v x + b_v),   H_0 = x,
        Z_k = sigma(W_k H_{k-1} + b_k),   H_k = Z_k * U + (1 - Z_k) * V    (k = 1..depth),
        f = W_out H_depth + b_out.

    The two encoders U, V carry the input to every layer multiplicatively, which trains
    faster than a plain MLP on stiff problems. Options as MLP's (`weight_fact` factorises
    every layer, the encoders included).
    """

    def __init__(self, in_dim: int, out_dim: int, width: int = 50, depth: int = 4,
                 activation: str = "tanh", init: str = "xavier_normal",
                 embedding: nn.Module | None = None, weight_fact: dict | None = None):
        super().__init__()
        d = self._build_encoders("ModifiedMLP", in_dim, width, depth, activation, init,
                                 embedding, weight_fact)
        # a Sequential as a container (iterated, never called): the Taylor-rule check walks it
        self.hidden = nn.Sequential(*(dense_layer(d if k == 0 else width, width, weight_fact)
                                      for k in range(depth)))
        self.output = dense_layer(width, out_dim, weight_fact)
        initialize_layers([self.encoder_u, self.encoder_v, *self.hidden, self.output], init)

    def forward(self, x):
        h, u, v = self._encode(x)
        for layer in self.hidden:
            z = self.act(layer(h))
            h = z * u + (1 - z) * v
        return self.output(h)

    def taylor(self, jet: Jet) -> Jet:
        h, u, v = self._encode_jet(jet)
        diff = u - v
        for layer in self.hidden:
            z = propagate(self.act, propagate(layer, h))
            h = v + z * diff          # z u + (1 - z) v
        return propagate(self.output, h)


class PirateNet(_Encoded):
    """PirateNet (Wang, Li, Chen, Perdikaris 2024, "PirateNets: physics-informed deep
    learning with residual adaptive networks"), in jaxpi's form. With Phi the input's
    embedding (the Fourier features, periodic embedding, or the inputs themselves):

        U = s(W_u Phi + b_u),   V = s(W_v Phi + b_v),   x_0 = Phi,
        block l = 1..depth:  f = s(W_1 x + b_1),  z_1 = f U + (1 - f) V,
                             g = s(W_2 z_1 + b_2), z_2 = g U + (1 - g) V,
                             h = s(W_3 z_2 + b_3),
                             x_l = alpha_l h + (1 - alpha_l) x_{l-1},
        output W_out x_depth + b_out.

    The gates alpha_l are trainable and start at 0 (`alpha_init`), so the network starts as
    a linear map of the embedding and grows depth as training needs it: the paper's cure for
    the poor initialisation of deep PINNs. The residual stream keeps the embedding's width
    (W_3 maps back to it), so use it with `fourier_features` (the paper always embeds its
    inputs); on raw inputs the stream is only as wide as the input. `depth` counts blocks
    (three dense layers each). The paper's least-squares initialisation of the output layer
    is not done here.
    """

    def __init__(self, in_dim: int, out_dim: int, width: int = 50, depth: int = 3,
                 activation: str = "tanh", init: str = "xavier_normal",
                 embedding: nn.Module | None = None, weight_fact: dict | None = None,
                 alpha_init: float = 0.0):
        super().__init__()
        d = self._build_encoders("PirateNet", in_dim, width, depth, activation, init,
                                 embedding, weight_fact)
        # Sequentials as containers (iterated, never called): the Taylor-rule check walks them
        self.blocks = nn.Sequential(*(
            nn.Sequential(dense_layer(d, width, weight_fact),
                          dense_layer(width, width, weight_fact),
                          dense_layer(width, d, weight_fact)) for _ in range(depth)))
        self.alpha = nn.Parameter(torch.full((depth,), float(alpha_init)))
        self.output = dense_layer(d, out_dim, weight_fact)
        initialize_layers([self.encoder_u, self.encoder_v,
                           *(layer for block in self.blocks for layer in block), self.output],
                          init)

    def forward(self, x):
        x, u, v = self._encode(x)
        for (first, second, third), alpha in zip(self.blocks, self.alpha):
            f = self.act(first(x))
            z = f * u + (1 - f) * v
            g = self.act(second(z))
            z = g * u + (1 - g) * v
            x = alpha * self.act(third(z)) + (1 - alpha) * x
        return self.output(x)

    def taylor(self, jet: Jet) -> Jet:
        jet, u, v = self._encode_jet(jet)
        diff = u - v
        for (first, second, third), alpha in zip(self.blocks, self.alpha):
            z = v + propagate(self.act, propagate(first, jet)) * diff      # f u + (1 - f) v
            z = v + propagate(self.act, propagate(second, z)) * diff
            h = propagate(self.act, propagate(third, z))
            jet = h.scale(alpha) + jet.scale(1 - alpha)
        return propagate(self.output, jet)


NETWORKS = {"mlp": MLP, "modified_mlp": ModifiedMLP, "pirate": PirateNet}
