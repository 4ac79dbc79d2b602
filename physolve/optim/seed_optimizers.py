"""First-order and diagonal-curvature optimizers named by the seed papers.

They come from the `pytorch-optimizer` package (imported only when a stage builds one) and are
registered here under plain names. Defaults that suit image classification but not PINN losses
are overridden: no weight decay (it pulls the solution away from the residual's minimiser).

AdaHessian and Sophia estimate the Hessian diagonal with Hutchinson's estimator
diag(H) ~ z * (H z), z random, which needs Hessian-vector products: their specs ask the trainer
for `loss.backward(create_graph=True)`. The random vectors are drawn from a generator seeded per
step (option `seed`), so runs are reproducible and the caller's random state is untouched.

AdAdaGrad (Lau et al. 2024) is AdaGrad with an adaptive batch size: the spec carries the norm-test
batch schedule of physolve.optim.batch_size, applied by the trainer.
"""
from __future__ import annotations

import importlib

import torch

from .batch_size import NormTest
from .registry import register_optimizer


def _load(name: str):
    try:
        module = importlib.import_module("pytorch_optimizer")
    except ImportError:
        raise ImportError(f"optimizer '{name}' comes from the pytorch-optimizer package: "
                          "pip install pytorch-optimizer") from None
    return module.load_optimizer(name)


def _package(name: str):
    """A factory building pytorch-optimizer's `name` on first use."""

    def factory(params, **options):
        return _load(name)(params, **options)

    factory.__name__ = name
    return factory


def _seeded(name: str):
    """Factory for a Hutchinson-based optimizer whose random probes come from `seed`."""

    def factory(params, seed: int = 0, **options):
        cls = _load(name)

        class Seeded(cls):
            def step(self, closure=None, hessian=None):
                self._physolve_calls = getattr(self, "_physolve_calls", 0) + 1
                devices = sorted({p.device.index or 0 for g in self.param_groups
                                  for p in g["params"] if p.device.type == "cuda"})
                with torch.random.fork_rng(devices=devices):
                    torch.manual_seed(seed * 1_000_003 + self._physolve_calls)
                    return super().step(closure, hessian)

        Seeded.__name__ = cls.__name__
        return Seeded(params, **options)

    factory.__name__ = name
    return factory


_FIRST_ORDER = {
    "adabelief": ("AdaBelief (Zhuang et al. 2020)", {"lr": 1e-3}),
    "adan": ("Adan, Nesterov-type adaptive momentum (Xie et al. 2022)", {"lr": 1e-3}),
    "diffgrad": ("diffGrad, friction from gradient changes (Dubey et al. 2019)", {"lr": 1e-3}),
    "exadam": ("EXAdam (Adly 2024)", {"lr": 1e-3, "weight_decay": 0.0}),
    "lamb": ("LAMB, layer-wise trust ratio (You et al. 2019)", {"lr": 1e-3}),
    "lion": ("Lion, sign momentum (Chen et al. 2023)", {"lr": 1e-4}),
    "sgdsai": ("SGD-SaI, SGD with momentum and scaling at initialisation (Xu et al. 2024)",
               {"lr": 1e-2, "weight_decay": 0.0}),
    "soap": ("SOAP, Adam in Shampoo's eigenbasis (Vyas et al. 2024)",
             {"lr": 3e-3, "weight_decay": 0.0}),
}
for _name, (_text, _defaults) in _FIRST_ORDER.items():
    register_optimizer(_name, _package(_name), description=_text, **_defaults)

register_optimizer("adahessian", _seeded("adahessian"), create_graph=True, lr=0.1,
                   description="AdaHessian, Hutchinson Hessian diagonal (Yao et al. 2021)")
register_optimizer("sophia", _seeded("sophiah"), create_graph=True, lr=0.06,
                   description="Sophia with Hutchinson Hessian estimates, SophiaH (Liu et al. 2023)")
register_optimizer("adagrad", torch.optim.Adagrad, lr=1e-2, description="AdaGrad (Duchi et al.)")
register_optimizer("adadagrad", torch.optim.Adagrad, lr=1e-2, batch_schedule=NormTest,
                   description="AdAdaGrad: AdaGrad with norm-test adaptive batch size "
                               "(Lau et al. 2024)")
