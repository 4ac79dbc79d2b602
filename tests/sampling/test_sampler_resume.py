"""A run killed after adaptive rounds and resumed from its checkpoint ends bitwise where the
uninterrupted run ends: parameters, points and the sampler's own state (RAR's grown set,
AAS's flow and its optimizer)."""
import pytest
import torch

import physolve as ps
from physolve.train.checkpoint import Checkpoint, load_checkpoint
from tests.interrupt import KillAt, Killed

OPTIONS = {"uniform": None, "rar": {"k": 8, "candidates": 200},
           "rad": {"candidates": 400},
           "aas": {"flow_steps": 4, "candidates": 100, "penalty_points": 50, "hidden": [8, 8],
                   "weights": "importance"}}


def _run(sampler, callbacks=(), resume=None):
    trainer = ps.Trainer(["adam:40:lr=1e-2:decay=0.5"], dtype="float64", seed=0, progress=False,
                         metrics_every=5, resample_every=10, callbacks=callbacks)
    problem = ps.problems.get("poisson_two_peak")(a=10.0, resolution=11)
    solver = ps.PINN(width=8, depth=2, n_interior=64, n_boundary=16, sampler=sampler,
                     sampler_options=OPTIONS[sampler])
    return trainer.fit(problem, solver, resume=resume)


@pytest.mark.parametrize("sampler", list(OPTIONS))
def test_resume_after_adaptive_rounds_is_bitwise_identical(tmp_path, sampler):
    whole = _run(sampler)
    path = tmp_path / "last.pt"
    with pytest.raises(Killed):
        _run(sampler, [Checkpoint(path, every=15), KillAt(27)])
    checkpoint = load_checkpoint(path)
    assert checkpoint["step"] == 15 and checkpoint["solver"]["sampler"]["round"] == 1
    resumed = _run(sampler, resume=checkpoint)
    a, b = whole.solver, resumed.solver
    assert a.round == b.round == 3
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert torch.equal(a.interior, b.interior)
    if sampler == "rar":
        assert len(a.interior) == 64 + 3 * 8
    if sampler == "aas":
        for p, q in zip(a.sampler.flow.parameters(), b.sampler.flow.parameters()):
            assert torch.equal(p, q)
        assert torch.equal(a.interior_weights, b.interior_weights)
    assert [r["loss"] for r in whole.history] == [r["loss"] for r in resumed.history]
