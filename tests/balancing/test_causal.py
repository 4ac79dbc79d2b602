"""Causal training: the slice weights are exp(-eps * cumulative loss before the slice),
monotone, detached; the PDE's loss is their weighted mean; the eps schedule moves on between
iterations; soft and hard initial conditions both train; metrics and the progress bar show the
smallest weight."""
import math

import pytest
import torch

import physolve as ps
from physolve.train.causal import CausalWeights
from physolve.train.trainer import POSTFIX

from .cases import heat


def test_weights_are_exp_of_minus_eps_times_the_cumulative_loss_and_monotone():
    c = CausalWeights(chunks=4, eps=2.0)
    L = torch.tensor([0.3, 0.1, 0.5, 0.2], dtype=torch.float64, requires_grad=True)
    w = c.weights(L)
    expected = torch.tensor([1.0, math.exp(-2.0 * 0.3), math.exp(-2.0 * 0.4),
                             math.exp(-2.0 * 0.9)], dtype=torch.float64)
    assert torch.allclose(w, expected, rtol=1e-15, atol=0)
    assert not w.requires_grad                       # detached: no gradient through w
    assert bool((w[1:] <= w[:-1]).all())             # monotone non-increasing


def test_chunk_losses_and_scales_give_the_weighted_mean():
    c = CausalWeights(chunks=3, eps=1.0)
    c.setup(0.0, 1.0)
    t = torch.tensor([0.05, 0.2, 0.4, 0.5, 0.9, 1.0], dtype=torch.float64)
    index = c.chunk_index(t)
    assert index.tolist() == [0, 0, 1, 1, 2, 2]      # t1 itself in the last slice
    r2 = torch.tensor([1.0, 3.0, 0.5, 0.5, 2.0, 4.0], dtype=torch.float64)
    L = c.chunk_losses(r2, index)
    assert L.tolist() == [2.0, 0.5, 3.0]
    s = c.point_scale(r2, index)
    w = [1.0, math.exp(-2.0), math.exp(-2.5)]
    assert float((s * r2).sum()) == pytest.approx(sum(wi * li for wi, li in
                                                      zip(w, [2.0, 0.5, 3.0])) / 3, rel=1e-14)
    assert c.min_weight == pytest.approx(math.exp(-2.5), rel=1e-14)


@pytest.mark.parametrize("hard", [False, True])
def test_solver_loss_is_the_causal_mean_with_soft_and_hard_initial_values(hard):
    solver = ps.PINN(width=6, depth=2, n_interior=64, n_boundary=10,
                     causal={"chunks": 8, "eps": 5.0})
    solver.setup(heat(hard_initial=hard), dtype=torch.float64, seed=0)
    total, terms = solver.loss()
    res = solver.residuals()
    t = solver.interior[:, 1].detach()
    index = ((t / 1.0) * 8).floor().clamp(0, 7).long()
    r2 = res["pde"].detach().reshape(-1).square()
    L = torch.stack([r2[index == i].mean() if (index == i).any() else r2.new_zeros(())
                     for i in range(8)])
    w = torch.exp(-5.0 * (torch.cumsum(L, 0) - L))
    by_hand = (w * L).mean() + sum(v.detach().square().mean() for k, v in res.items()
                                   if k != "pde")
    assert float(total.detach()) == pytest.approx(float(by_hand), rel=1e-12)
    assert ("initial" in terms) == (not hard)
    assert float(terms["pde"]) == pytest.approx(float(r2.mean()), rel=1e-12)  # reported plain
    assert solver.causal.min_weight == pytest.approx(float(w.min()), rel=1e-12)
    # and it trains: the causal minimum weight is in every metrics record
    sol = ps.solve(heat(hard_initial=hard), ps.PINN(width=6, depth=2, n_interior=64,
                                                    n_boundary=10,
                                                    causal={"chunks": 8, "eps": 5.0}),
                   optim=["adam:20:lr=1e-2", "lbfgs:10"], dtype="float64", seed=0,
                   progress=False, metrics_every=10)
    assert all(0 < r["causal_min_weight"] <= 1 for r in sol.history)
    assert sol.history[-1]["causal_min_weight"] > sol.history[0]["causal_min_weight"]
    assert POSTFIX["causal_min_weight"] == "causal_w"   # shown in the progress bar


def test_eps_schedule_moves_on_between_iterations_only():
    solver = ps.PINN(width=6, depth=2, n_interior=64, n_boundary=10,
                     causal={"chunks": 4, "eps_schedule": [0.01, 0.1, 1.0], "delta": 0.5})
    solver.setup(heat(), dtype=torch.float64, seed=0)
    solver.loss()                                    # min weight near 1 with eps = 0.01
    assert solver.causal.eps == 0.01 and solver.causal.min_weight > 0.5
    assert solver.begin_step(0) is True              # the objective changed
    assert solver.causal.eps == 0.1
    solver.causal.min_weight = 0.4                   # below delta: stays
    assert solver.begin_step(1) is False and solver.causal.eps == 0.1


def test_bad_causal_settings_are_refused_naming_the_key():
    for options, match in [({"chunks": 0}, r"causal.chunks: .* got 0"),
                           ({"eps": -1.0}, r"causal.eps: .* got -1"),
                           ({"eps_schedule": [1.0, 0.1]}, r"causal.eps_schedule: .*increasing"),
                           ({"chunk": 3}, r"causal.chunk: unknown key; allowed: chunks, eps"),
                           ({"delta": 2.0}, r"causal.delta: must be in \(0, 1\]")]:
        with pytest.raises(ValueError, match=match):
            ps.PINN(causal=options)
    with pytest.raises(ValueError, match="needs a time-dependent problem"):
        ps.PINN(causal={}).setup(ps.problems.get("poisson1d")(), dtype=torch.float64, seed=0)
