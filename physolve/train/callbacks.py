"""Hooks into the training loop (logging, checkpoints, custom stopping)."""
from __future__ import annotations


class Callback:
    """Override any of these; every hook receives the trainer's current `TrainState`."""

    def on_fit_start(self, state) -> None: ...
    def on_stage_start(self, state, optimizer) -> None: ...
    def on_step(self, state, record: dict) -> None: ...
    def on_metrics(self, state, record: dict) -> None: ...
    def on_step_end(self, state) -> None: ...  # after the step's metrics: a point to resume from
    def on_stage_end(self, state, summary: dict) -> None: ...
    def on_fit_end(self, state, solution) -> None: ...


class History(Callback):
    """Keeps every metrics record in memory (the trainer always attaches one)."""

    def __init__(self):
        self.records: list[dict] = []

    def on_metrics(self, state, record):
        self.records.append(dict(record))
