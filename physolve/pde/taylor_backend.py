"""Forward-mode derivatives for network solvers: the Taylor backend and per-term plans.

A residual asks for derivatives one at a time (`u.t`, then `u.xx`), but a forward pass has to
know all of them before it starts. So each term of a loss (the PDE, each condition) keeps a
plan: its first evaluation runs on the autograd backend and records which (output,
multi-index) pairs it asked for; then, and from then on, one jet pass (jets.py) propagates
exactly those through the network. The residual code never knows.

Reverse mode remains wherever it is the right tool: a term that differentiates an arbitrary
expression (`d(k * u.x, "x")`) or asks for a derivative above second order is evaluated by
the autograd backend from its first evaluation on, and a term that asks later for something
its plan lacks (a branch in the residual) extends the plan and is evaluated again.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Sequence

import torch
from torch import nn

from .autograd import AutogradBackend
from .backend import PointBackend
from .fields import Fields
from .jets import Jet, propagate, seed

Key = tuple[str, tuple[int, ...]]  # (output, sorted input axes)
Directions = tuple[tuple[int, ...], tuple[tuple[int, int], ...]]  # (firsts, pairs)


class _Replan(Exception):
    """Raised by the Taylor backend for a request outside its plan (key None: `diff`)."""

    def __init__(self, key: Key | None):
        super().__init__(key)
        self.key = key


class TaylorBackend(PointBackend):
    """Values and partials up to second order of every output, read off one jet (N, m).

    It answers only what its jet holds; anything else raises `_Replan` for the engine to
    handle. The jet need not depend on the points through autograd, so `diff` of an
    expression is not available here (the engine evaluates such terms by autograd)."""

    def __init__(self, jet: Jet, points: torch.Tensor, inputs: Sequence[str],
                 outputs: Sequence[str], spatial: Sequence[str]):
        super().__init__(points, inputs, outputs, spatial)
        n = points.shape[0]
        cache: dict[Key, torch.Tensor] = {}
        for j, out in enumerate(self.outputs):
            cache[(out, ())] = jet.value[:, j]
            for a, g in zip(jet.firsts, jet.first):
                cache[(out, (a,))] = g[:, j].expand(n)
            for (p, q), h in zip(jet.pairs, jet.second):
                cache[(out, tuple(sorted((jet.firsts[p], jet.firsts[q]))))] = (
                    jet.value.new_zeros(n) if h is None else h[:, j].expand(n))
        self._cache = cache

    def derivative(self, output: str, wrt: tuple[str, ...]) -> torch.Tensor:
        key = self.key(output, wrt)
        found = self._cache.get(key)
        if found is None:
            if output not in self.outputs:
                raise KeyError(f"unknown output '{output}'; outputs are {self.outputs}")
            raise _Replan(key)
        return found

    def diff(self, expr: torch.Tensor, name: str) -> torch.Tensor:
        raise _Replan(None)


class _RecordingBackend(AutogradBackend):
    """The autograd backend, noting the keys a residual asks for and whether it calls diff."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requested: set[Key] = set()
        self.differentiates = False
        self._depth = 0  # derivative() calls itself for lower orders; record the outer call only

    def derivative(self, output: str, wrt: tuple[str, ...]) -> torch.Tensor:
        self._depth += 1
        try:
            result = super().derivative(output, wrt)
        finally:
            self._depth -= 1
        if self._depth == 0:
            self.requested.add(self.key(output, wrt))
        return result

    def diff(self, expr: torch.Tensor, name: str) -> torch.Tensor:
        self.differentiates = True
        return super().diff(expr, name)


