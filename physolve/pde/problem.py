"""The Problem: domain, PDE residual, conditions, unknown coefficients and a reference solution.

A Problem states the mathematics only. It does not know how derivatives are computed or where
collocation points go; those belong to the solver that is handed the problem.
"""
from __future__ import annotations

import inspect
from typing import Callable, Mapping, Sequence

import torch

from .conditions import Condition
from .fields import RESERVED_NAMES, Fields, as_tensor
from .functions import predicate_function
from .unknowns import Unknown

_DEFAULT_SPATIAL = ("x", "y", "z")


def _names(spec, what: str) -> tuple[str, ...]:
    names = tuple(spec.split()) if isinstance(spec, str) else tuple(spec)
    for n in names:
        if not (isinstance(n, str) and n.isidentifier()) or n in RESERVED_NAMES:
            raise ValueError(f"{what}: {n!r} is not usable as a name (identifiers other than "
                             f"{sorted(RESERVED_NAMES)})")
    if len(set(names)) != len(names):
        raise ValueError(f"{what}: names repeat in {names}")
    return names


def equation_terms(out) -> dict[str, torch.Tensor]:
    """The PDE residual(s) a residual function returned, as named equations.

    A dict keeps its names (`{"momentum": ..., "continuity": ...}`); a list or tuple gets
    "pde0", "pde1", ...; a single tensor is "pde". These names are what loss weights, per-term
    losses in metrics and logs, and configs (`model.weights`) use, so every solver family
    that evaluates a residual reads it through this one function.
    """
    if isinstance(out, Mapping):
        terms = dict(out)
        for name in terms:
            # names become keys of configs and metrics records (loss_<name>)
            if not (isinstance(name, str) and name.isidentifier()):
                raise ValueError(f"residual: equation name {name!r} is not usable; name "
                                 "equations with identifiers such as 'momentum'")
    elif isinstance(out, (list, tuple)):
        terms = {f"pde{i}": v for i, v in enumerate(out)}
    else:
        return {"pde": as_tensor(out)}
    if not terms:
        raise ValueError(f"residual returned an empty {type(out).__name__}: no equation to solve")
    return {name: as_tensor(v) for name, v in terms.items()}


def geometric_axis(i: int) -> str:
    """The letter geometry uses for face names along spatial axis i (xmin, ymax, x3min, ...)."""
    return _DEFAULT_SPATIAL[i] if i < 3 else f"x{i}"


