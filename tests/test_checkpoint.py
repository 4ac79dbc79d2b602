"""Checkpoints: a run continued from any checkpoint ends bitwise where an uninterrupted run ends;
files are written atomically and read with weights_only=True."""
import pickle

import pytest
import torch

import physolve as ps
from physolve.train.callbacks import Callback
from physolve.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from tests.interrupt import KillAt, Killed

# Adam with a decaying learning rate and resampled points, then L-BFGS: every piece of state a
# checkpoint has to carry (scheduler, sampling round, curvature pairs, line-search point).
STAGES = ["adam:60:lr=1e-2:decay=0.5", "lbfgs:40"]


def _run(callbacks=(), resume=None, stages=STAGES, clock=None):
    trainer = ps.Trainer(stages, dtype="float64", seed=0, progress=False, metrics_every=10,
                         resample_every=25, callbacks=callbacks)
    if clock is not None:
        trainer.clock = clock
    return trainer.fit(ps.problems.get("poisson1d")(),
                       ps.PINN(width=8, depth=2, n_interior=32, n_boundary=4), resume=resume)


def _without_time(history):
    return [{k: v for k, v in r.items() if k != "time"} for r in history]


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
    with pytest.raises(Killed):
        _run([Checkpoint(path, every=15), KillAt(kill_at)])
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


class _Tick:
    """A clock that advances 0.1 s at every reading, so time checkpoints fall on known steps."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 0.1
        return self.now


class _Recorded(Checkpoint):
    """A Checkpoint that notes the step and trainer time of every save."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.saves = []

    def save(self, state):
        super().save(state)
        self.saves.append((state.step, state.elapsed))


class _Elapsed(Callback):
    def __init__(self):
        self.at = {}

    def on_step_end(self, state):
        self.at[state.step] = state.elapsed


def test_time_checkpoints_follow_the_trainers_clock(tmp_path):
    checkpoint, elapsed = _Recorded(tmp_path / "last.pt", every=0, every_s=1.0), _Elapsed()
    _run([elapsed, checkpoint], clock=_Tick())
    # Expected: a save at the first step 1.0 s of trainer time after the previous save (the
    # stage-ending steps 60 and 100 are left to the end-of-stage save that follows them).
    expected, last = [], 0.0
    for step, t in sorted(elapsed.at.items()):
        if step in (60, 100):
            expected.append(step)
            last = t
        elif t - last >= 1.0:
            expected.append(step)
            last = t
    assert [s for s, _ in checkpoint.saves] == expected
    assert len(expected) >= 8  # 100 steps of ~0.1 s: a save about every 10 steps
    gaps = [b - a for (_, a), (_, b) in zip(checkpoint.saves, checkpoint.saves[1:])]
    assert max(gaps) < 1.0 + 0.35  # at most a step or so past every_s


def test_resume_from_a_time_checkpoint_is_bitwise_identical(tmp_path, uninterrupted):
    """No step checkpoint before the kill: only the time checkpoint can continue the run."""
    path = tmp_path / "last.pt"
    with pytest.raises(Killed):
        _run([Checkpoint(path, every=1000, every_s=1.0), KillAt(37)], clock=_Tick())
    checkpoint = load_checkpoint(path)
    assert 25 <= checkpoint["step"] < 37 and checkpoint["stages"] == []
    resumed = _run(resume=checkpoint)
    for a, b in zip(uninterrupted.solver.parameters(), resumed.solver.parameters()):
        assert torch.equal(a, b)
    assert _without_time(resumed.history) == _without_time(uninterrupted.history)


def test_without_a_time_interval_nothing_is_saved_before_the_stage_ends(tmp_path):
    with pytest.raises(Killed):
        _run([Checkpoint(tmp_path / "last.pt", every=1000, every_s=0), KillAt(37)],
             clock=_Tick())
    assert not (tmp_path / "last.pt").exists()


@pytest.mark.parametrize("every_s", [-1, float("inf"), float("nan"), "60", True])
def test_bad_time_interval_is_refused(tmp_path, every_s):
    with pytest.raises(ValueError, match="Checkpoint: every_s must be a finite number"):
        Checkpoint(tmp_path / "last.pt", every_s=every_s)