class _Plan:
    """How one term is evaluated: "record" (not yet seen), "taylor" or "autograd"."""

    def __init__(self):
        self.mode = "record"
        self.keys: set[Key] = set()
        self.cache: dict = {}  # the jet's per-term state (e.g. the hard transform's jets)

    def recorded(self, keys: set[Key], differentiates: bool) -> None:
        if differentiates or any(len(axes) > 2 for _, axes in keys):
            self.mode = "autograd"
        else:
            self.mode, self.keys = "taylor", set(keys)

    def replan(self, key: Key | None) -> None:
        if key is None or len(key[1]) > 2:
            self.mode = "autograd"
        else:
            self.keys.add(key)

    def directions(self) -> Directions:
        firsts = tuple(sorted({a for _, axes in self.keys for a in axes}))
        index = {a: k for k, a in enumerate(firsts)}
        pairs = sorted({axes for _, axes in self.keys if len(axes) == 2})
        return firsts, tuple((index[a], index[b]) for a, b in pairs)


def autograd_jet(fn: Callable[[torch.Tensor], torch.Tensor], points: torch.Tensor,
                 firsts: tuple[int, ...], pairs: tuple[tuple[int, int], ...]) -> Jet:
    """The jet of a small function of the points (N, d) -> (N, m) by reverse passes, for
    the parts of a model that have no Taylor rule of their own."""
    d = points.shape[1]
    X = points.detach().requires_grad_(True)
    inputs = tuple(f"x{i}" for i in range(d))
    values = fn(X)
    outputs = tuple(f"y{j}" for j in range(values.shape[1]))
    # create_graph even for first partials only: the outputs (A's and phi's columns) share one
    # graph, which a pass without it would free after the first column.
    backend = AutogradBackend(lambda _: values, X, inputs, outputs, inputs, create_graph=True)

    def column(*axes):
        return torch.stack([backend.derivative(o, tuple(inputs[a] for a in axes))
                            for o in outputs], dim=-1)

    first = [column(a) for a in firsts]
    second = [column(firsts[p], firsts[q]) for p, q in pairs]
    return Jet(backend.values, first, second, tuple(firsts), tuple(pairs))


class NetworkJet:
    """The jet of u(X) = transform(X, net((X - center) / half)) for a transform that is
    affine in the network's outputs, u = A(X) + phi(X) * net: the network's jet comes from
    its layers' Taylor rules; A's and phi's from `autograd_jet`, computed once per set of
    points when they depend on nothing trainable, then composed by the product rule."""

    def __init__(self, net: nn.Module, center: torch.Tensor | None = None,
                 half: torch.Tensor | None = None,
                 offset_and_scale: Callable[[torch.Tensor], tuple] | None = None):
        self.net, self.center, self.half = net, center, half
        self.offset_and_scale = offset_and_scale

    def __call__(self, points: torch.Tensor, firsts, pairs, cache: dict,
                 given: tuple | None = None) -> Jet:
        """`given`: the transform's jets as `transform_inputs` flattens them, taken instead
        of computing them here (a compiled loss receives them as inputs)."""
        start = seed(points, firsts, pairs, self.center, self.half)
        # values only (most conditions): the module's own forward, without derivative factors
        jet = start._like(self.net(start.value), [], []) if not firsts else \
            propagate(self.net, start)
        if self.offset_and_scale is None:
            return jet
        if given is not None:
            a, phi = (Jet(v, list(f), list(s), tuple(firsts), tuple(pairs)) for v, f, s in given)
        else:
            a, phi = self.transform_jets(points, firsts, pairs, cache)
        return a + phi * jet

    def transform_inputs(self, points, firsts, pairs, cache: dict) -> tuple | None:
        """The transform's jets (A's, then phi's) as tuples (value, firsts, seconds) of
        tensors, None without a transform: what a compiled loss takes as inputs, since their
        reverse passes and data-dependent branches (hard.py) cannot be traced into a graph."""
        if self.offset_and_scale is None:
            return None
        return tuple((j.value, tuple(j.first), tuple(j.second))
                     for j in self.transform_jets(points, firsts, pairs, cache))

    def transform_jets(self, points, firsts, pairs, cache: dict) -> tuple[Jet, Jet]:
        # Cached per term for the same points tensor, unchanged in place, and directions.
        stamp = (points._version, firsts, pairs)
        held = cache.get("transform")
        if held is not None and held[0] is points and held[1] == stamp:
            return held[2]

        def both(X):
            return torch.cat(self.offset_and_scale(X), dim=1)

        jet = autograd_jet(both, points, firsts, pairs)
        m = jet.value.shape[1] // 2
        # nothing trainable inside: the same for every step, kept without its graph
        constant = not both(points.detach()).requires_grad
        keep = (lambda t: t.detach()) if constant else (lambda t: t)

        def part(cols):
            return jet._like(keep(jet.value[:, cols]), [keep(g[:, cols]) for g in jet.first],
                             [keep(h[:, cols]) for h in jet.second])

        result = part(slice(0, m)), part(slice(m, 2 * m))
        if constant:
            cache["transform"] = (points, stamp, result)
        return result


