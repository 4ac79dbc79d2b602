"""Hooks into the training loop (logging, checkpoints, custom stopping).

`Callback` is defined in physolve.hooks (below the output layer, whose writers are callbacks)
and re-exported here, its usual import path.
"""
from __future__ import annotations

from ..hooks import Callback

__all__ = ["Callback", "History"]


class History(Callback):
    """Keeps every metrics record in memory (the trainer always attaches one)."""

    def __init__(self):
        self.records: list[dict] = []

    def on_metrics(self, state, record):
        self.records.append(dict(record))
