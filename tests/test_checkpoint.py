"""Checkpoints: a run continued from any checkpoint ends bitwise where an uninterrupted run ends;
files are written atomically and read with weights_only=True."""
import pickle

import pytest
import torch

import physolve as ps
from physolve.train.callbacks import Callback
from physolve.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint

# Adam with a decaying learning rate and resampled points, then L-BFGS: every piece of state a
# checkpoint has to carry (scheduler, sampling round, curvature pairs, line-search point).
STAGES = ["adam:60:lr=1e-2:decay=0.5", "lbfgs:40"]


def _run(callbacks=(), resume=None, stages=STAGES):
    trainer = ps.Trainer(stages, dtype="float64", seed=0, progress=False, metrics_every=10,
                         resample_every=25, callbacks=callbacks)
    return trainer.fit(ps.problems.get("poisson1d")(),
                       ps.PINN(width=8, depth=2, n_interior=32, n_boundary=4), resume=resume)


def _without_time(history):
    return [{k: v for k, v in r.items() if k != "time"} for r in history]


class _Killed(Exception):
    pass


class _KillAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, state):
        if state.step == self.step:
            raise _Killed


@pytest.fixture(scope="module")
def uninterrupted():
    return _run()


@pytest.mark.parametrize("kill_at, saved_at, finished_stages", [
    (37, 30, 0),   # inside Adam, after a resampling round
    (60, 45, 0),   # the last Adam step: its own checkpoint is left to the stage end
    (61, 60, 1),   # just after the stage change (the end-of-stage checkpoint)
    (87, 75, 1),   # inside L-BFGS
])
def test_resume_is_bitwise_identical(tmp_path, uninterrupted, kill_at, saved_at,
                                     finished_stages):
    path = tmp_path / "last.pt"
    with pytest.raises(_Killed):
        _run([Checkpoint(path, every=15), _KillAt(kill_at)])
    checkpoint = load_checkpoint(path)
    assert checkpoint["step"] == saved_at
    assert len(checkpoint["stages"]) == finished_stages
    assert (checkpoint["optimizer"] is None) == (saved_at == 60)
    resumed = _run(resume=checkpoint)
    for a, b in zip(uninterrupted.solver.parameters(), resumed.solver.parameters()):
        assert torch.equal(a, b)
    assert _without_time(resumed.history) == _without_time(uninterrupted.history)
    assert [(s["name"], s["steps"], s["loss"]) for s in resumed.stages] == \
        [(s["name"], s["steps"], s["loss"]) for s in uninterrupted.stages]


def test_resuming_a_finished_run_changes_nothing(tmp_path, uninterrupted):
    path = tmp_path / "last.pt"
    _run([Checkpoint(path)])
    again = _run(resume=load_checkpoint(path))
    assert all(torch.equal(a, b) for a, b in zip(uninterrupted.solver.parameters(),
                                                 again.solver.parameters()))
    assert again.metrics()["steps"] == 100


def test_resume_refuses_other_settings(tmp_path):
    path = tmp_path / "last.pt"
    _run([Checkpoint(path)], stages=["adam:5"])
    with pytest.raises(ValueError, match="resume with the run's own settings"):
        _run(resume=load_checkpoint(path), stages=["adam:6"])


def test_failed_write_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint({"step": 1, "w": torch.ones(3)}, path)
    with pytest.raises(Exception):
        save_checkpoint({"step": 2, "bad": lambda: 0}, path)  # cannot be pickled
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary file left


class _Payload:
    pass


def test_loading_refuses_arbitrary_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"obj": _Payload()}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(path)
