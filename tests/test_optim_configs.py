"""The optimizer experiment configs compose with Hydra, validate, and build."""
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from physolve.config import build, config_dir, validate
from physolve.optim import parse_stages

EXPERIMENTS = {"burgers_2nd_order": "burgers", "convection_beta30": "convection",
               "helmholtz_pinn": "helmholtz2d"}
SCHEDULES = ["adam_ssbroyden", "adam_ssbfgs", "adam_lm", "adadagrad"]


def composed(overrides):
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    config = OmegaConf.to_container(cfg, resolve=True)
    config.pop("resume")  # read by the command line, not part of a run's config
    return config


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_validates_and_builds(experiment):
    spec = validate(composed([f"experiment={experiment}"]))
    problem, solver, trainer = build(spec)
    assert problem.name == EXPERIMENTS[experiment]
    assert [s.name for s in trainer.stages] == ["adam", "ssbroyden"]
    assert trainer.stages[1].time_limit > 0 and str(trainer.dtype) == "torch.float64"
    assert sum(p.numel() for p in solver.parameters()) < 3000  # dense method: n^2 < 72 MB


def test_burgers_experiment_is_the_measured_setting():
    cfg = composed(["experiment=burgers_2nd_order"])
    assert cfg["problem"]["hard"] is True
    assert (cfg["model"]["width"], cfg["model"]["depth"], cfg["model"]["n_interior"]) == \
        (20, 3, 8000)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_optim_entries_validate(schedule):
    spec = validate(composed([f"optim={schedule}", "problem=poisson1d"]))
    stages = parse_stages(spec.stages)
    assert stages and all(s.steps > 0 for s in stages)
    assert (Path(config_dir()) / "optim" / f"{schedule}.yaml").is_file()
