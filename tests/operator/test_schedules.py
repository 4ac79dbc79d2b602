"""Stage schedules: the one-cycle learning rate seen by the optimizer step by step."""
import pytest
import torch

import physolve as ps
from physolve.models.base import Solver
from physolve.optim import parse_stage
from physolve.train import Callback


class Quadratic(Solver):
    """|w - 1|^2: the smallest solver, for testing the training loop."""

    def setup(self, problem, *, dtype, device, seed):
        self.w = torch.nn.Parameter(torch.zeros(3, dtype=dtype))

    def parameters(self):
        return [self.w]

    def loss(self):
        value = (self.w - 1).square().sum()
        return value, {"q": value}

    def predict(self, points):
        return torch.zeros(len(points), 1)

    def metrics(self):
        return {"rel_l2": float((self.w.detach() - 1).norm() / 3 ** 0.5)}

    def state_dict(self):
        return {"w": self.w.detach().clone()}

    def load_state_dict(self, state):
        self.w.data.copy_(state["w"])


class LearningRates(Callback):
    def __init__(self):
        self.lrs = []

    def on_stage_start(self, state, optimizer):
        self.optimizer = optimizer

    def on_step(self, state, record):
        self.lrs.append(self.optimizer.param_groups[0]["lr"])


def test_onecycle_rises_to_max_lr_then_anneals():
    lrs = LearningRates()
    stage = {"name": "adam", "steps": 100, "lr": 0.1,
             "schedule": {"name": "onecycle", "pct_start": 0.25, "div_factor": 10,
                          "final_div_factor": 100}}
    solution = ps.Trainer([stage], metrics_every=0, progress=False, callbacks=[lrs]).fit(
        ps.problems.get("poisson1d")(), Quadratic())
    # on_step sees the lr of the next step: the 100 steps used 0.01 rising to 0.1 (step 25),
    # then annealing to 0.1 / 10 / 100 at the last step
    used = [0.01] + lrs.lrs[:-1]
    peak = max(range(100), key=lambda i: used[i])
    assert peak == 24 and used[peak] == pytest.approx(0.1)
    assert used[-1] == pytest.approx(1e-4)
    assert all(a <= b for a, b in zip(used[:peak], used[1:peak + 1]))
    assert all(a >= b for a, b in zip(used[peak:], used[peak + 1:]))
    # the solver's own metrics replace the reference comparison
    assert solution.metrics()["rel_l2"] == solution.solver.metrics()["rel_l2"] < 0.05


def test_decay_is_the_exponential_schedule():
    lrs = LearningRates()
    ps.Trainer(["adam:10:lr=1.0:decay=0.01"], progress=False, callbacks=[lrs]).fit(
        ps.problems.get("poisson1d")(), Quadratic())
    assert lrs.lrs[-1] == pytest.approx(0.01)


def test_schedule_errors_name_the_choices():
    with pytest.raises(ValueError, match="onecycle"):
        parse_stage({"name": "adam", "steps": 5, "schedule": "cosine"})
    with pytest.raises(ValueError, match="either decay or schedule"):
        parse_stage({"name": "adam", "steps": 5, "decay": 0.5, "schedule": "onecycle"})
    assert parse_stage("adam:5:schedule='onecycle'").schedule == {"name": "onecycle"}
