"""LPINN: exact characteristics, chain-rule diffusion, interpolation, declarations."""
import math
from pathlib import Path

import pytest
import torch

from physolve.geometry import Interval, TimeInterval
from physolve.models.lpinn import (LPINN, CharacteristicsCrossed, CharacteristicsCrossedWarning,
                                   diffusion_chain_rule)
from physolve.pde.conditions import Initial
from physolve.pde.library.burgers import burgers
from physolve.pde.library.convection import convection
from physolve.pde.problem import Problem

CPU = torch.device("cpu")


def _solver(problem, **kw):
    s = LPINN(**{"n_xi": 32, "n_t": 16, "width_state": 16, "depth_state": 2,
                 "width_char": 16, "depth_char": 1, **kw})
    s.setup(problem, dtype=torch.float64, device=CPU, seed=0)
    return s


def _zero_last(net):
    last = [m for m in net.modules() if isinstance(m, torch.nn.Linear)][-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    return last


def test_constant_velocity_characteristics_exact():
    # X = xi + t (c0 + c_scale N) with N's last layer zero at setup: X = xi + c t exactly
    c = 50.0
    s = _solver(convection(c), velocity=c)
    r_x, r_u = s.residuals(s.xi, s.t)
    assert r_x.abs().max().item() < 1e-12
    X, _ = s.fields(s.xi, s.t)
    assert (X - (s.xi + c * s.t)).abs().max().item() < 1e-12
    # and the Eulerian prediction is then the exact sin(x - c t) up to interpolation error
    _zero_last(s.net_u)
    pts = convection(c).reference.points().double()[::37]
    u = s.predict(pts)[:, 0]
    assert (u - torch.sin(pts[:, 0] - c * pts[:, 1])).abs().max().item() < 1e-5


def test_time_dependent_velocity_learned():
    # c(x, t) = 3 t: X = xi + 1.5 t^2, a correction the network has to learn (c0 = 0).
    # Training the characteristics branch alone approaches it (measured: about 1e-3).
    s = _solver(convection(1.0), velocity=lambda x, t: 3 * t)
    X, _ = s.fields(s.xi, s.t)
    assert (X - s.xi).abs().max().item() < 1e-12   # starts from the straight characteristics
    opt = torch.optim.LBFGS(list(s.net_x.parameters()), max_iter=150, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-14, tolerance_change=1e-16)

    def closure():
        opt.zero_grad()
        r_x, _ = s.residuals(s.xi, s.t)
        loss = (r_x ** 2).mean()
        loss.backward()
        return loss
    opt.step(closure)
    X, _ = s.fields(s.xi, s.t)
    assert (X - (s.xi + 1.5 * s.t ** 2)).detach().abs().max().item() < 2e-2


def test_chain_rule_diffusion_against_finite_differences():
    xi = torch.linspace(0.1, 0.9, 7, dtype=torch.float64, requires_grad=True)
    X = xi + 0.3 * torch.sin(2 * xi)            # X_xi > 0
    u = torch.exp(xi) * torch.cos(3 * xi)
    got = diffusion_chain_rule(X, u, xi).detach()
    # u as a function of X: invert X(xi) by Newton, then central differences in X
    def u_of_X(Xq):
        z = Xq.clone()
        for _ in range(50):
            z = z - (z + 0.3 * torch.sin(2 * z) - Xq) / (1 + 0.6 * torch.cos(2 * z))
        return torch.exp(z) * torch.cos(3 * z)
    Xd, h = X.detach(), 1e-4
    fd = (u_of_X(Xd + h) - 2 * u_of_X(Xd) + u_of_X(Xd - h)) / h ** 2
    assert torch.allclose(got, fd, rtol=1e-5, atol=1e-5)
    # differentiating in xi instead (the trap) is visibly wrong here
    u_xixi = torch.autograd.grad(torch.autograd.grad(u.sum(), xi, create_graph=True)[0].sum(), xi)[0]
    assert (u_xixi - fd).abs().max() > 1e-2


def _linear_problem():
    return Problem(Interval(0.0, 2.0) * TimeInterval(0, 1), lambda f: f.u.t + f.u.x,
                   inputs="x t", outputs="u", conditions=[Initial(lambda x: 3 * x - 1)],
                   name="linear")


def test_interpolation_exact_on_linear_field():
    s = _solver(_linear_problem(), velocity=0.0, n_predict=17)
    _zero_last(s.net_u)           # X = xi, u = 3 xi - 1: linear in X
    g = torch.Generator().manual_seed(1)
    pts = torch.rand(200, 2, generator=g, dtype=torch.float64) * torch.tensor([2.0, 1.0],
                                                                                dtype=torch.float64)
    u = s.predict(pts)[:, 0]
    assert (u - (3 * pts[:, 0] - 1)).abs().max().item() < 1e-12


def test_crossing_characteristics_raise():
    s = _solver(burgers(), velocity="u")
    # with no correction X is the inviscid characteristics xi - t sin(pi xi): they cross at
    # t = 1/pi
    with torch.no_grad():
        s.net_x = _Fixed(lambda f: torch.zeros_like(f[:, 0]))
    pts = torch.tensor([[0.0, 0.2], [0.1, 0.2]], dtype=torch.float64)
    s.predict(pts)  # before crossing: fine
    with pytest.raises(CharacteristicsCrossed, match="characteristics cross") as err:
        s.predict(torch.tensor([[0.0, 0.5]], dtype=torch.float64))
    assert err.value.t == 0.5
    # a metrics record does not stop training: NaN errors, the first crossing time, a warning
    with pytest.warns(CharacteristicsCrossedWarning, match="characteristics cross"):
        m = s.metrics()
    assert math.isnan(m["rel_l2"]) and math.isnan(m["max_abs_err"])
    times = s.problem.reference.points()[:, 1].unique()
    assert times[times > 1 / math.pi].min() <= m["crossed_at_t"] < times[times > 1 / math.pi][1]
    s.t_end = 0.3  # before the crossing the errors are finite
    assert math.isfinite(s.metrics()["rel_l2"])


class _Fixed(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, f):
        return self.fn(f)[:, None]


@pytest.mark.parametrize("bad", ["beta", [1, 2], True])
def test_bad_velocity_declaration(bad):
    with pytest.raises(ValueError, match="velocity must be"):
        LPINN(velocity=bad)


def test_undeclared_velocity_refused():
    with pytest.raises(ValueError, match="cannot split the PDE"):
        _solver(convection(30.0))


def test_hard_initial_condition_and_short_training():
    s = _solver(convection(30.0), velocity=30.0)
    xi = torch.linspace(0, 6, 11, dtype=torch.float64)
    X, u = s.fields(xi, torch.zeros_like(xi))
    assert torch.equal(X, xi) and torch.allclose(u, torch.sin(xi), atol=1e-15)
    first = s.loss()[0].item()
    opt = torch.optim.Adam(s.parameters(), 1e-2)
    for _ in range(60):
        opt.zero_grad()
        loss, _ = s.loss()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1 * first


def test_benchmark_rows_match_parameters_and_run_to_the_budget(tmp_path):
    """benchmarks/lpinn_vs_pinn.py: the PINN row's parameter count is within 1 % of the LPINN's,
    both take the row's beta, and a short row trains and writes the table and the figure."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "lpinn_vs_pinn", Path(__file__).resolve().parents[2] / "benchmarks" / "lpinn_vs_pinn.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    n = bench.parameter_count(bench.compose_experiment(bench.EXPERIMENTS["lpinn"]))
    configs = bench.configs("100", n)
    assert {c["problem"]["beta"] for c in configs.values()} == {100}
    assert abs(bench.parameter_count(configs["pinn"]) - n) <= 0.01 * n
    assert all(c["optim"]["stages"][-1]["steps"] == bench.UNBOUNDED for c in configs.values())
    pulse = bench.configs("pulse", n)
    assert {c["problem"]["name"] for c in pulse.values()} == {"convection_diffusion_pulse"}
    assert {c["problem"]["beta"] for c in pulse.values()} == {50}
    bench.main(["--budget", "2", "--cases", "10", "--methods", "lpinn", "--out", str(tmp_path)])
    table = (tmp_path / "lpinn.md").read_text()
    assert "| sin x, beta 10 | LPINN state" in table and "time limit of 2 s" in table
    assert (tmp_path / "lpinn.png").stat().st_size > 0


@pytest.mark.parametrize("case", ["pulse", "burgers"])
def test_state_residual_is_the_chain_rule_scaled_by_the_stretch(case):
    """r_u (X0_xi / X_xi)^3 = u_t - nu u_XX for a trained-from-nothing (random) pair of networks:
    the cleared form has the chain rule's zeros, and equals it where X_xi = X0_xi."""
    from physolve.pde.library import problems
    if case == "pulse":
        s = _solver(problems.get("convection_diffusion_pulse")(), velocity=50.0, nu=0.01)
    else:
        s = _solver(burgers(), velocity="u", nu=0.01 / math.pi)
    with torch.no_grad():  # a correction that bends X (the zero start would make X = X0)
        for p in s.net_x.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=torch.Generator().manual_seed(3),
                                      dtype=p.dtype))
    _, r_u = s.residuals(s.xi, s.t)
    xi = s.xi.detach().requires_grad_(True)
    t = s.t.detach().requires_grad_(True)
    X, u = s.fields(xi, t)
    u_t = torch.autograd.grad(u.sum(), t, create_graph=True)[0]
    X_xi = torch.autograd.grad(X.sum(), xi, create_graph=True)[0]
    plain = u_t - s.nu * diffusion_chain_rule(X, u, xi)
    stretch = s._straight_stretch(s.xi, s.t)
    if case == "pulse":
        assert torch.equal(stretch, torch.ones_like(stretch))
    else:
        assert float(stretch.min()) < 0.5   # converging characteristics
    assert torch.allclose(r_u * (stretch / X_xi) ** 3, plain, rtol=1e-9, atol=1e-9)
