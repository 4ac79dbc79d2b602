"""The Hydra launcher config groups compose; a 2-job joblib multirun where the plugin is installed."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from physolve.config import config_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name, target", [
    ("joblib", "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"),
    ("submitit_slurm", "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"),
])
def test_launcher_groups_compose(name, target):
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("config", overrides=[f"hydra/launcher={name}"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_ == target


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.skipif(not _installed("hydra_plugins.hydra_joblib_launcher"),
                    reason="hydra-joblib-launcher not installed (pip install physolve[sweep])")
def test_joblib_multirun_two_jobs(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "physolve", "train", "-m", "hydra/launcher=joblib",
         "problem=poisson1d", "model.width=4,6", "model.depth=1", "model.n_interior=16",
         "optim.stages=[{name: adam, steps: 3}]", "trainer.progress=false",
         f"hydra.sweep.dir={tmp_path}"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    for job in ("0", "1"):
        metrics = json.loads((tmp_path / job / "metrics.json").read_text())
        assert metrics["steps"] == 3
