"""Loss balancers: `fixed` is today's loss bit for bit; gradnorm, ntk, relobralo, softadapt, rba
and sa produce the multipliers of their formulas, computed here by hand on tiny problems."""
import math

import pytest
import torch
from torch import nn

import physolve as ps
from physolve.models.networks import MLP
from physolve.train.balancing import NTK, RBA, ReLoBRaLo, SelfAdaptive, SoftAdapt, balancer

from .cases import heat


def _solver(**kw):
    solver = ps.PINN(width=6, depth=2, n_interior=40, n_boundary=10, **kw)
    solver.setup(heat(), dtype=torch.float64, seed=3)
    return solver


def _train(**kw):
    return ps.solve(heat(),
                    ps.PINN(width=6, depth=2, n_interior=40, n_boundary=10, **kw),
                    optim=["adam:15:lr=1e-2", "lbfgs:8"], dtype="float64", seed=3,
                    progress=False, metrics_every=5)


def test_fixed_is_todays_loss_and_training_bit_for_bit():
    solver = _solver(weights={"initial": 3.0}, balance="fixed")
    assert not solver.balanced
    total, terms = solver.loss()
    # today's loss: the weighted sum of the mean squared residuals, in this order
    by_hand = sum(solver.weight(k) * r.square().mean() for k, r in solver.residuals().items())
    assert torch.equal(total, by_hand)
    assert set(terms) == {"pde", "initial", "dirichlet"}
    a, b = _train(), _train(balance="fixed")
    for p, q in zip(a.solver.parameters(), b.solver.parameters()):
        assert torch.equal(p, q)
    assert a.history == [dict(r, time=r["time"]) for r in a.history]
    assert [r["loss"] for r in a.history] == [r["loss"] for r in b.history]
    assert not any(k.startswith("weight/") for k in b.history[-1])  # nothing new logged


def test_mlp_initial_weights_are_drawn_as_before():
    """The layers are built first and initialised after, as the MLP always did: existing
    runs start from the same networks."""
    torch.manual_seed(7)
    net = MLP(2, 1, width=5, depth=2)
    torch.manual_seed(7)
    layers = [nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 5), nn.Tanh(), nn.Linear(5, 1)]
    for m in layers:
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            nn.init.zeros_(m.bias)
    old = [p for m in layers for p in m.parameters()]
    for p, q in zip(net.parameters(), old):
        assert torch.equal(p, q)


def _term_gradients(solver):
    params = solver.parameters()
    out = {}
    for k, r in solver.residuals().items():
        grads = torch.autograd.grad(r.square().mean(), params, retain_graph=True,
                                    allow_unused=True)
        out[k] = torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1)
                            for p, g in zip(params, grads)])
    return out


@pytest.mark.parametrize("mode", ["norm", "max_mean"])
def test_gradnorm_weights_equal_the_formula(mode):
    solver = _solver(balance="gradnorm", balance_options={"every": 2, "alpha": 0.75,
                                                            "mode": mode})
    grads = _term_gradients(solver)
    norms = {k: float(g.norm()) for k, g in grads.items()}
    if mode == "norm":
        hat = {k: sum(norms.values()) / n for k, n in norms.items()}
    else:  # the paper's: max |grad of the PDE loss| / mean |grad of the term's|, PDE fixed
        top = float(grads["pde"].abs().max())
        hat = {k: 1.0 if k == "pde" else top / float(g.abs().mean()) for k, g in grads.items()}
    assert solver.begin_step(0) is True
    expected = {k: 0.75 * 1.0 + 0.25 * h for k, h in hat.items()}
    for k, v in expected.items():
        assert solver.balancer.lam[k] == pytest.approx(v, rel=1e-12)
    assert len({round(v, 6) for v in expected.values()}) == 3  # the terms differ
    assert solver.begin_step(1) is False          # every 2: no update at step 1
    total, _ = solver.loss()
    objective = {k: r.square().mean() for k, r in solver.residuals().items()}
    by_hand = sum(expected[k] * v for k, v in objective.items())
    assert float(total.detach()) == pytest.approx(float(by_hand.detach()), rel=1e-12)
    assert solver.training_metrics()["weight/initial"] == pytest.approx(expected["initial"])


