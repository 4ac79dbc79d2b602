"""Dense quasi-Newton methods, Levenberg-Marquardt and the shared line search."""
import copy
import math

import pytest
import torch

from physolve.optim import DenseQuasiNewton, LBFGS, LevenbergMarquardt
from physolve.optim.linesearch import strong_wolfe

DENSE = ["bfgs", "ssbfgs", "ssbroyden"]


def minimise(opt, loss_fn, params, steps):
    def closure():
        opt.zero_grad()
        f = loss_fn()
        f.backward()
        return f

    for _ in range(steps):
        opt.step(closure)
        if opt.stop_reason:
            break
    return opt


def rosenbrock(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


@pytest.mark.parametrize("method", DENSE)
def test_dense_rosenbrock_minimiser(method):
    x = torch.tensor([-1.2, 1.0, -0.5, 0.8], dtype=torch.float64, requires_grad=True)
    opt = DenseQuasiNewton([x], method=method, tolerance_grad=1e-13)
    minimise(opt, lambda: rosenbrock(x), [x], 500)
    torch.testing.assert_close(x.detach(), torch.ones(4, dtype=torch.float64), atol=1e-8, rtol=0)
    assert opt.evaluations < 400


def spd_problem(n=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(n, n, generator=g, dtype=torch.float64)
    A = M @ M.T / n + 0.1 * torch.eye(n, dtype=torch.float64)  # condition number ~ 100
    b = torch.randn(n, generator=g, dtype=torch.float64)
    return A, b


@pytest.mark.parametrize("method", DENSE)
def test_dense_quadratic_minimiser_and_stop_reason(method):
    A, b = spd_problem()
    z = torch.zeros(len(b), dtype=torch.float64, requires_grad=True)
    opt = DenseQuasiNewton([z], method=method, tolerance_grad=1e-12)
    minimise(opt, lambda: 0.5 * z @ A @ z - b @ z, [z], 300)
    assert opt.stop_reason and "tolerance_grad" in opt.stop_reason
    torch.testing.assert_close(z.detach(), torch.linalg.solve(A, b), atol=1e-9, rtol=0)
    # BFGS with exact line searches ends in n steps on a quadratic; ours is inexact but close.
    assert opt.evaluations < 6 * len(b)


def test_dense_refuses_large_networks():
    net = torch.nn.Linear(300, 300)  # 90,300 parameters: 65 GB in float64
    with pytest.raises(MemoryError, match=r"90,300 parameters.*limit of 1,024 MiB"):
        DenseQuasiNewton(net.parameters(), max_memory=2**30)
    DenseQuasiNewton(torch.nn.Linear(10, 10).parameters(), max_memory=2**30)  # small: fine


def test_dense_rejects_unknown_method():
    with pytest.raises(ValueError, match="choose one of: bfgs, ssbfgs, ssbroyden"):
        DenseQuasiNewton([torch.zeros(2, requires_grad=True)], method="sr1")


def test_line_search_strong_wolfe_on_a_quadratic():
    # phi(t) = (t - 3)^2: from t0 = 1 the search must return a point with |phi'| <= 0.1 |phi'(0)|
    x0 = torch.zeros(1, dtype=torch.float64)
    d = torch.ones(1, dtype=torch.float64)

    def phi(t):
        x = x0 + t * d
        return float((x - 3) ** 2), 2 * (x - 3)

    res = strong_wolfe(phi, d, 9.0, -6.0, 1.0, c1=1e-4, c2=0.1)
    assert res.t is not None and abs(2 * (res.t - 3)) <= 0.6 + 1e-12
    assert res.f <= 9.0 + 1e-4 * res.t * -6.0


def test_approximate_wolfe_accepts_steps_lost_in_round_off():
    # f = 1 + 1e-20 (t - 1)^2 evaluated with a round-off error of one unit in the last place:
    # the true decrease is far below it, so the Armijo test rejects every step; the approximate
    # Wolfe conditions, which use the exact derivative, accept the minimiser t = 1.
    d = torch.ones(1, dtype=torch.float64)

    def phi(t):
        return math.nextafter(1.0, 2.0), torch.tensor([2e-20 * (t - 1)], dtype=torch.float64)

    res = strong_wolfe(phi, d, 1.0, -2e-20, 1.0)
    assert res.t == 1.0 and res.approximate
    assert strong_wolfe(phi, d, 1.0, -2e-20, 1.0, approx_eps=0).t is None


def test_lbfgs_continues_near_machine_precision():
    A, b = spd_problem(20, seed=1)
    z = torch.zeros(20, dtype=torch.float64, requires_grad=True)
    opt = LBFGS([z])
    minimise(opt, lambda: 0.5 * z @ A @ z - b @ z, [z], 400)
    err = float((z.detach() - torch.linalg.solve(A, b)).abs().max())
    assert err < 1e-12, (err, opt.stop_reason)


def exponential_fit_problem():
    t = torch.linspace(0, 1, 40, dtype=torch.float64)
    y = 2.5 * torch.exp(-1.3 * t) + 0.5 * torch.sin(3 * t)
    theta = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)

    def residual():
        return theta[0] * torch.exp(theta[1] * t) + theta[2] * torch.sin(3 * t) - y

    return theta, residual


@pytest.mark.parametrize("mode", ["identity", "marquardt"])
def test_levenberg_marquardt_recovers_known_parameters(mode):
    theta, residual = exponential_fit_problem()
    opt = LevenbergMarquardt([theta], damping=1e-2, damping_mode=mode, tolerance_grad=1e-14)
    for _ in range(100):
        opt.step(residual)
        if opt.stop_reason:
            break
    torch.testing.assert_close(theta.detach(), torch.tensor([2.5, -1.3, 0.5], dtype=torch.float64),
                               atol=1e-10, rtol=0)
    assert opt.evaluations < 60


def test_levenberg_marquardt_jacobian_matches_autograd_rows():
    from physolve.optim.levenberg_marquardt import jacobian
    theta, residual = exponential_fit_problem()
    r = residual()
    J = jacobian(r, [theta], chunk_size=2)
    rows = torch.stack([torch.autograd.grad(r[i], theta, retain_graph=True)[0] for i in range(40)])
    torch.testing.assert_close(J, rows, atol=1e-14, rtol=0)


def test_levenberg_marquardt_memory_limit():
    theta, residual = exponential_fit_problem()
    opt = LevenbergMarquardt([theta], max_memory=100)
    with pytest.raises(MemoryError, match="3 parameters"):
        opt.step(residual)


@pytest.mark.parametrize("make", [lambda p: LBFGS(p), lambda p: DenseQuasiNewton(p)])
def test_state_dict_round_trip_continues_the_same_iteration(make):
    A, b = spd_problem(8, seed=2)

    def fresh():
        z = torch.zeros(8, dtype=torch.float64, requires_grad=True)
        return z, make([z])

    def closure_for(z, opt):
        def closure():
            opt.zero_grad()
            f = 0.5 * z @ A @ z - b @ z
            f.backward()
            return f
        return closure

    z1, opt1 = fresh()
    for _ in range(3):
        opt1.step(closure_for(z1, opt1))
    z2, opt2 = fresh()
    with torch.no_grad():
        z2.copy_(z1)
    opt2.load_state_dict(copy.deepcopy(opt1.state_dict()))  # as a checkpoint would
    opt1.step(closure_for(z1, opt1))
    opt2.step(closure_for(z2, opt2))
    torch.testing.assert_close(z2.detach(), z1.detach(), atol=0, rtol=0)
