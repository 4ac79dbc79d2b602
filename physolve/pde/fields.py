"""Fields with derivatives by name: `u.x`, `u.xx`, `u.t`, the mixed `u.xy`.

A `Field` is a lazy handle (output name + derivative multi-index) on a `DerivativeBackend`. It
behaves like a tensor in arithmetic and in torch functions (`torch.sin(u)`), so residuals read like
the mathematics; the backend computes each requested derivative once and caches it.
"""
from __future__ import annotations

import functools
from typing import Sequence

import torch

from .backend import DerivativeBackend

# Attribute names a Field keeps for itself; coordinates may not use them (checked by Problem).
RESERVED_NAMES = frozenset({"d", "value", "output", "wrt", "backend", "shape", "dtype", "device"})


@functools.lru_cache(maxsize=4096)
def parse_derivative(attr: str, inputs: tuple[str, ...]) -> tuple[str, ...] | None:
    """Split `attr` into a sequence of input names: "xxt" -> ("x", "x", "t").

    Returns None when `attr` is not a concatenation of input names; raises when it is one in
    more than one way (e.g. inputs "x", "xx" and attribute "xxx").
    """
    # parses[i] = all ways to split attr[:i]; at most two are kept, enough to detect ambiguity
    parses: list[list[tuple[str, ...]]] = [[()]] + [[] for _ in attr]
    for i in range(len(attr)):
        if not parses[i]:
            continue
        for name in inputs:
            if attr.startswith(name, i):
                parses[i + len(name)].extend(p + (name,) for p in parses[i])
                del parses[i + len(name)][2:]
    if not parses[-1]:
        return None
    if len(parses[-1]) > 1:
        raise AttributeError(
            f"'{attr}' splits into input names in more than one way "
            f"({parses[-1][0]} and {parses[-1][1]}); use .d(...) with explicit names"
        )
    return parses[-1][0]


def _unwrap(obj):
    if isinstance(obj, Field):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v) for k, v in obj.items()}
    return obj


class Field:
    """A named output, or one of its partial derivatives, on a derivative backend."""

    __slots__ = ("backend", "output", "wrt")

    def __init__(self, backend: DerivativeBackend, output: str, wrt: tuple[str, ...] = ()):
        self.backend = backend
        self.output = output
        self.wrt = tuple(wrt)

    @property
    def value(self) -> torch.Tensor:
        if not self.wrt:
            return self.backend.value(self.output)
        return self.backend.derivative(self.output, self.wrt)

    def d(self, *names: str) -> "Field":
        """The derivative with respect to the named inputs: `u.d("x", "x")` is `u.xx`."""
        for n in names:
            if n not in self.backend.inputs:
                raise ValueError(f"'{n}' is not an input; inputs are {self.backend.inputs}")
        return Field(self.backend, self.output, self.wrt + names)

    def __getattr__(self, attr: str) -> "Field":
        if attr.startswith("__"):
            raise AttributeError(attr)
        names = parse_derivative(attr, self.backend.inputs)
        if names is None:
            first = self.backend.inputs[0]
            raise AttributeError(
                f"field '{self.output}' has no attribute '{attr}': derivatives are named by the "
                f"inputs {self.backend.inputs}, e.g. {self.output}.{first}, "
                f"{self.output}.{first * 2}"
            )
        return Field(self.backend, self.output, self.wrt + names)

    def __repr__(self) -> str:
        suffix = "_" + "".join(self.wrt) if self.wrt else ""
        return f"Field({self.output}{suffix})"

    # Tensor-like behaviour: any torch function, and the arithmetic operators.
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return func(*_unwrap(args), **_unwrap(kwargs or {}))

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def device(self):
        return self.value.device

    def __array__(self, dtype=None):  # for numpy interop in plotting code
        return self.value.detach().cpu().numpy().astype(dtype) if dtype else \
            self.value.detach().cpu().numpy()


def _binary(op):
    def forward(self, other):
        return op(self.value, _unwrap(other))

    def reverse(self, other):
        return op(_unwrap(other), self.value)

    return forward, reverse


for _name, _op in {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "truediv": torch.true_divide,
    "pow": torch.pow,
}.items():
    _fwd, _rev = _binary(_op)
    setattr(Field, f"__{_name}__", _fwd)
    setattr(Field, f"__r{_name}__", _rev)
Field.__neg__ = lambda self: -self.value
Field.__pos__ = lambda self: self.value
Field.__abs__ = lambda self: self.value.abs()


class Fields:
    """What a residual receives: `f.u` is the field u, `f.x` the coordinate x."""

    __slots__ = ("backend",)

    def __init__(self, backend: DerivativeBackend):
        self.backend = backend

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str):
        if name in self.backend.outputs:
            return Field(self.backend, name)
        if name in self.backend.inputs:
            return self.backend.coordinate(name)
        raise AttributeError(
            f"no field or coordinate '{name}'; outputs are {self.backend.outputs}, "
            f"inputs are {self.backend.inputs}"
        )

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.backend.outputs

    def coordinates(self) -> dict[str, torch.Tensor]:
        return {n: self.backend.coordinate(n) for n in self.backend.inputs}


def as_tensor(x) -> torch.Tensor:
    """A Field's value, or the tensor itself."""
    return x.value if isinstance(x, Field) else x


def spatial_names(field: Field, over: Sequence[str] | None) -> tuple[str, ...]:
    names = tuple(over) if over is not None else field.backend.spatial
    if not names:
        raise ValueError("this problem has no spatial inputs to take a gradient over")
    return names
