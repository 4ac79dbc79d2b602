"""Training loop, metrics, solutions."""
from .callbacks import Callback
from .metrics import error_metrics, reference_metrics
from .solution import Solution
from .trainer import Trainer, TrainingDiverged, TrainState, solve

__all__ = ["Callback", "Solution", "TrainState", "Trainer", "TrainingDiverged", "error_metrics",
           "reference_metrics", "solve"]
