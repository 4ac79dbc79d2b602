"""Optimizers and multi-stage schedules."""
from . import seed_optimizers  # noqa: F401  (registers the optimizers of the seed papers)
from .batch_size import NormTest
from .dense import DenseQuasiNewton
from .lbfgs import LBFGS
from .levenberg_marquardt import LevenbergMarquardt
from .registry import OptimizerSpec, optimizers, register_optimizer
from .stages import Stage, parse_stage, parse_stages

__all__ = ["DenseQuasiNewton", "LBFGS", "LevenbergMarquardt", "NormTest", "OptimizerSpec",
           "Stage", "optimizers", "parse_stage", "parse_stages", "register_optimizer"]