def _activated(backend: PointBackend):
    """`backend.active()`, except while torch.compile traces the loss (PINN(compile=True)):
    Dynamo cannot set a ContextVar, so there the backend is not made active. A residual that
    calls a free operator (physolve.laplacian) then fails to compile and runs eagerly."""
    return contextlib.nullcontext() if torch.compiler.is_compiling() else backend.active()


class TaylorEngine:
    """Evaluates the terms of a loss with Taylor backends, planning each term by name.

    `forward` is the model X -> outputs (the reference the first evaluation of every term
    runs on); `jet(points, firsts, pairs, cache)` gives the same model's jet."""

    def __init__(self, forward: Callable[[torch.Tensor], torch.Tensor], jet: NetworkJet,
                 inputs: Sequence[str], outputs: Sequence[str], spatial: Sequence[str]):
        self.forward, self.jet = forward, jet
        self.names = (tuple(inputs), tuple(outputs), tuple(spatial))
        self.plans: dict = {}

    def mode(self, term) -> str:
        """"record", "taylor" or "autograd": how `term` is evaluated next."""
        return self.plans[term].mode if term in self.plans else "record"

    def record(self, term, points: torch.Tensor, fn: Callable[[Fields], object]):
        """fn(Fields) by autograd, planning `term` from what it asks for (a solver can do
        this at set-up, where it evaluates a term once anyway)."""
        plan = self.plans.setdefault(term, _Plan())
        backend = _RecordingBackend(self.forward, points, *self.names)
        with backend.active():
            result = fn(Fields(backend))
        plan.recorded(backend.requested, backend.differentiates)
        return result

    def transform_inputs(self, term, points: torch.Tensor) -> tuple | None:
        """The hard transform's jets for the Taylor-planned `term` at `points`, computed
        here, eagerly, and cached per point set (NetworkJet.transform_inputs); None without
        a transform. A compiled loss takes them as inputs and passes them to `evaluate`."""
        plan = self.plans[term]
        return self.jet.transform_inputs(points, *plan.directions(), plan.cache)

    def evaluate(self, term, points: torch.Tensor, fn: Callable[[Fields], object],
                 transform: tuple | None = None):
        """fn(Fields) for the term named `term` (any hashable) at `points`; `transform`:
        the hard transform's jets from `transform_inputs`, for the plan's directions."""
        plan = self.plans.setdefault(term, _Plan())
        while True:
            if plan.mode == "taylor":
                firsts, pairs = plan.directions()
                backend = TaylorBackend(self.jet(points, firsts, pairs, plan.cache, transform),
                                        points, *self.names)
            else:
                backend = _RecordingBackend(self.forward, points, *self.names)
            try:
                with _activated(backend):
                    result = fn(Fields(backend))
            except _Replan as miss:
                plan.replan(miss.key)
                transform = None  # for the old directions
                continue
            if plan.mode == "record":
                plan.recorded(backend.requested, backend.differentiates)
                if plan.mode == "taylor":
                    # Evaluated again on the planned path, so that a term's value depends on
                    # the model and points only, not on whether this is its first evaluation
                    # (a run resumed from a checkpoint then continues bitwise).
                    continue
            return result
