"""The solver interface every solver family implements, and the solver registry."""
from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch

from ..registry import Registry

solvers = Registry("solver")


def derived_seed(seed: int, *keys: int) -> int:
    """A reproducible, independent seed for one use (e.g. round r of condition k's points)."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


def fresh_seed() -> int:
    """A seed from the operating system's entropy, for runs that were given none."""
    return int(np.random.SeedSequence().generate_state(1)[0])


def check_weight_names(weights: dict, equations, conditions, who: str) -> None:
    """Refuse loss weights that name no term of the problem, or that are not numbers >= 0.

    The terms are the PDE's equations (by the names of `Problem.residual_terms`), the soft
    conditions, and "pde", which weighs every equation that has no weight of its own.
    """
    allowed = sorted({"pde", *equations, *conditions})
    unknown = [k for k in weights if k not in allowed]
    if unknown:
        raise ValueError(f"{who}: loss weights for unknown terms {unknown}; terms are "
                         f"{allowed} (equations {list(equations)}, conditions "
                         f"{list(conditions)}; 'pde' weighs every equation without a weight "
                         "of its own)")
    for k, w in weights.items():
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not w >= 0:
            raise ValueError(f"{who}: loss weight of {k!r} must be a number >= 0, got {w!r}")


class Solver(ABC):
    """A solver family applied to one Problem.

    A solver owns its discretisation (collocation points, a grid, a data set) and its trainable
    parameters; it exposes a loss for the trainer and predictions for metrics and output.
    `setup` is called once by the trainer with the run's dtype, device and seed.
    """

    name: str = "solver"

    @abstractmethod
    def setup(self, problem, *, dtype: torch.dtype, device: torch.device, seed: int | None
              ) -> None:
        ...

    @abstractmethod
    def parameters(self) -> list[torch.nn.Parameter]:
        ...

    @abstractmethod
    def loss(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The weighted total loss and its unweighted terms (mean squared residuals)."""

    @abstractmethod
    def predict(self, points: torch.Tensor) -> torch.Tensor:
        """Outputs (N, number of outputs) at points (N, d), without gradients."""

    def residual_vector(self) -> torch.Tensor:
        """All residuals stacked into one vector r, scaled so that |r|^2 equals the weighted
        loss (for Gauss-Newton / Levenberg-Marquardt and batch-size tests). Optional."""
        raise NotImplementedError(f"solver '{self.name}' provides no residual vector; "
                                  "use an optimizer that needs only the loss")

    def scale_points(self, factor: float) -> bool:
        """Multiply the number of training points by `factor` from the next resampling on
        (adaptive batch sizes); False if the solver has no such setting."""
        return False

    def resample(self, round_index: int) -> bool:
        """Draw new training points for round `round_index`; False if the solver has none."""
        return False

    def unknown_values(self) -> dict[str, float]:
        return {}

    def begin_step(self, step: int) -> bool:
        """Called by the trainer once per optimizer iteration, before it (global step index
        `step`): loss weights that adapt during training (physolve.train.balancing) change
        here, so every closure evaluation of one iteration -- a line search's included -- sees
        the same objective. Returns whether the objective changed (the trainer then has the
        optimizer re-evaluate what it cached)."""
        return False

    def training_metrics(self) -> dict[str, float]:
        """Scalars of the training objective itself for metrics records (loss weights as
        `weight/<term>`, the causal weights' minimum, ...)."""
        return {}

    def metrics(self) -> dict[str, float] | None:
        """Accuracy metrics the solver computes itself (e.g. on held-out samples of a problem
        family); None means: compare `predict` with the problem's reference."""
        return None

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError
