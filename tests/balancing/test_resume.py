"""A run with a balancer (and causal weights) continued from a checkpoint ends bitwise where
the uninterrupted run ends: the multipliers, RBA's and SA's point weights (and SA's Adam
state), NTK's and ReLoBRaLo's random generators and the causal eps level travel in the
checkpoint."""
import pytest
import torch

import physolve as ps
from physolve.train.checkpoint import Checkpoint, load_checkpoint

from .cases import heat
from tests.interrupt import KillAt, Killed

STAGES = ["adam:20:lr=1e-2", "lbfgs:12"]
SETTINGS = {
    "gradnorm": dict(balance="gradnorm", balance_options={"every": 3}),
    "rba": dict(balance="rba", balance_options={"every": 2}),
    "ntk": dict(balance="ntk", balance_options={"every": 3, "points": 5}),
    "sa": dict(balance="sa", balance_options={"every": 2}),
    "relobralo+causal": dict(balance="relobralo", balance_options={"rho_mean": 0.5},
                             causal={"chunks": 4, "eps_schedule": [0.1, 1.0, 10.0],
                                     "delta": 0.3}),
}


def _run(settings, callbacks=(), resume=None):
    trainer = ps.Trainer(STAGES, dtype="float64", seed=0, progress=False, metrics_every=4,
                         resample_every=8, callbacks=callbacks)
    return trainer.fit(heat(), ps.PINN(width=6, depth=2, n_interior=40, n_boundary=10,
                                       **settings), resume=resume)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_resume_with_a_balancer_is_bitwise_identical(tmp_path, name):
    settings = SETTINGS[name]
    uninterrupted = _run(settings)
    for kill_at in (13, 27):                     # inside Adam (after resampling), in L-BFGS
        path = tmp_path / f"{kill_at}.pt"
        with pytest.raises(Killed):
            _run(settings, [Checkpoint(path, every=5), KillAt(kill_at)])
        checkpoint = load_checkpoint(path)
        assert "balancer" in checkpoint["solver"]
        resumed = _run(settings, resume=checkpoint)
        for a, b in zip(uninterrupted.solver.parameters(), resumed.solver.parameters()):
            assert torch.equal(a, b), (name, kill_at)
        strip = [{k: v for k, v in r.items() if k != "time"} for r in uninterrupted.history]
        assert [{k: v for k, v in r.items() if k != "time"} for r in resumed.history] == strip
        assert resumed.solver.balancer.lam == uninterrupted.solver.balancer.lam
    if "causal" in settings:
        assert uninterrupted.solver.causal.level > 0   # the schedule did move on
