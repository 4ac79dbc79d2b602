"""Second-order Taylor jets through networks: value, first and second partials in one pass.

A jet at N points carries, for each unit h of a layer, its value, its first partials h_a along
the input axes `firsts`, and its second partials h_ab for the axis pairs `pairs` (mixed ones
included). Through a linear map all three transform linearly (the bias reaches only the value);
through an elementwise sigma, Faa di Bruno's formula to second order gives

    y = sigma(h),   y_a = sigma'(h) h_a,   y_ab = sigma'(h) h_ab + sigma''(h) h_a h_b.

A pass costs about 1 + len(firsts) + len(pairs) forward passes, batched over points and
directions, where nested reverse passes re-traverse the network once per derivative order
and the parameter gradient then differentiates through all of them.

Partials that do not vary over the points (those of an affine input map) are kept with a
point axis of size 1 and broadcast; a zero second-order part is None. Modules take part by
type (nn.Linear, nn.Sequential, torch's activations), by a `taylor(jet)` method (their own
rule, e.g. a Fourier embedding), or by a `taylor_rule(h)` method returning sigma, sigma',
sigma'' for an elementwise map.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


class NoTaylorRule(TypeError):
    """A module that jets cannot pass through (the caller falls back to reverse mode)."""


class Jet:
    """The value (N, W), the first partials along the axes `firsts` (a list of (N, W), or
    (1, W) where constant over the points) and the second partials for `pairs` (each pair
    indexes two entries of `firsts`; None where zero). Each partial is its own tensor:
    slicing one stacked tensor would cost a zero-filled copy per slice in the backward pass,
    which outweighs batching the matrix products at the widths PINNs use."""

    __slots__ = ("value", "first", "second", "firsts", "pairs")

    def __init__(self, value: torch.Tensor, first: list, second: list,
                 firsts: tuple[int, ...], pairs: tuple[tuple[int, int], ...]):
        self.value, self.first, self.second = value, first, second
        self.firsts, self.pairs = firsts, pairs

    def _like(self, value, first, second) -> "Jet":
        return Jet(value, first, second, self.firsts, self.pairs)

    def linear(self, weight: torch.Tensor, bias: torch.Tensor | None = None) -> "Jet":
        """x -> x @ weight.T + bias."""
        wt = weight.T
        return self._like(F.linear(self.value, weight, bias), [g @ wt for g in self.first],
                          [None if h is None else h @ wt for h in self.second])

    def elementwise(self, s0: torch.Tensor, s1: torch.Tensor, s2: torch.Tensor | None
                    ) -> "Jet":
        """y = sigma(h) given s0 = sigma(h), s1 = sigma'(h), s2 = sigma''(h) (None: zero)."""
        first = [s1 * g for g in self.first]
        second = []
        for (a, b), h in zip(self.pairs, self.second):
            if s2 is None:
                term = None if h is None else s1 * h
            elif h is None:
                term = s2 * (self.first[a] * self.first[b])
            else:
                term = torch.addcmul(s1 * h, s2, self.first[a] * self.first[b])
            second.append(term)
        return self._like(s0, first, second)

    def __mul__(self, other: "Jet") -> "Jet":
        """Leibniz: (pq)_a = p_a q + p q_a, (pq)_ab = p_ab q + p_a q_b + p_b q_a + p q_ab."""
        p, q = self.value, other.value
        first = [g * q + p * k for g, k in zip(self.first, other.first)]
        second = []
        for (a, b), h, k in zip(self.pairs, self.second, other.second):
            term = self.first[a] * other.first[b] + self.first[b] * other.first[a]
            if h is not None:
                term = term + h * q
            if k is not None:
                term = term + p * k
            second.append(term)
        return self._like(p * q, first, second)

    def __add__(self, other: "Jet") -> "Jet":
        second = [h if k is None else k if h is None else h + k
                  for h, k in zip(self.second, other.second)]
        return self._like(self.value + other.value,
                          [g + k for g, k in zip(self.first, other.first)], second)

    def scale(self, c) -> "Jet":
        """c * jet for a constant c (a number or a 0-d tensor, e.g. a trainable gate)."""
        return self._like(c * self.value, [c * g for g in self.first],
                          [None if h is None else c * h for h in self.second])

    def __neg__(self) -> "Jet":
        return self._like(-self.value, [-g for g in self.first],
                          [None if h is None else -h for h in self.second])

    def __sub__(self, other: "Jet") -> "Jet":
        return self + (-other)


