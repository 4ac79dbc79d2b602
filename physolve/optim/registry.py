"""The optimizer registry: names that the Python API and configs may use."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from ..registry import Registry
from .lbfgs import LBFGS

optimizers = Registry("optimizer")


@dataclass(frozen=True)
class OptimizerSpec:
    """How to build one optimizer.

    closure: the optimizer re-evaluates the loss itself (line searches, Hessian products), so
        the trainer passes a closure and keeps the objective fixed during the stage.
    defaults: keyword arguments used unless the stage overrides them.
    """

    factory: Callable[..., torch.optim.Optimizer]
    closure: bool = False
    defaults: dict = field(default_factory=dict)
    description: str = ""

    def create(self, params, **options) -> torch.optim.Optimizer:
        return self.factory(params, **{**self.defaults, **options})


def register_optimizer(name: str, factory, closure: bool = False, description: str = "",
                       **defaults) -> None:
    optimizers.register(name, OptimizerSpec(factory, closure, defaults, description))


register_optimizer("adam", torch.optim.Adam, lr=1e-3, description="Adam (Kingma & Ba)")
register_optimizer("adamw", torch.optim.AdamW, lr=1e-3, description="Adam, decoupled weight decay")
register_optimizer("sgd", torch.optim.SGD, lr=1e-3, description="stochastic gradient descent")
register_optimizer("lbfgs", LBFGS, closure=True, lr=1.0, history_size=100,
                   description="L-BFGS with strong Wolfe line search")