def test_relobralo_follows_its_formula():
    T, a = 0.1, 0.9
    # rho_mean 1: the lookback variable is always 1; 0: always 0 (both branches, by hand)
    for rho in (1.0, 0.0):
        b = ReLoBRaLo(alpha=a, temperature=T, rho_mean=rho)
        b.setup(["p", "q"], seed=0)
        seq = [{"p": 1.0, "q": 4.0}, {"p": 0.5, "q": 3.0}, {"p": 0.2, "q": 2.5}]
        assert b.update({k: torch.tensor(v) for k, v in seq[0].items()}, None) is False
        lam = {"p": 1.0, "q": 1.0}

        def bal(now, then):
            e = {k: math.exp(now[k] / (T * then[k])) for k in now}
            return {k: 2 * v / sum(e.values()) for k, v in e.items()}

        for prev, now in zip(seq[:-1], seq[1:]):
            b.update({k: torch.tensor(v, dtype=torch.float64) for k, v in now.items()}, None)
            s, l_ = bal(now, seq[0]), bal(now, prev)
            lam = {k: a * (rho * lam[k] + (1 - rho) * s[k]) + (1 - a) * l_[k] for k in lam}
            for k in lam:
                assert b.lam[k] == pytest.approx(lam[k], rel=1e-12)
        assert b.lam["q"] > b.lam["p"]  # q falls slowest: it gets the larger weight


def test_relobralo_lookback_is_seeded_and_saved():
    def run(b, n):
        for i in range(n):
            b.update({"p": torch.tensor(1.0 / (i + 1)), "q": torch.tensor(1.0)}, None)

    a, b = ReLoBRaLo(rho_mean=0.5), ReLoBRaLo(rho_mean=0.5)
    a.setup(["p", "q"], seed=11)
    b.setup(["p", "q"], seed=11)
    run(a, 6)
    run(b, 3)
    c = ReLoBRaLo(rho_mean=0.5)
    c.setup(["p", "q"], seed=99)
    c.load_state_dict(b.state_dict())
    for i in range(3, 6):
        c.update({"p": torch.tensor(1.0 / (i + 1)), "q": torch.tensor(1.0)}, None)
    assert c.lam == a.lam


def test_softadapt_follows_its_formula():
    b = SoftAdapt(beta=2.0)
    b.setup(["p", "q"], seed=0)
    b.update({"p": torch.tensor(1.0, dtype=torch.float64),
              "q": torch.tensor(2.0, dtype=torch.float64)}, None)
    b.update({"p": torch.tensor(0.5, dtype=torch.float64),
              "q": torch.tensor(1.8, dtype=torch.float64)}, None)
    s = {"p": -0.5, "q": -0.1}
    e = {k: math.exp(2.0 * v) for k, v in s.items()}
    for k in s:
        assert b.lam[k] == pytest.approx(2 * e[k] / sum(e.values()), rel=1e-12)


def test_rba_point_weights_and_loss_follow_the_formula():
    solver = _solver(balance="rba", balance_options={"gamma": 0.9, "eta": 0.05,
                                                      "terms": ["pde"]})
    r0 = solver.residuals()["pde"].detach().reshape(-1)
    solver.begin_step(0)
    lam = 0.9 * 1.0 + 0.05 * r0.abs() / r0.abs().max()
    assert torch.allclose(solver.balancer.point_weights["pde"], lam, rtol=1e-14, atol=0)
    assert set(solver.balancer.point_weights) == {"pde"}
    assert float(lam.max()) == pytest.approx(0.95)
    total, terms = solver.loss()
    res = solver.residuals()
    by_hand = ((lam * res["pde"].reshape(-1)).square().mean()
               + res["initial"].square().mean() + res["dirichlet"].square().mean())
    assert float(total.detach()) == pytest.approx(float(by_hand.detach()), rel=1e-12)
    # the residual vector's squared norm is the loss (Levenberg-Marquardt sees the same)
    assert float(solver.residual_vector().detach().square().sum()) == pytest.approx(float(total.detach()),
                                                                          rel=1e-12)
    solver.resample(1)  # new points: weights start again
    assert solver.balancer.point_weights == {}


