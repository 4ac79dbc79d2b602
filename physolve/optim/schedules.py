"""Learning-rate schedules a stage may name: `schedule: {name: onecycle, pct_start: 0.3}`.

A schedule is built per stage from its optimizer and the stage's step budget, and steps once per
optimisation step. "exponential" is what a stage's `decay` option selects.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch

from ..registry import Registry

schedules = Registry("schedule")


@schedules.register("exponential")
def exponential(optimizer, steps: int, decay: float = 0.1):
    """The learning rate falls exponentially to lr * decay by the end of the stage."""
    if not 0 < decay <= 1:
        raise ValueError(f"schedule 'exponential': decay must be in (0, 1], got {decay}")
    return torch.optim.lr_scheduler.ExponentialLR(optimizer, decay ** (1.0 / steps))


@schedules.register("onecycle")
def onecycle(optimizer, steps: int, max_lr: float | None = None, pct_start: float = 0.3,
             div_factor: float = 25.0, final_div_factor: float = 1e4,
             anneal_strategy: str = "cos", cycle_momentum: bool = False):
    """Smith's one-cycle policy: warm up from max_lr / div_factor to max_lr over the first
    pct_start of the stage, then anneal to max_lr / (div_factor * final_div_factor).
    max_lr defaults to the optimizer's lr. Momentum is left alone unless cycle_momentum."""
    if not 0 < pct_start < 1:
        raise ValueError(f"schedule 'onecycle': pct_start must be in (0, 1), got {pct_start}")
    lrs = max_lr if max_lr is not None else [g["lr"] for g in optimizer.param_groups]
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lrs, total_steps=steps, pct_start=pct_start, div_factor=div_factor,
        final_div_factor=final_div_factor, anneal_strategy=anneal_strategy,
        cycle_momentum=cycle_momentum)


def schedule_spec(spec: str | Mapping | None) -> dict[str, Any] | None:
    """Normalise "onecycle" or {"name": "onecycle", ...} to a mapping; unknown names fail here."""
    if spec is None:
        return None
    spec = {"name": spec} if isinstance(spec, str) else dict(spec)
    if "name" not in spec:
        raise ValueError(f"a schedule needs a name, one of {schedules.names()}; got {spec}")
    schedules.get(spec["name"])
    return spec


def build_schedule(spec: Mapping | None, optimizer, steps: int):
    """The scheduler of a stage (None when the stage has no schedule or no steps)."""
    if spec is None or steps <= 0:
        return None
    options = {k: v for k, v in spec.items() if k != "name"}
    return schedules.get(spec["name"])(optimizer, steps, **options)
