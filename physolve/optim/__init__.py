"""Optimizers and multi-stage schedules."""
from .lbfgs import LBFGS
from .registry import OptimizerSpec, optimizers, register_optimizer
from .stages import Stage, parse_stage, parse_stages

__all__ = ["LBFGS", "OptimizerSpec", "Stage", "optimizers", "parse_stage", "parse_stages",
           "register_optimizer"]
