"""A training run killed at a chosen step, as SIGKILL would end it (for the resume tests)."""
from physolve.hooks import Callback


class Killed(Exception):
    pass


class KillAt(Callback):
    """Raises Killed at the end of step `step`, after that step's checkpoint is written."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, state):
        if state.step == self.step:
            raise Killed
