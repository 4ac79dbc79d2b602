"""Second-order optimizers see one objective per iteration: the balancer's weights change only
in the trainer's begin_step hook, never between the closure calls of one L-BFGS iteration
(its line search), and the optimizer re-evaluates what it cached when they have changed."""
import pytest
import torch

import physolve as ps
from physolve.train.callbacks import Callback

from .cases import heat


class _Recorder(Callback):
    def __init__(self):
        self.steps = []

    def on_step(self, state, record):
        self.steps.append(state.step)


@pytest.mark.parametrize("name, stage", [("gradnorm", "lbfgs:6"), ("rba", "lbfgs:6"),
                                         ("relobralo", "ssbroyden:6"), ("ntk", "lbfgs:6"),
                                         ("sa", "ssbroyden:6")])
def test_weights_are_frozen_within_an_iteration_and_refreshed_after(name, stage):
    solver = ps.PINN(width=6, depth=2, n_interior=40, n_boundary=10, balance=name,
                     balance_options={"every": 1})
    calls = []          # (iteration, weights seen) for every closure evaluation
    iteration = {"k": -1}
    refreshes = []
    loss, begin = solver.loss, solver.begin_step

    def recording_loss():
        lam = dict(solver.balancer.lam)
        points = {k: v.clone() for k, v in getattr(solver.balancer, "point_weights",
                                                   {}).items()}
        calls.append((iteration["k"], lam, points))
        return loss()

    def counting_begin(step):
        iteration["k"] = step
        return begin(step)

    solver.loss, solver.begin_step = recording_loss, counting_begin
    trainer = ps.Trainer(["adam:3:lr=1e-2", stage], dtype="float64", seed=0, progress=False,
                         metrics_every=0)
    original = trainer._begin_step

    def spy(state, optimizer):
        before = dict(getattr(optimizer, "state", {}).get("flat", {}))
        original(state, optimizer)
        after = getattr(optimizer, "state", {}).get("flat", {})
        refreshes.append("f" in before and "f" not in after)

    trainer._begin_step = spy
    trainer.fit(heat(), solver)
    second = [c for c in calls if c[0] >= 3]
    by_iteration = {}
    for k, lam, points in second:
        by_iteration.setdefault(k, []).append((lam, points))
    assert any(len(v) > 1 for v in by_iteration.values())  # line searches evaluated again
    for k, seen in by_iteration.items():
        for lam, points in seen[1:]:
            assert lam == seen[0][0], k
            for key in points:
                assert torch.equal(points[key], seen[0][1][key]), k
    firsts = [v[0] for k, v in sorted(by_iteration.items())]
    changed = [a[0] != b[0] or any(not torch.equal(a[1][t], b[1][t]) for t in a[1])
               for a, b in zip(firsts[:-1], firsts[1:])]
    assert any(changed)                      # the weights did move between iterations
    assert any(refreshes[3:])                # and the quasi-Newton cache was dropped then
