"""Networks shared by the solver families: an MLP and a Fourier-feature input embedding."""
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


class MLP(nn.Module):
    """Fully connected network: `depth` hidden layers of `width` units."""

    def __init__(self, in_dim: int, out_dim: int, width: int = 50, depth: int = 4,
                 activation: str = "tanh", init: str = "xavier_normal",
                 embedding: nn.Module | None = None):
        super().__init__()
        if width <= 0 or depth <= 0:
            raise ValueError(f"MLP width and depth must be positive, got {width}, {depth}")
        act = _choice(ACTIVATIONS, activation, "activation")
        initialize = _choice(INITIALIZERS, init, "initialisation")
        self.embedding = embedding
        sizes = [embedding.out_dim if embedding is not None else in_dim] + [width] * depth
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), act()]
        layers.append(nn.Linear(sizes[-1], out_dim))
        self.layers = nn.Sequential(*layers)
        for m in self.layers:
            if isinstance(m, nn.Linear):
                initialize(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        if self.embedding is not None:
            x = self.embedding(x)
        return self.layers(x)

    def taylor(self, jet: Jet) -> Jet:
        if self.embedding is not None:
            jet = propagate(self.embedding, jet)
        return propagate(self.layers, jet)