@pytest.mark.parametrize("name", ["gradnorm", "ntk", "relobralo", "softadapt", "rba", "sa"])
def test_every_balancer_trains_pinn_pig_and_lpinn(name):
    options = {"every": 2}
    pinn = _train(balance=name, balance_options=options)
    assert pinn.history[-1]["weight/pde"] > 0 and math.isfinite(pinn.history[-1]["loss"])
    pig = ps.solve(ps.problems.get("poisson1d")(),
                   ps.models.solvers.get("pig")(n_gaussians=8, channels=2, n_interior=30, n_boundary=4,
                          balance=name, balance_options=options),
                   optim=["adam:6"], dtype="float64", seed=0, progress=False, metrics_every=3)
    assert "weight/dirichlet" in pig.history[-1]
    lpinn = ps.solve(heat(),
                     ps.models.solvers.get("lpinn")(velocity=0.0, nu=0.1, width_state=6,
                                                    depth_state=1, width_char=6,
                                                    depth_char=1, n_xi=12, n_t=6,
                                                    balance=name, balance_options=options),
                     optim=["adam:6", "lbfgs:3"], dtype="float64", seed=0, progress=False,
                     metrics_every=3)
    rec = lpinn.history[-1]
    assert {"weight/characteristics", "weight/state", "weight/boundary"} <= set(rec)
    assert math.isfinite(rec["loss"])


def test_lpinn_gradnorm_weights_equal_the_formula():
    solver = ps.models.solvers.get("lpinn")(velocity=0.0, nu=0.1, width_state=6,
                                            depth_state=1, width_char=6, depth_char=1, n_xi=12,
                                            n_t=6, balance="gradnorm",
                                            balance_options={"alpha": 0.5, "mode": "norm"})
    solver.setup(heat(), dtype=torch.float64, device="cpu", seed=1)
    params = solver.parameters()
    # the characteristics start exactly straight (zero correction): move them off, so that
    # every term has a gradient
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in solver.net_x.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    norms = {}
    for k, r in solver._pointwise().items():
        g = torch.autograd.grad(r.square().mean(), params, retain_graph=True, allow_unused=True)
        norms[k] = float(torch.cat([(torch.zeros_like(p) if x is None else x).reshape(-1)
                                    for p, x in zip(params, g)]).norm())
    solver.begin_step(0)
    assert set(norms) == {"characteristics", "state", "boundary"}
    for k, n in norms.items():
        assert solver.balancer.lam[k] == pytest.approx(0.5 + 0.5 * sum(norms.values()) / n,
                                                       rel=1e-12)


def test_unknown_balancer_and_options_are_refused_naming_them():
    with pytest.raises(ValueError, match=r"balance: unknown balancer 'gradnorn'; allowed: "
                                         r"fixed, gradnorm, ntk, rba, relobralo, sa, "
                                         r"softadapt"):
        balancer("gradnorn")
    with pytest.raises(ValueError, match=r"balance_options.alpa: .* allowed: every, alpha"):
        balancer("gradnorm", {"alpa": 0.5})
    with pytest.raises(ValueError, match=r"balance_options.every: .* got 0"):
        ps.PINN(balance="relobralo", balance_options={"every": 0})
    with pytest.raises(ValueError, match=r"balance_options.mode: .* 'max_mean', 'norm', "
                                         r"got 'l1'"):
        balancer("gradnorm", {"mode": "l1"})
    with pytest.raises(ValueError, match=r"balance_options.terms: .*\['pdee'\]"):
        _solver(balance="rba", balance_options={"terms": ["pdee"]})
    assert isinstance(balancer("rba", {"eta": 0.1}), RBA)
    with pytest.raises(ValueError, match=r"balance_options.points: ntk needs an integer >= 1, "
                                         r"got 0"):
        balancer("ntk", {"points": 0})
    with pytest.raises(ValueError, match=r"balance_options.eta: sa needs a number > 0"):
        balancer("sa", {"eta": 0.0})
    with pytest.raises(ValueError, match=r"balance_options.terms: sa's terms \['pdee'\]"):
        _solver(balance="sa", balance_options={"terms": ["pdee"]})


