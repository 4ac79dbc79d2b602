"""Optimizers that work on the flat vector of all parameters and call the closure themselves.

Second-order methods see the parameters as one vector x: they evaluate the loss at trial points
(line searches, trust regions), keep curvature information between steps and can say why they
stop. This base class holds what they share: the flat view, evaluation counting, `stop_reason`
(read by the trainer, which ends the stage and records it) and `refresh()`.
"""
from __future__ import annotations

import math
from typing import Callable

import torch


class FlatOptimizer(torch.optim.Optimizer):
    """Base of closure-driven optimizers over a single parameter group."""

    def __init__(self, params, defaults: dict):
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(f"{type(self).__name__} supports a single parameter group")
        self._params = self.param_groups[0]["params"]
        self.stop_reason: str | None = None
        self.evaluations = 0

    @property
    def numel(self) -> int:
        return sum(p.numel() for p in self._params)

    def _flat(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self._params])

    def _set(self, x: torch.Tensor) -> None:
        offset = 0
        with torch.no_grad():
            for p in self._params:
                n = p.numel()
                p.copy_(x[offset:offset + n].view_as(p))
                offset += n

    def _flat_grad(self) -> torch.Tensor:
        return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                          for p in self._params])

    def _evaluate(self, closure: Callable, x: torch.Tensor) -> tuple[float, torch.Tensor]:
        """Loss and gradient at x (the parameters are left at x)."""
        self._set(x)
        with torch.enable_grad():
            loss = closure()
        self.evaluations += 1
        f = float(loss)
        return (f if math.isfinite(f) else math.inf), self._flat_grad()

    def refresh(self) -> None:
        """The objective changed (new collocation points): re-evaluate at the next step."""
        self.state.get("flat", {}).pop("f", None)

    def _flat_state(self) -> dict:
        return self.state.setdefault("flat", {})


def check_memory(name: str, n_params: int, n_bytes: int, limit: float) -> None:
    """Refuse an allocation of n_bytes above `limit` bytes with a message saying what to do."""
    if n_bytes > limit:
        raise MemoryError(
            f"{name}: the network has {n_params:,} parameters, which needs {n_bytes / 2**20:,.0f} "
            f"MiB for its matrices, over the limit of {limit / 2**20:,.0f} MiB (max_memory). "
            "Use a smaller network, 'lbfgs' (memory linear in the parameter count), or raise "
            "max_memory if the machine has room.")