class Problem:
    """A PDE problem stated once, solvable by any solver family.

    Parameters
    ----------
    domain: a physolve.geometry domain; `space * TimeInterval(t0, t1)` for evolution problems,
        whose last input is then time.
    residual: `residual(f, **unknowns)` returning the PDE residual(s): a tensor (one equation,
        named "pde"), a list or tuple of tensors (a system: "pde0", "pde1", ...), or a dict of
        named equations, e.g. `{"momentum": u.x - v, "continuity": v.x + u}`. The names key
        the loss weights (`PINN(weights={"momentum": 10.0})`; "pde" weighs every equation
        without a weight of its own), the per-term losses `loss_<name>` in metrics and logs,
        and `model.weights` in configs. `f.u` is the field u, `f.u.xx` its derivative, `f.x`
        the coordinate x. Parameters named like an unknown receive its value.
    inputs: coordinate names in the order of the domain's axes (default x, y, z and t).
    outputs: names of the unknown fields, e.g. "u" or "u v p".
    conditions: boundary, initial and observation conditions.
    reference: a reference solution for metrics (physolve.pde.reference).
    unknowns: learnable coefficients, name -> Unknown or initial value (inverse problems).
    """

    def __init__(
        self,
        domain,
        residual: Callable,
        inputs: str | Sequence[str] | None = None,
        outputs: str | Sequence[str] = "u",
        conditions: Sequence[Condition] = (),
        reference=None,
        unknowns: Mapping[str, Unknown | float] | None = None,
        name: str = "problem",
    ):
        self.domain = domain
        self.name = name
        self.time = None
        time_domain = getattr(domain, "time", None)
        n_space = domain.dim - (1 if time_domain is not None else 0)
        if inputs is None:
            inputs = list(_DEFAULT_SPATIAL[:n_space]) if n_space <= 3 else \
                [f"x{i}" for i in range(n_space)]
            inputs += ["t"] if time_domain is not None else []
        self.inputs = _names(inputs, "inputs")
        if len(self.inputs) != domain.dim:
            raise ValueError(f"inputs {self.inputs} name {len(self.inputs)} coordinates but the "
                             f"domain has {domain.dim}")
        if time_domain is not None:
            self.time = self.inputs[-1]
        self.spatial = tuple(n for n in self.inputs if n != self.time)
        self.outputs = _names(outputs, "outputs")
        clash = set(self.inputs) & set(self.outputs)
        if clash:
            raise ValueError(f"names {sorted(clash)} are used for both inputs and outputs")

        self.unknowns = {k: v if isinstance(v, Unknown) else Unknown(float(v))
                         for k, v in (unknowns or {}).items()}
        self.residual = residual
        self._check_residual_signature()

        self.conditions = list(conditions)
        self._name_conditions()
        for c in self.conditions:
            if not isinstance(c, Condition):
                raise TypeError(f"conditions must be physolve conditions, got {type(c).__name__}")
            c.bind(self)
        self.reference = reference
        if reference is not None:
            reference.bind(self)

    # --- validation helpers used by conditions -------------------------------------------
    def resolve_output(self, output: str | None, what: str) -> str:
        if output is None:
            if len(self.outputs) > 1:
                raise ValueError(f"{what}: the problem has outputs {self.outputs}; "
                                 "say which one with output=...")
            return self.outputs[0]
        if output not in self.outputs:
            raise ValueError(f"{what}: output {output!r} is not one of {self.outputs}")
        return output

    def boundary_selector(self, on, what: str):
        """Translate a user selector into the geometry's terms and check it matches something.

        Strings may name an input ("x": both ends along x; "xmin"/"xmax": one end), a primitive
        (by its name=...) or a face label; callables take coordinates by name and return a mask.
        """
        if on is None:
            selector = None
        elif callable(on):
            selector = predicate_function(on, self.inputs, f"{what} on=")
        elif isinstance(on, (list, tuple)):
            selector = [self.boundary_selector(o, what) for o in on]
        elif isinstance(on, str):
            tokens = []
            for tok in on.split("|"):
                tok = tok.strip()
                for s_i, s in enumerate(self.spatial):
                    axis = geometric_axis(s_i)
                    if tok == s:
                        tok = f"{axis}min|{axis}max"
                    elif tok in (f"{s}min", f"{s}max"):
                        tok = axis + tok[len(s):]
                tokens.append(tok)
            selector = "|".join(tokens)
        else:
            raise TypeError(f"{what}: on= must be None, a string, a callable or a list, "
                            f"got {type(on).__name__}")
        if selector is not None:
            self.domain.select(selector)  # fails early, listing the boundary labels
        return selector

    def _check_residual_signature(self):
        if not callable(self.residual):
            raise TypeError("residual must be a callable residual(f, ...)")
        params = list(inspect.signature(self.residual).parameters.values())
        if not params:
            raise TypeError("residual must take the fields as its first argument: residual(f)")
        for p in params[1:]:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if p.name not in self.unknowns and p.default is p.empty:
                raise TypeError(f"residual parameter '{p.name}' has no default and is not an "
                                f"unknown; unknowns are {sorted(self.unknowns)}")
        accepted = {p.name for p in params[1:]}
        has_kwargs = any(p.kind == p.VAR_KEYWORD for p in params)
        missing = [u for u in self.unknowns if u not in accepted and not has_kwargs]
        if missing:
            raise TypeError(f"unknowns {missing} are not parameters of the residual")

    def _name_conditions(self):
        seen: dict[str, int] = {}
        for c in self.conditions:
            if c.name is None:
                seen[c.kind] = seen.get(c.kind, 0) + 1
        counters: dict[str, int] = {}
        for c in self.conditions:
            if c.name is None:
                if seen[c.kind] == 1:
                    c.name = c.kind
                else:
                    counters[c.kind] = counters.get(c.kind, 0) + 1
                    c.name = f"{c.kind}{counters[c.kind] - 1}"
        names = [c.name for c in self.conditions]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"condition names repeat: {sorted(dup)}")

    # --- evaluation -------------------------------------------------------------------------
    def residual_terms(self, f: Fields, unknowns: Mapping[str, torch.Tensor]
                       ) -> dict[str, torch.Tensor]:
        """Evaluate the PDE residual(s) as named equations (see `equation_terms`)."""
        terms = equation_terms(self.residual(f, **unknowns))
        # an equation and a condition of the same name would share one weight and one loss
        clash = sorted(set(terms) & {c.name for c in self.conditions})
        if clash:
            raise ValueError(f"residual: equation names {clash} are also condition names; "
                             "rename the equations or give the conditions name=...")
        return terms

    @property
    def hard_conditions(self) -> list[Condition]:
        return [c for c in self.conditions if c.hard]

    @property
    def soft_conditions(self) -> list[Condition]:
        return [c for c in self.conditions if not c.hard]

    def __repr__(self) -> str:
        return (f"Problem({self.name!r}, inputs={self.inputs}, outputs={self.outputs}, "
                f"conditions={[c.name for c in self.conditions]})")
