"""experiment=mgno_darcy64 composes with Hydra and builds from the registries."""
import shutil
from pathlib import Path

import pytest

import physolve as ps
from physolve.models import solvers
from physolve.optim import parse_stages
from physolve.pde.families import DarcyFamily

hydra = pytest.importorskip("hydra")
from hydra import compose, initialize_config_dir  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
PRIMARY = """defaults:
  - problem: darcy64
  - model: mgno
  - optim: onecycle_adamw
  - trainer: operator
  - _self_
  - experiment: null
"""


def composed(tmp_path, overrides):
    # the repository's primary config where it has one, else one naming this layout's groups
    conf = tmp_path / "configs"
    shutil.copytree(CONFIGS, conf)
    if not (conf / "config.yaml").exists():
        (conf / "config.yaml").write_text(PRIMARY)
    with initialize_config_dir(str(conf), version_base=None):
        cfg = compose("config", overrides=["experiment=mgno_darcy64", *overrides])
    return OmegaConf.to_container(cfg, resolve=True)


def build(cfg):
    problem_cfg, model_cfg = dict(cfg["problem"]), dict(cfg["model"])
    problem = ps.problems.get(problem_cfg.pop("name"))(**problem_cfg)
    solver = solvers.get(model_cfg.pop("name"))(**model_cfg)
    return problem, solver, parse_stages(cfg["optim"]["stages"]), ps.Trainer(
        cfg["optim"]["stages"], **cfg["trainer"])


def test_experiment_builds_the_registered_objects(tmp_path):
    cfg = composed(tmp_path, [])
    problem, solver, stages, trainer = build(cfg)
    assert isinstance(problem, DarcyFamily) and problem.grid.shape == (64, 64)
    assert (solver.name, solver.channels, solver.layers) == ("mgno", 16, 4)
    assert solver.smoothing == [1, 1, 1, 2, 2] and solver.loss_kind == "h1"
    assert stages[0].name == "adamw" and stages[0].steps == 12500
    assert stages[0].schedule["name"] == "onecycle" and stages[0].time_limit == 2700
    assert stages[0].options == {"lr": 1e-3, "weight_decay": 1e-4}


def test_experiment_trains_and_reports_test_error(tmp_path):
    cfg = composed(tmp_path, ["model.n_train=8", "model.n_test=2", "model.channels=4",
                              "model.layers=1", "model.progress=false",
                              f"model.cache_dir={tmp_path / 'cache'}",
                              "optim.stages.0.steps=3", "trainer.progress=false"])
    problem, solver, _, trainer = build(cfg)
    metrics = trainer.fit(problem, solver).metrics()
    assert {"rel_l2", "rel_h1", "max_abs_err", "wall_time_s", "steps"} <= set(metrics)
    assert 0 < metrics["rel_l2"] < 10 and metrics["steps"] == 3
    assert len(list((tmp_path / "cache").glob("darcy64-*.npz"))) == 1
