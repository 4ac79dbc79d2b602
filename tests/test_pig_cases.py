"""The PIG paper's second case (Klein-Gordon) and the PIG experiment configs."""
import json
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

import physolve as ps
from physolve.cli import main
from physolve.models import PIG
from physolve.pde.library import problems

ROOT = Path(__file__).resolve().parents[1]


class Exact(nn.Module):
    """u = (x + y) cos(k t) + x y sin(k t) as a 'network' of the raw coordinates."""

    def __init__(self, k):
        super().__init__()
        self.k = k
        self.unused = nn.Parameter(torch.zeros(1))   # a solver needs something to hand out

    def forward(self, X):
        x, y, t = X.unbind(1)
        u = (x + y) * torch.cos(self.k * t) + x * y * torch.sin(self.k * t)
        return (u + 0 * self.unused)[:, None]


@pytest.mark.parametrize("k", [2.0, 3.0])
def test_klein_gordon_exact_solution_has_zero_loss_and_error(k):
    problem = problems.get("klein_gordon")(k=k, resolution=9)
    solver = ps.PINN(network=Exact(k), normalize_inputs=False, n_interior=500, n_boundary=200)
    solver.setup(problem, dtype=torch.float64, device="cpu", seed=0)
    total, terms = solver.loss()
    assert set(terms) == {"pde", *[c.name for c in problem.conditions]}
    assert float(total.detach()) < 1e-26, terms
    ref = problem.reference
    assert ref.points().shape == (9 ** 3, 3)
    assert torch.allclose(solver.predict(ref.points())[:, 0], ref.values()[:, 0], atol=1e-14)


def test_klein_gordon_rate_condition_is_optional_and_checked():
    assert len(problems.get("klein_gordon")().conditions) == 3
    assert len(problems.get("klein_gordon")(initial_rate=False).conditions) == 2
    with pytest.raises(ValueError, match="k and t_end must be > 0"):
        problems.get("klein_gordon")(t_end=0)


@pytest.fixture(scope="module")
def bench():
    pytest.importorskip("hydra")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import pig_vs_pinn
    return pig_vs_pinn


@pytest.mark.parametrize("experiment, problem_name", [("pig_helmholtz", "helmholtz2d"),
                                                      ("pig_klein_gordon", "klein_gordon")])
def test_experiment_configs_build_and_train_into_a_run_directory(bench, experiment,
                                                                 problem_name, tmp_path, capsys):
    # the full-size objects build through the config layer ...
    problem, solver, trainer = bench.build(bench.compose(experiment))
    assert isinstance(solver, PIG) and problem.name == problem_name
    assert trainer.dtype == torch.float64
    # ... and a shrunken copy trains a few steps through the command, writing metrics.json
    main(["train", f"experiment={experiment}", "model.n_gaussians=16", "model.n_interior=64",
          "model.n_boundary=32", "optim.stages=[{name:lbfgs,steps:3}]", "trainer.progress=false",
          "output.formats=[]", "output.plots=false", f"hydra.run.dir={tmp_path}"]
         + (["problem.resolution=5"] if problem_name == "klein_gordon" else []))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps"] == 3 and metrics["status"] == "completed"
    assert 0 < metrics["rel_l2"] < 10


def test_matched_pinn_has_about_the_same_parameter_count(bench):
    config = bench.compose("pig_helmholtz")
    problem, pig, _ = bench.build(config)
    n_pig = bench.parameter_count(pig)
    assert n_pig == 800 * 5 + (4 * 16 + 16) + 17      # G (2d + 1) + the 4-16-1 MLP
    pinn_config = bench.matched_pinn(config, problem, n_pig)
    assert pinn_config["model"]["n_interior"] == config["model"]["n_interior"]
    _, pinn, _ = bench.build(pinn_config)
    n = bench.parameter_count(pinn)
    assert n == bench.mlp_parameters(2, 1, pinn.width, pinn.depth)
    assert abs(n - n_pig) / n_pig < 0.03


def test_budget_caps_every_stage_and_sets_the_clock(bench):
    config = bench.budgeted(bench.compose("pig_helmholtz"), 60, "process")
    assert [s["time_limit"] for s in config["optim"]["stages"]] == [60]
    _, _, trainer = bench.build(config)
    assert trainer.clock is time.process_time and trainer.stages[0].time_limit == 60


def test_runs_recorded_separately_share_one_table(bench, tmp_path):
    out = tmp_path / "pig.md"
    row = {"parameters": 4097, "budget": 60.0, "clock": "process", "time_s": 61.0, "rel_l2": 1e-4,
           "max_abs_err": 2e-4, "steps": 7, "reason": "r", "command": "c", "environment": "e"}
    bench.record(out, {"accuracy": {"helmholtz": {"pig": {**row, "method": "PIG x"}}}})
    bench.record(out, {"accuracy": {"helmholtz": {"pinn": {**row, "method": "PINN y",
                                                            "rel_l2": 0.5}}}})
    stored = json.loads(out.with_suffix(".json").read_text())
    assert set(stored["accuracy"]["helmholtz"]) == {"pig", "pinn"}
    table = out.read_text()
    assert "| PIG x | 4097 | 60 | process | 61 | 1.000e-04 |" in table
    assert "| PINN y | 4097 | 60 | process | 61 | 5.000e-01 |" in table


def test_a_stopped_run_is_recorded_from_its_last_logged_record(bench, tmp_path):
    log = tmp_path / "helmholtz_pinn.jsonl"
    log.write_text("\n".join(json.dumps({"step": s, "time": 10.0 * s, "rel_l2": 1.0 / s,
                                         "max_abs_err": 2.0 / s}) for s in (1, 2, 4)) + "\n")
    config = bench.compose("pig_helmholtz", ("model.n_interior=64", "model.n_boundary=32"))
    row = bench.last_logged(config, log)
    assert (row["steps"], row["time_s"], row["rel_l2"], row["max_abs_err"]) == (4, 40.0, 0.25,
                                                                                0.5)
    assert row["parameters"] == 4097 and "stopped" in row["reason"]
