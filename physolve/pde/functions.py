"""Turn user values (constants, callables of named coordinates, arrays) into point functions.

Users write boundary values the way they write the mathematics, `lambda x, t: torch.sin(x) * t`;
the parameters are matched to the problem's input names, so the same callable works whatever the
order of the coordinates in the point tensor.
"""
from __future__ import annotations

import inspect
import numbers
from typing import Callable, Sequence

import numpy as np
import torch

PointFunction = Callable[[torch.Tensor], torch.Tensor]


def coordinate_function(value, inputs: Sequence[str], what: str, allowed: Sequence[str] | None = None
                        ) -> PointFunction:
    """A function of points (N, d) -> (N,) from a constant or a callable of named coordinates.

    `allowed` restricts which coordinates the callable may use (an initial value may not depend
    on time). The callable must use torch operations when it enters a hard constraint, because
    then its derivatives are taken by automatic differentiation.
    """
    inputs = tuple(inputs)
    allowed = tuple(allowed) if allowed is not None else inputs
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        constant = float(value)
        return lambda points: torch.full(
            (points.shape[0],), constant, dtype=points.dtype, device=points.device
        )
    if not callable(value):
        raise TypeError(f"{what} must be a number or a callable of coordinates {allowed}, "
                        f"got {type(value).__name__}")
    params = inspect.signature(value).parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in params):
        names = allowed
    else:
        names = tuple(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                      and p.default is p.empty)
        unknown = [n for n in names if n not in allowed]
        if unknown:
            raise ValueError(
                f"{what}: the callable's parameters {unknown} are not coordinates; "
                f"it may take any of {allowed} by name"
            )
    index = [inputs.index(n) for n in names]

    def evaluate(points: torch.Tensor) -> torch.Tensor:
        out = value(**{n: points[:, i] for n, i in zip(names, index)})
        out = torch.as_tensor(out, dtype=points.dtype, device=points.device)
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        return out.expand(points.shape[0]) if out.ndim == 0 else out

    return evaluate


def predicate_function(fn: Callable, inputs: Sequence[str], what: str) -> PointFunction:
    """A boolean mask function of points from a callable of named coordinates."""
    evaluate = coordinate_function(fn, inputs, what)
    return lambda points: evaluate(points).bool()


def as_points(points, inputs: Sequence[str], what: str) -> torch.Tensor:
    """Points given as an (N, d) array or a dict of coordinate arrays -> float64 tensor (N, d)."""
    if isinstance(points, dict):
        missing = [n for n in inputs if n not in points]
        extra = [n for n in points if n not in inputs]
        if missing or extra:
            raise ValueError(f"{what}: coordinates must be exactly {tuple(inputs)}; "
                             f"missing {missing}, unexpected {extra}")
        cols = [torch.as_tensor(np.asarray(points[n], dtype=np.float64)).reshape(-1) for n in inputs]
        if len({c.shape[0] for c in cols}) != 1:
            raise ValueError(f"{what}: coordinate arrays have different lengths")
        return torch.stack(cols, dim=1)
    arr = torch.as_tensor(np.asarray(points, dtype=np.float64))
    if arr.ndim == 1 and len(inputs) == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != len(inputs):
        raise ValueError(f"{what}: points must have shape (N, {len(inputs)}) for inputs "
                         f"{tuple(inputs)}, got {tuple(arr.shape)}")
    if not torch.isfinite(arr).all():
        raise ValueError(f"{what}: points contain NaN or inf")
    return arr
