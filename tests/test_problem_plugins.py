"""Problems from installed packages (entry points "physolve.problems") are named like built-in
ones: by Registry look-ups in Python and by `physolve train` in a process of its own."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from physolve.registry import Registry

ROOT = Path(__file__).resolve().parents[1]

PLUGIN = textwrap.dedent('''
    import torch
    import physolve as ps

    def ramp(slope: float = 1.0):
        """-u'' = 0 on [0, 1], u(0) = 0, u(1) = slope: u = slope x."""
        return ps.Problem(ps.geometry.Interval(0, 1), lambda f: -f.u.xx, inputs="x",
                          outputs="u", conditions=[ps.Dirichlet(lambda x: slope * x)],
                          reference=ps.reference.Analytic(lambda x: slope * x), name="ramp")
''')


def _install(site: Path, entry_points: str) -> Path:
    """A package as pip would leave it: the module and its dist-info with entry points."""
    site.mkdir(parents=True, exist_ok=True)
    (site / "rampplug.py").write_text(PLUGIN, encoding="utf-8")
    info = site / "rampplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rampplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[physolve.problems]\n{entry_points}\n")
    return site


def test_a_registry_loads_entry_points_on_first_look_up(tmp_path, monkeypatch):
    site = _install(tmp_path / "site", "ramp = rampplug:ramp\nbroken = rampplug:missing")
    monkeypatch.syspath_prepend(str(site))
    reg = Registry("problem", entry_points="physolve.problems")
    reg.register("own", lambda: None)
    with pytest.warns(UserWarning, match=r"problem 'broken' from entry point 'rampplug:missing'"):
        assert reg.names() == ["own", "ramp"]      # the broken one is named, the rest load
    assert reg.get("ramp")(slope=2.0).name == "ramp"
    with pytest.raises(ValueError, match="unknown problem 'rampp'; choose one of: own, ramp"):
        reg.get("rampp")


def test_physolve_train_names_a_problem_from_an_installed_package(tmp_path):
    site = _install(tmp_path / "site", "ramp = rampplug:ramp")
    configs = tmp_path / "myconfigs" / "problem"
    configs.mkdir(parents=True)
    (configs / "ramp.yaml").write_text("name: ramp\nslope: 1.0\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
           "OMP_NUM_THREADS": "1"}
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "physolve.cli", "train", "--config-dir",
           str(tmp_path / "myconfigs"), "problem=ramp", "problem.slope=3.0",
           "optim.stages=[{name: adam, steps: 3}]", "output.formats=[]", "output.plots=false",
           "trainer.progress=false", f"hydra.run.dir={run}"]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 3 and metrics["rel_l2"] > 0
