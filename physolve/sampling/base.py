"""The Sampler interface: where a point-based solver's interior collocation points come from.

A solver owns a Sampler and asks it, once per training round, for that round's interior
points, handing it a function that evaluates the current PDE residual anywhere. A sampler
may ignore the residual (uniform), keep points from round to round (RAR), draw from a
density built on it (RAD) or train a model of where it is large (AAS).

Conventions: points are float64 CPU tensors of shape (N, d), as the geometry draws them;
the residual function maps such points to |r| (N,), the Euclidean norm over the PDE's
equations, detached. Every random draw of round r comes from `seeds(r, k)` (an integer seed
derived from the solver's seed, the round and a stream number k), so a round's points follow
from the seed and the sampler's state alone; `state_dict` holds whatever a round depends on
beyond that (accumulated points, a flow and its optimizer), which makes a resumed run
bitwise identical to an uninterrupted one on the CPU.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable

import torch
from torch import Tensor

from ..checks import number_requirement

Residual = Callable[[Tensor], Tensor]
Seeds = Callable[..., int]


class Sampler(ABC):
    """Interior collocation points, round by round.

    Subclasses implement `_sample` and, when a round depends on more than its seed, extend
    `state_dict` / `load_state_dict`. Settings are constructor arguments, validated there
    (a ValueError naming the setting, the value and what is allowed).
    """

    name = "sampler"
    #: True when `_sample` reads the residual (the solver must then be able to evaluate it).
    adaptive = False

    def setup(self, domain, *, method: str, seeds: Seeds) -> None:
        """Bind to a domain. method: the geometry's sampling method for uniform draws
        ("sobol", "uniform", ...); seeds(round, k): the seed of stream k in a round."""
        self.domain, self.method, self.seeds = domain, method, seeds
        self.round = 0
        self.points: Tensor | None = None
        self.weights: Tensor | None = None

    def sample(self, round_index: int, n: int, residual: Residual | None = None) -> Tensor:
        """The interior points of round `round_index` (about n of them; RAR adds to them).

        Sets `points` and `weights` (None: every point weighs the same; else (N,) loss
        weights with mean 1, see the samplers that give them)."""
        if self.adaptive and round_index > 0 and residual is None:
            raise ValueError(f"sampler {self.name!r} needs the residual to draw round "
                             f"{round_index}")
        self.round = round_index
        self.weights = None
        self.points = self._sample(round_index, n, residual)
        return self.points

    @abstractmethod
    def _sample(self, round_index: int, n: int, residual: Residual | None) -> Tensor: ...

    def uniform(self, n: int, round_index: int, stream: int | None = None) -> Tensor:
        """n points of the domain by the solver's sampling method. Stream None is the seed
        the solvers used before samplers existed, so "uniform" reproduces their points."""
        keys = () if stream is None else (stream,)
        return self.domain.sample_interior(n, method=self.method,
                                           seed=self.seeds(round_index, *keys))

    def diagnostics(self) -> dict[str, float]:
        """Numbers that describe the last round (e.g. acceptance rate), for logs and tables."""
        return {}

    # --- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = {"round": self.round}
        if self.adaptive:  # its points depend on the residual history, not only on the seed
            state["points"] = self.points
            state["weights"] = self.weights
        return state

    def load_state_dict(self, state: dict[str, Any], n: int) -> None:
        """Restore the sampler, and its current points, as `state_dict` saved them."""
        self.round = state["round"]
        if self.adaptive:
            self.points, self.weights = state["points"], state["weights"]
        else:
            self.sample(self.round, n)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# --- validation of settings -------------------------------------------------------------------
class SettingError(ValueError):
    """A sampler setting out of range; `key` names it (make_sampler adds where it came from)."""

    def __init__(self, who: str, key: str, message: str):
        super().__init__(f"{who}: {key} {message}")
        self.who, self.key, self.message = who, key, message


def check_positive_int(who: str, key: str, value, minimum: int = 1) -> int:
    needed = number_requirement(value, minimum, integer=True)
    if needed is not None:
        raise SettingError(who, key, f"must be {needed}, got {value!r}")
    return int(value)


def check_number(who: str, key: str, value, low: float = 0.0, high: float = float("inf"),
                 low_open: bool = False, high_open: bool = False) -> float:
    needed = number_requirement(value, low, None if high == float("inf") else high,
                                lo_open=low_open, hi_open=high_open)
    if needed is not None:
        raise SettingError(who, key, f"must be {needed}, got {value!r}")
    return float(value)


def check_choice(who: str, key: str, value, allowed) -> str:
    if value not in allowed:
        raise SettingError(who, key, f"must be one of {', '.join(map(repr, allowed))}, "
                                     f"got {value!r}")
    return value


def residual_in_chunks(residual: Residual, points: Tensor, chunk: int = 8192) -> Tensor:
    """residual(points) evaluated a chunk at a time (bounds the derivative graphs' memory)."""
    return torch.cat([residual(c).reshape(-1) for c in torch.split(points, chunk)])
