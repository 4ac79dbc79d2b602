"""The benchmark harness: a budget on the trainer's clock, the results it writes."""
import json
import math

import pytest
import torch

import physolve as ps
from physolve.bench import Budget, Case, Results, command_line, run
from physolve.pde.reference import Analytic


def decay_problem():
    """u'' = 4 u on [0, 1], u(0) = 1, u(1) = e^-2: u = exp(-2 x)."""
    def residual(f):
        return f.u.xx - 4 * f.u

    return ps.Problem(ps.geometry.Interval(0, 1), residual, inputs="x", outputs="u",
                      conditions=[ps.Dirichlet(lambda x: torch.exp(-2 * x))],
                      reference=Analytic(lambda x: torch.exp(-2 * x), resolution=101),
                      name="decay")


def tiny(stages, budget, **trainer):
    return Case("decay/pinn", label="PINN 2x8", problem=decay_problem,
                solver=lambda: ps.PINN(width=8, depth=2, n_interior=32, n_boundary=2),
                stages=stages, budget=budget,
                trainer={"dtype": "float64", "metrics_every": 20, "threads": 1, **trainer})


def test_budget_stops_a_run_on_the_trainers_clock():
    row = run(tiny(["adam:1000000", "lbfgs:1000000"], Budget(0.5, clock="process")))
    # the first stage used the budget; the second never began
    assert row["reasons"] == ["time limit of 0.5 s for the fit reached"] * 2
    # it stopped at the first step past the limit (the stop makes a metrics record)
    times = [t for t, _ in row["trace"]]
    assert times[-1] >= 0.5 and all(t < 0.5 for t in times[:-1])
    assert row["time_s"] == pytest.approx(times[-1], abs=0.05)
    assert 1 <= row["steps"] < 1000000
    assert row["clock"] == "process" and row["budget"] == "0.5 s process"
    assert row["threads"] == 1 and row["status"] == "ok"
    assert row["rel_l2"] == pytest.approx(row["trace"][-1][1])  # the final iterate's error


def test_stage_budget_caps_each_stage():
    budget = Budget(0.3, clock="process", per="stage")
    row = run(tiny(["adam:1000000", "adam:1000000:lr=1e-4"], budget))
    assert row["reasons"] == ["time limit of 0.3 s reached"] * 2
    assert [s["time_limit"] for s in row["stages"]] == [0.3, 0.3]
    assert row["stages"][1]["lr"] == 1e-4
    assert row["time_s"] >= 0.6


def test_steps_end_a_run_before_its_budget_and_errors_fall():
    row = run(tiny(["adam:200:lr=1e-2"], Budget(600, clock="wall")))
    assert row["steps"] == 200 and row["reasons"] == ["step budget of 200 reached"]
    assert row["trace"][-1][1] < 0.5 * row["trace"][0][1]


def test_results_write_table_json_and_figure(tmp_path):
    results = Results("tiny", tmp_path)
    row = run(tiny(["adam:60"], Budget(60, clock="process")))
    results.add("decay", "pinn", row={**row, "command": command_line("bench.py", ["--x", "1"])})
    results.add("decay", "other", row={"label": "other", "trace": [(1.0, 0.5), (2.0, 0.1)]})
    results.write(lambda data: "| case | rel. L2 |\n" + "".join(
        f"| {k} | {r.get('rel_l2', math.nan):.2e} |\n" for k, r in data["decay"].items()))
    data = json.loads((tmp_path / "tiny.json").read_text())
    assert set(data["decay"]) == {"pinn", "other"}    # the second add merged, not replaced
    assert data["decay"]["pinn"]["command"] == "python bench.py --x 1"
    assert data["decay"]["pinn"]["clock"] == "process"
    assert "load_start" in data["decay"]["pinn"]
    assert (tmp_path / "tiny.md").read_text().count("\n") == 3
    png = (tmp_path / "tiny.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


def test_legacy_results_are_read_until_a_json_exists(tmp_path):
    results = Results("old", tmp_path, legacy=lambda: {"p": {"m": {"trace": []}}})
    assert results.load() == {"p": {"m": {"trace": []}}}
    results.add("p", "n", row={"trace": []})
    assert set(json.loads((tmp_path / "old.json").read_text())["p"]) == {"m", "n"}


@pytest.mark.parametrize("kwargs, word", [({"seconds": 0}, "seconds"),
                                          ({"seconds": 1, "clock": "cpu"}, "clock"),
                                          ({"seconds": 1, "per": "run"}, "per")])
def test_bad_budgets_name_the_field(kwargs, word):
    with pytest.raises(ValueError, match=word):
        Budget(**kwargs)


def test_trainer_time_limit_is_checked():
    with pytest.raises(ValueError, match="time_limit"):
        ps.Trainer(["adam:10"], time_limit=-1)
