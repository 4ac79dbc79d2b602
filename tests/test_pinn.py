"""Training: a Poisson problem to 1e-3, the inverse problem's coefficient to 1%, safeguards."""
import math
import sys
from pathlib import Path

import pytest
import torch

import physolve as ps
from physolve.geometry import Interval
from physolve.pde.library import problems

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))


def test_poisson1d_trains_below_1e3():
    solution = ps.solve(problems.get("poisson1d")(), ps.PINN(width=20, depth=2, n_interior=64,
                                                             n_boundary=2),
                        optim=["adam:200:lr=1e-2", "lbfgs:300"], dtype="float64", seed=0,
                        progress=False)
    m = solution.metrics()
    assert m["rel_l2"] < 1e-3, m
    assert solution.stages[1]["name"] == "lbfgs"


def test_inverse_example_recovers_kappa_within_one_percent():
    import inverse_diffusion

    solution = ps.solve(inverse_diffusion.make_problem(),
                        ps.PINN(width=20, depth=3, n_interior=500, n_boundary=50),
                        optim=["adam:300:lr=1e-2", "lbfgs:300"], dtype="float64", seed=0,
                        progress=False)
    kappa = solution.unknowns["kappa"]
    assert abs(kappa - inverse_diffusion.KAPPA_TRUE) / inverse_diffusion.KAPPA_TRUE < 0.01


def test_same_seed_same_result_and_no_global_rng_change():
    state = torch.get_rng_state()
    runs = [ps.solve(problems.get("poisson1d")(), ps.PINN(width=8, depth=1, n_interior=32),
                     optim=["adam:20"], seed=3, progress=False).final_loss() for _ in range(2)]
    assert runs[0] == runs[1]
    assert torch.equal(state, torch.get_rng_state())
    other = ps.solve(problems.get("poisson1d")(), ps.PINN(width=8, depth=1, n_interior=32),
                     optim=["adam:20"], seed=4, progress=False).final_loss()
    assert other != runs[0]


def test_float32_and_float64_switch():
    for dtype, expected in (("float32", torch.float32), ("float64", torch.float64)):
        sol = ps.solve(problems.get("poisson1d")(), ps.PINN(width=8, depth=1, n_interior=16),
                       optim=["adam:2"], dtype=dtype, progress=False)
        assert all(p.dtype == expected for p in sol.solver.parameters())


def test_nan_loss_stops_with_message_and_restores_last_good_state():
    calls = {"n": 0}

    def residual(f):
        calls["n"] += 1   # once at set-up (to name the equations), then once per Adam step
        bad = float("nan") if calls["n"] > 31 else 0.0
        return f.u.xx + 1.0 + bad

    problem = ps.Problem(Interval(0, 1), residual, conditions=[ps.Dirichlet(0.0)])
    with pytest.raises(ps.TrainingDiverged, match="loss became nan at step 31") as info:
        ps.solve(problem, ps.PINN(width=8, depth=1, n_interior=16), optim=["adam:100"],
                 metrics_every=10, progress=False)
    params = info.value.solution.solver.parameters()
    assert all(torch.isfinite(p).all() for p in params)
    assert info.value.solution.status == "diverged"


def test_lbfgs_stage_continues_from_adam():
    problem = problems.get("poisson1d")()
    sol = ps.solve(problem, ps.PINN(width=16, depth=2, n_interior=64),
                   optim=["adam:100:lr=1e-2", "lbfgs:200"], dtype="float64", seed=0,
                   metrics_every=50, progress=False)
    adam_end = [r for r in sol.history if r["stage"] == "adam"][-1]["loss"]
    first_lbfgs = [r for r in sol.history if r["stage"] == "lbfgs"][0]["loss"]
    assert first_lbfgs < adam_end          # starts where Adam stopped, and improves
    assert sol.history[-1]["loss"] < 1e-3 * adam_end


def test_bad_settings_name_the_field():
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'; choose one of"):
        ps.Trainer(["adamm:10"])
    with pytest.raises(ValueError, match="unknown dtype"):
        ps.Trainer(["adam:10"], dtype="float16")
    with pytest.raises(ValueError, match="n_interior"):
        ps.PINN(n_interior=0)
    with pytest.raises(ValueError, match="unknown activation 'tahn'"):
        ps.solve(problems.get("poisson1d")(), ps.PINN(activation="tahn"), optim=["adam:1"],
                 progress=False)
    with pytest.raises(ValueError, match="loss weights for unknown terms"):
        ps.solve(problems.get("poisson1d")(), ps.PINN(weights={"boundry": 2.0}),
                 optim=["adam:1"], progress=False)


def test_resampling_draws_new_points_only_in_first_order_stages():
    seen = []

    class Spy(ps.train.Callback):
        def on_step(self, state, record):
            seen.append((record["stage"], state.solver.interior[0, 0].item()))

    ps.solve(problems.get("poisson1d")(), ps.PINN(width=8, depth=1, n_interior=16),
             optim=["adam:6", "lbfgs:6"], resample_every=2, seed=0, progress=False,
             callbacks=[Spy()])
    adam = [x for s, x in seen if s == "adam"]
    lbfgs = [x for s, x in seen if s == "lbfgs"]
    assert len(set(adam)) == 3               # rounds 0, 1, 2 during Adam
    assert len(set(lbfgs)) == 1              # a line search needs a fixed objective


def test_fourier_features_fit_a_higher_frequency():
    # u = sin(6 pi x): the plain MLP of this size lands far off; the embedding gets within 10%.
    problem = problems.get("poisson1d")(k=6)
    stages = ["adam:300:lr=1e-2", "lbfgs:200"]
    plain = ps.solve(problem, ps.PINN(width=16, depth=2, n_interior=200), optim=stages,
                     dtype="float64", seed=0, progress=False)
    fourier = ps.solve(problem, ps.PINN(width=16, depth=2, n_interior=200, fourier_features=16,
                                        fourier_sigma=1.0),
                       optim=stages, dtype="float64", seed=0, progress=False)
    assert fourier.metrics()["rel_l2"] < 0.1
    assert plain.metrics()["rel_l2"] > 0.5