def _ntk_diagonal_by_differences(solver, h=1e-6):
    """|d r_i / d theta|^2 per point and term, by central differences in every parameter
    (independent of the backward passes the balancer takes)."""
    params = solver.parameters()
    total = {}
    with torch.no_grad():
        for p in params:
            flat = p.view(-1)
            for j in range(flat.numel()):
                keep = float(flat[j])
                flat[j] = keep + h
                up = {k: r.detach().reshape(-1) for k, r in solver.residuals().items()}
                flat[j] = keep - h
                down = {k: r.detach().reshape(-1) for k, r in solver.residuals().items()}
                flat[j] = keep
                for k in up:
                    total[k] = total.get(k, 0) + ((up[k] - down[k]) / (2 * h)).square()
    return total


def test_ntk_weights_equal_the_formula_with_finite_difference_jacobians():
    # points above every term's count: the whole NTK diagonal, so the mean is exact
    solver = _solver(balance="ntk", balance_options={"alpha": 0.25, "points": 1000})
    with torch.enable_grad():
        diagonal = _ntk_diagonal_by_differences(solver)
    t = {k: float(d.mean()) for k, d in diagonal.items()}
    hat = {k: sum(t.values()) / v for k, v in t.items()}
    assert solver.begin_step(0) is True
    for k, h in hat.items():
        assert solver.balancer.lam[k] == pytest.approx(0.25 + 0.75 * h, rel=1e-6)
    assert len({round(v, 3) for v in hat.values()}) == 3
    # a sample of the points is seeded: the same seed, the same multipliers
    a = _solver(balance="ntk", balance_options={"points": 4})
    b = _solver(balance="ntk", balance_options={"points": 4})
    a.begin_step(0)
    b.begin_step(0)
    assert a.balancer.lam == b.balancer.lam and a.balancer.lam != solver.balancer.lam


def test_sa_weights_take_adam_ascent_steps_on_the_loss():
    eta, b1, b2, eps = 0.05, 0.9, 0.999, 1e-8
    solver = _solver(balance="sa", balance_options={"eta": eta, "init": 2.0, "terms": ["pde"]})
    r2 = solver.residuals()["pde"].detach().reshape(-1).square()
    lam, m, v = torch.full_like(r2, 2.0), torch.zeros_like(r2), torch.zeros_like(r2)
    for step in (1, 2):      # the network is not trained between the updates: r is the same
        solver.begin_step(step - 1)
        g = 2 * lam * r2 / r2.numel()          # dL/dlambda of L = mean (lambda r)^2
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        lam = lam + eta * (m / (1 - b1 ** step)) / ((v / (1 - b2 ** step)).sqrt() + eps)
        assert torch.allclose(solver.balancer.point_weights["pde"], lam, rtol=1e-12, atol=0)
    assert set(solver.balancer.point_weights) == {"pde"}
    assert float(lam.min()) > 2.0                    # ascent: the weights only grow
    total, _ = solver.loss()
    res = solver.residuals()
    by_hand = ((lam * res["pde"].reshape(-1)).square().mean()
               + res["initial"].square().mean() + res["dirichlet"].square().mean())
    assert float(total.detach()) == pytest.approx(float(by_hand.detach()), rel=1e-12)
    assert solver.training_metrics()["sa_mean/pde"] == pytest.approx(float(lam.mean()))
    solver.resample(1)
    assert solver.balancer.point_weights == {} and solver.balancer.optimizers == {}
