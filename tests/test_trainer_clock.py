"""Trainer(clock=...): time limits and recorded times on the wall clock or in CPU time."""
import time

import pytest

import physolve as ps
from physolve.pde.library import problems
from physolve.train.callbacks import Callback


class Sleep(Callback):
    """Idles after every step: wall time passes, CPU time hardly does."""

    def on_step(self, state, record):
        time.sleep(0.15)


@pytest.mark.parametrize("clock, steps", [("wall", 1), ("process", 4)])
def test_time_limit_counts_on_the_chosen_clock(clock, steps):
    trainer = ps.Trainer([{"name": "adam", "steps": 4, "time_limit": 0.1}], dtype="float64",
                         progress=False, metrics_every=0, callbacks=[Sleep()], clock=clock)
    solution = trainer.fit(problems.get("poisson1d")(), ps.PINN(width=8, depth=1,
                                                              n_interior=16, n_boundary=2))
    assert solution.metrics()["steps"] == steps
    if clock == "process":   # four sleeps of 0.15 s are not counted
        assert solution.wall_time < 0.5


def test_unknown_clock_names_the_allowed_ones():
    with pytest.raises(ValueError, match=r"clock must be one of \['process', 'wall'\], got 'gpu'"):
        ps.Trainer(["adam:1"], clock="gpu")
