"""experiment=mgno_darcy64 composes, validates and builds from the registries; a tiny version
runs through the run machinery and writes the test error into metrics.json."""
import json

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from physolve.config import ConfigError, build, config_dir, validate
from physolve.pde.families import DarcyFamily
from physolve.runner import train_run


def composed(overrides, tmp_path):
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["experiment=mgno_darcy64", *overrides])
    config = OmegaConf.to_container(cfg, resolve=True)
    config.pop("resume")
    # small data in a private cache, so the test neither waits for nor writes the real set
    config["model"].update(n_train=8, n_test=2, progress=False, cache_dir=str(tmp_path / "c"))
    return config


def test_experiment_validates_and_builds(tmp_path):
    config = composed([], tmp_path)
    spec = validate(config)
    assert (spec.problem, spec.model) == ("darcy64", "mgno")
    stage = spec.stages[0]
    assert (stage.name, stage.steps, stage.time_limit) == ("adamw", 12500, 2700)
    assert stage.schedule["name"] == "onecycle"
    assert stage.options == {"lr": 1e-3, "weight_decay": 1e-4}
    problem, solver, trainer = build(spec)
    assert isinstance(problem, DarcyFamily) and problem.grid.shape == (64, 64)
    assert (solver.channels, solver.layers, solver.smoothing) == (16, 4, [1, 1, 1, 2, 2])
    assert solver.loss_kind == "h1" and solver.x_train.shape == (8, 1, 64, 64)
    assert str(trainer.dtype) == "torch.float32"


@pytest.mark.parametrize("key, value, path", [
    ("batch_size", 0, "model.batch_size"),
    ("loss", "l1", "model.loss"),
    ("bogus", 1, "model.bogus"),
])
def test_bad_model_settings_name_their_key(tmp_path, key, value, path):
    config = composed([], tmp_path)
    config["model"][key] = value
    with pytest.raises(ConfigError) as info:
        build(validate(config))
    assert info.value.path == path


def test_bad_schedule_names_its_key(tmp_path):
    config = composed([], tmp_path)
    config["optim"]["stages"][0]["schedule"] = {"name": "cosine"}
    with pytest.raises(ConfigError, match="onecycle") as info:
        validate(config)
    assert info.value.path == "optim.stages[0].schedule"


def test_experiment_run_writes_test_error(tmp_path):
    config = composed(["model.channels=4", "model.layers=1", "optim.stages.0.steps=3",
                       "trainer.progress=false", "output.formats=[]", "output.plots=false"],
                      tmp_path)
    train_run(config, tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {"rel_l2", "rel_h1", "max_abs_err", "wall_time_s", "steps"} <= set(metrics)
    assert 0 < metrics["rel_l2"] < 10 and metrics["steps"] == 3
    assert len(list((tmp_path / "c").glob("darcy64-*.npz"))) == 1
