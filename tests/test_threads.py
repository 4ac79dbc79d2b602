"""Trainer(threads=...) and trainer.threads: how many CPU threads torch uses while training."""
import pytest
import torch

import physolve as ps
from physolve.config import ConfigError, validate
from physolve.train import threads as th
from physolve.train.callbacks import Callback


class _Seen(Callback):
    def __init__(self):
        self.counts = []

    def on_step(self, state, record):
        self.counts.append(torch.get_num_threads())


def _problem():
    return ps.Problem(ps.geometry.Interval(0, 1), lambda f: f.u.xx + 1.0, inputs="x",
                      outputs="u", conditions=[ps.Dirichlet(0.0)])


@pytest.fixture
def untouched(monkeypatch):
    """As in a script that never called torch.set_num_threads: torch at its import value."""
    monkeypatch.setattr(th, "_DEFAULT", 3)
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield
    torch.set_num_threads(before)


def test_auto_trains_a_small_model_on_one_thread_and_restores_the_count(untouched):
    seen = _Seen()
    ps.Trainer(["adam:3"], callbacks=[seen], progress=False).fit(
        _problem(), ps.PINN(width=32, depth=4, n_interior=64))  # the demo's network, 3.3k params
    assert seen.counts == [1, 1, 1]
    assert torch.get_num_threads() == 3


def test_auto_leaves_large_models_and_a_programs_own_count_alone(untouched):
    assert th.resolve_threads("auto", th.AUTO_SMALL_PARAMETERS - 1) == 1
    assert th.resolve_threads("auto", th.AUTO_SMALL_PARAMETERS) is None
    torch.set_num_threads(2)  # the program chose its own count: auto keeps it
    assert th.resolve_threads("auto", 10) is None


def test_an_integer_sets_the_count_for_the_fit_only():
    before = torch.get_num_threads()
    seen = _Seen()
    ps.Trainer(["adam:2"], threads=2, callbacks=[seen], progress=False).fit(
        _problem(), ps.PINN(width=4, depth=1, n_interior=16))
    assert seen.counts == [2, 2] and torch.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, "many", True])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ValueError, match="threads must be 'auto', a positive integer or None"):
        ps.Trainer(["adam:1"], threads=bad)


def test_trainer_threads_is_a_config_key():
    base = {"problem": {"name": "poisson1d"}, "model": {"name": "pinn"},
            "optim": {"stages": [{"name": "adam", "steps": 1}]}}
    assert validate({**base, "trainer": {"threads": 2}}).trainer_args["threads"] == 2
    assert validate({**base, "trainer": {"threads": "auto"}}).trainer_args["threads"] == "auto"
    with pytest.raises(ConfigError, match=r"trainer\.threads: expected an integer or one of "
                                          r"'auto' or null, got 'many'"):
        validate({**base, "trainer": {"threads": "many"}})
