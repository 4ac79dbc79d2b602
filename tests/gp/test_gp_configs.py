"""The GP experiments compose, validate and build from configs; a shortened run writes its
metrics.json."""
import json

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from physolve.config import build, config_dir, validate
from physolve.runner import train_run


def _experiment(name, overrides=()):
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"experiment={name}", *overrides])
    config = OmegaConf.to_container(cfg, resolve=True)
    config.pop("resume")
    return config


@pytest.mark.parametrize("name, problem, shape", [
    ("gp_poisson1d_sin100", "poisson1d_sin", (400,)),
    ("gp_poisson1d_xsin200", "poisson1d_xsin", (800,)),
    ("gp_allen_cahn1d", "allen_cahn1d", (400,)),
    ("gp_poisson2d_sin100", "poisson2d_sin", (400, 400)),
])
def test_gp_experiments_build(name, problem, shape):
    p, solver, trainer = build(validate(_experiment(name)))
    assert (p.name, solver.name, solver.shape) == (problem, "gp_spectral", shape)
    assert all(c.hard for c in p.conditions)
    assert [s.name for s in trainer.stages] == ["lbfgs"] and trainer.seed == 0


def test_gp_run_writes_metrics(tmp_path):
    config = _experiment("gp_poisson1d_sin100", ["problem.k=3.0", "model.grid=32",
                                                 "optim.stages=[{name: lbfgs, steps: 40}]",
                                                 "trainer.progress=false", "output.plots=false"])
    train_run(config, tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps"] == 40 and metrics["status"] == "completed"
    assert metrics["rel_l2"] < 0.9          # it starts at 1 (U = 0); accuracy: test_gp_spectral


def test_model_config_states_the_solver_defaults():
    import inspect

    from physolve.models import GPSpectral

    config = OmegaConf.to_container(OmegaConf.load(config_dir() / "model" / "gp_spectral.yaml"))
    defaults = {k: p.default for k, p in inspect.signature(GPSpectral).parameters.items()}
    assert config.pop("name") == "gp_spectral"
    assert config == defaults
