"""Bad sampler settings are refused early, naming the key, the value and what is allowed --
from Python (PINN, PIG) and from a config."""
import pytest

import physolve as ps
from physolve.config import ConfigError, validate, build
from physolve.models import PIG
from physolve.sampling import RAD


@pytest.mark.parametrize("sampler, options, text", [
    ("nope", None, "sampler must be one of aas, rad, rar, uniform"),
    ("rad", {"k": -1}, "sampler_options.k must be a number >= 0, got -1"),
    ("rad", {"candidates": 0}, "sampler_options.candidates must be an integer >= 1, got 0"),
    ("rar", {"k": 10, "candidates": 5}, "sampler_options.k must be <= candidates (5)"),
    ("aas", {"uniform_fraction": 1.5}, "sampler_options.uniform_fraction must be a number >= 0 "
                                       "and <= 1, got 1.5"),
    ("aas", {"beta": "big"}, "sampler_options.beta must be a number >= 0, got 'big'"),
    ("aas", {"weights": "inverse"}, "sampler_options.weights must be one of 'none', 'importance'"),
    ("aas", {"hidden": []}, "sampler_options.hidden must be a non-empty list"),
    ("aas", {"betta": 1.0}, "sampler_options.betta is not a setting of 'aas'; its settings: beta"),
    ("uniform", {"k": 1}, "sampler_options.k is not a setting of 'uniform'"),
])
@pytest.mark.parametrize("solver", [ps.PINN, PIG])
def test_bad_settings_are_refused_naming_the_key(solver, sampler, options, text):
    with pytest.raises(ValueError) as err:
        solver(sampler=sampler, sampler_options=options)
    assert text in str(err.value) and solver.__name__ in str(err.value)


def test_an_instance_takes_no_options():
    with pytest.raises(ValueError, match="sampler_options apply to a sampler given by name"):
        ps.PINN(sampler=RAD(), sampler_options={"k": 2.0})
    assert ps.PINN(sampler=RAD(k=2.0)).sampler.k == 2.0


def _config(**model):
    return {"problem": {"name": "poisson1d"}, "model": {"name": "pinn", "width": 4, "depth": 1,
                                                        "n_interior": 16, **model},
            "optim": {"stages": [{"name": "adam", "steps": 1}]}}


def test_a_config_names_the_key_at_fault():
    with pytest.raises(ConfigError) as err:
        build(validate(_config(sampler="rad", sampler_options={"c": -2.0})))
    assert err.value.path == "model.sampler_options" and "sampler_options.c" in str(err.value)
    with pytest.raises(ConfigError) as err:
        build(validate(_config(sampler="lhs")))
    assert err.value.path == "model.sampler" and "aas, rad, rar, uniform" in str(err.value)
    with pytest.raises(ConfigError) as err:
        validate(_config(sampler_options=[1, 2]))
    assert err.value.path == "model.sampler_options"
    _, solver, _ = build(validate(_config(sampler="rar", sampler_options={"k": 3})))
    assert solver.sampler.k == 3
