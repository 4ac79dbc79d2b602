"""Where collocation points come from, for every point-based solver (docs/adaptive_sampling.md).

    PINN(sampler="rad", sampler_options={"k": 2.0, "c": 0.0})

uniform: fresh (quasi-)random points every round, the default; rar: residual-based adaptive
refinement; rad: residual-based adaptive distribution; aas: adversarial adaptive sampling
with a normalising flow. Point sets inside the unit cube and on faces stay in
physolve.geometry.sampling; a Sampler decides which interior points a solver trains on.
"""
from __future__ import annotations

from typing import Any, Mapping

from .base import Sampler, SettingError
from .registry import samplers
from . import aas, rad, rar, uniform  # noqa: F401  (register the samplers)
from .aas import AAS
from .rad import RAD
from .rar import RAR
from .uniform import Uniform


def make_sampler(sampler: str | Sampler, options: Mapping[str, Any] | None, who: str
                 ) -> Sampler:
    """A Sampler from a registered name and its settings, or a ready instance (no settings).

    Errors name the key (`sampler`, `sampler_options.<key>`), the value and what is allowed."""
    import inspect

    if isinstance(sampler, Sampler):
        if options:
            raise ValueError(f"{who}: sampler_options apply to a sampler given by name; "
                             f"{sampler!r} is already built (got options {dict(options)})")
        return sampler
    if not isinstance(sampler, str) or sampler not in samplers:
        raise ValueError(f"{who}: sampler must be one of {', '.join(samplers.names())} or a "
                         f"physolve.sampling.Sampler, got {sampler!r}")
    if options is not None and not isinstance(options, Mapping):
        raise ValueError(f"{who}: sampler_options must be a mapping of settings, got "
                         f"{options!r}")
    cls = samplers.get(sampler)
    allowed = [p for p in inspect.signature(cls).parameters]
    for key in options or {}:
        if key not in allowed:
            raise ValueError(f"{who}: sampler_options.{key} is not a setting of {sampler!r}; "
                             f"its settings: {', '.join(allowed) or 'none'}")
    try:
        return cls(**dict(options or {}))
    except SettingError as err:
        raise ValueError(f"{who}: sampler_options.{err.key} {err.message} (for "
                         f"{sampler!r})") from None


__all__ = ["AAS", "RAD", "RAR", "Sampler", "Uniform", "make_sampler", "samplers"]