def seed(points: torch.Tensor, firsts: tuple[int, ...], pairs: tuple[tuple[int, int], ...],
         center: torch.Tensor | None = None, half: torch.Tensor | None = None) -> Jet:
    """The jet of Z = (X - center) / half (the identity without them) at points X (N, d):
    Z_a = e_a / half_a at every point, Z_ab = 0."""
    d = points.shape[1]
    eye = torch.eye(d, dtype=points.dtype, device=points.device)
    value = points
    if center is not None:
        value = (points - center) / half
        eye = eye / half
    return Jet(value, [eye[a:a + 1] for a in firsts], [None] * len(pairs), tuple(firsts),
               tuple(pairs))


def cat(jets: list[Jet]) -> Jet:
    """Concatenation along the units."""
    n = max(j.value.shape[0] for j in jets)

    def joined(parts, like):
        if all(t is None for t in parts):
            return None
        return torch.cat([like[i].new_zeros(n, like[i].shape[1]) if t is None
                          else t.expand(n, -1) for i, t in enumerate(parts)], dim=-1)

    values = [j.value for j in jets]
    first = [joined([j.first[k] for j in jets], values) for k in range(len(jets[0].firsts))]
    second = [joined([j.second[k] for j in jets], values) for k in range(len(jets[0].pairs))]
    return jets[0]._like(torch.cat(values, dim=-1), first, second)


# --- elementwise rules: h -> (sigma, sigma', sigma'') ---------------------------------------
Rule = Callable[[nn.Module, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]]


def _tanh(_, h):
    y = torch.tanh(h)
    s1 = 1 - y * y
    return y, s1, -2 * y * s1


def _sigmoid(_, h):
    s = torch.sigmoid(h)
    s1 = s * (1 - s)
    return s, s1, s1 * (1 - 2 * s)


def _silu(_, h):
    s = torch.sigmoid(h)
    return F.silu(h), s * (1 + h * (1 - s)), s * (1 - s) * (2 + h * (1 - 2 * s))


def _softplus(m: nn.Softplus, h):
    # torch's softplus is the identity where beta * h > threshold; its derivatives follow it.
    z = m.beta * h
    s = torch.sigmoid(z)
    linear = z > m.threshold
    s1 = torch.where(linear, torch.ones_like(s), s)
    s2 = torch.where(linear, torch.zeros_like(s), m.beta * s * (1 - s))
    return F.softplus(h, m.beta, m.threshold), s1, s2


_SQRT_HALF = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _gelu(m: nn.GELU, h):
    if m.approximate == "tanh":
        k, c = math.sqrt(2 / math.pi), 0.044715
        u = k * (h + c * h ** 3)
        du, ddu = k * (1 + 3 * c * h * h), 6 * k * c * h
        t = torch.tanh(u)
        sech2 = 1 - t * t
        s1 = 0.5 * (1 + t) + 0.5 * h * sech2 * du
        s2 = sech2 * du + 0.5 * h * sech2 * (ddu - 2 * t * du * du)
        return F.gelu(h, approximate="tanh"), s1, s2
    cdf = 0.5 * (1 + torch.erf(h * _SQRT_HALF))
    pdf = _INV_SQRT_2PI * torch.exp(-0.5 * h * h)
    return F.gelu(h), cdf + h * pdf, pdf * (2 - h * h)


def _relu(_, h):
    return F.relu(h), (h > 0).to(h.dtype), None


RULES: dict[type, Rule] = {
    nn.Tanh: _tanh, nn.Sigmoid: _sigmoid, nn.SiLU: _silu, nn.Softplus: _softplus,
    nn.GELU: _gelu, nn.ReLU: _relu,
}


def propagate(module: nn.Module, jet: Jet) -> Jet:
    """The jet of module(x) from the jet of x."""
    if hasattr(module, "taylor"):
        return module.taylor(jet)
    if hasattr(module, "taylor_rule"):
        return jet.elementwise(*module.taylor_rule(jet.value))
    if isinstance(module, nn.Linear):
        return jet.linear(module.weight, module.bias)
    if isinstance(module, nn.Sequential):
        for m in module:
            jet = propagate(m, jet)
        return jet
    if isinstance(module, nn.Identity):
        return jet
    rule = RULES.get(type(module))
    if rule is None:
        raise NoTaylorRule(f"{type(module).__name__} has no Taylor rule")
    return jet.elementwise(*rule(module, jet.value))


def unsupported(module: nn.Module) -> str | None:
    """The type name of the first module `propagate` cannot pass, or None if it can."""
    if hasattr(module, "taylor"):
        children = list(module.children())
    elif isinstance(module, nn.Sequential):
        children = list(module)
    elif (hasattr(module, "taylor_rule") or isinstance(module, (nn.Linear, nn.Identity))
          or type(module) in RULES):
        children = []
    else:
        return type(module).__name__
    for child in children:
        name = unsupported(child)
        if name is not None:
            return name
    return None
