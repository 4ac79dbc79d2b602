"""The optimizer registry: names that the Python API and configs may use."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from ..registry import Registry
from .dense import DenseQuasiNewton
from .lbfgs import LBFGS
from .levenberg_marquardt import LevenbergMarquardt

optimizers = Registry("optimizer")


@dataclass(frozen=True)
class OptimizerSpec:
    """How to build one optimizer.

    closure: the optimizer re-evaluates the loss itself (line searches, Hessian products), so
        the trainer passes a closure and keeps the objective fixed during the stage.
    residuals: the closure returns the residual vector (physolve.models.Solver.residual_vector)
        instead of backpropagating the loss (Gauss-Newton type methods).
    create_graph: the backward pass keeps its graph, for methods that differentiate the
        gradient again (Hutchinson estimates of the Hessian diagonal).
    batch_schedule: factory of a batch-size schedule the trainer applies (AdAdaGrad).
    fused: pass fused=True (torch's Adam, AdamW) unless the stage chooses the implementation
        (fused, foreach, differentiable, capturable) or a parameter is one fused kernels do
        not take. On the CPU fused Adam's step over a PINN's few small tensors is about 3x
        faster than the foreach one (docs/optimizers.md); the two differ in rounding only.
    defaults: keyword arguments used unless the stage overrides them.
    """

    factory: Callable[..., torch.optim.Optimizer]
    closure: bool = False
    defaults: dict = field(default_factory=dict)
    description: str = ""
    residuals: bool = False
    create_graph: bool = False
    batch_schedule: Callable | None = None
    fused: bool = False

    def create(self, params, **options) -> torch.optim.Optimizer:
        options = {**self.defaults, **options}
        params = list(params)
        if self.fused and not any(k in options for k in _IMPLEMENTATION) and all(
                isinstance(p, torch.Tensor) and p.is_floating_point()
                and p.device.type in ("cpu", "cuda") for p in params):
            options["fused"] = True
        return self.factory(params, **options)


# the options of torch's optimizers that choose (or constrain) the implementation of a step
_IMPLEMENTATION = ("fused", "foreach", "differentiable", "capturable")


def register_optimizer(name: str, factory, closure: bool = False, description: str = "",
                       residuals: bool = False, create_graph: bool = False,
                       batch_schedule: Callable | None = None, fused: bool = False,
                       **defaults) -> None:
    optimizers.register(name, OptimizerSpec(factory, closure, defaults, description, residuals,
                                            create_graph, batch_schedule, fused))


register_optimizer("adam", torch.optim.Adam, fused=True, lr=1e-3,
                   description="Adam (Kingma & Ba)")
register_optimizer("adamw", torch.optim.AdamW, fused=True, lr=1e-3,
                   description="Adam, decoupled weight decay")
register_optimizer("sgd", torch.optim.SGD, lr=1e-3, description="stochastic gradient descent")
register_optimizer("lbfgs", LBFGS, closure=True, lr=1.0, history_size=100,
                   description="L-BFGS with strong Wolfe line search")
for _method, _text in {"bfgs": "BFGS", "ssbfgs": "self-scaled BFGS (Al-Baali)",
                       "ssbroyden": "self-scaled Broyden (Al-Baali; Urban et al.)"}.items():
    register_optimizer(_method, DenseQuasiNewton, closure=True, method=_method,
                       description=f"{_text}, dense inverse Hessian, strong Wolfe line search")
register_optimizer("lm", LevenbergMarquardt, closure=True, residuals=True, damping=1e-3,
                   description="Levenberg-Marquardt on the residual vector, Nielsen damping")
