"""L-BFGS on problems with known minimisers, and stage parsing."""
import pytest
import torch

from physolve.optim import LBFGS, parse_stage


def run(opt, closure, steps):
    for _ in range(steps):
        opt.step(closure)
        if opt.stop_reason:
            break


def test_lbfgs_rosenbrock():
    x = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    opt = LBFGS([x], history_size=10, tolerance_grad=1e-12)

    def closure():
        opt.zero_grad()
        f = 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
        f.backward()
        return f

    run(opt, closure, 200)
    torch.testing.assert_close(x.detach(), torch.ones(2, dtype=torch.float64), atol=1e-8, rtol=0)
    assert opt.evaluations < 100


def test_lbfgs_quadratic_and_stop_reason():
    g = torch.Generator().manual_seed(0)
    M = torch.randn(20, 20, generator=g, dtype=torch.float64)
    A = M @ M.T + torch.eye(20, dtype=torch.float64)
    b = torch.randn(20, generator=g, dtype=torch.float64)
    z = torch.zeros(20, dtype=torch.float64, requires_grad=True)
    opt = LBFGS([z], tolerance_grad=1e-10)

    def closure():
        opt.zero_grad()
        f = 0.5 * z @ A @ z - b @ z
        f.backward()
        return f

    run(opt, closure, 500)
    assert opt.stop_reason is not None
    torch.testing.assert_close(z.detach(), torch.linalg.solve(A, b), atol=1e-7, rtol=0)


def test_stage_parsing():
    s = parse_stage("adam:500:lr=1e-2:decay=0.1")
    assert (s.name, s.steps, s.decay, s.options) == ("adam", 500, 0.1, {"lr": 0.01})
    s = parse_stage({"name": "lbfgs", "steps": 10, "tol": 1e-9, "history_size": 20})
    assert s.tol == 1e-9 and s.options == {"history_size": 20} and not s.resamples
    with pytest.raises(ValueError, match="needs a step count"):
        parse_stage("adam")
    with pytest.raises(ValueError, match="key=value"):
        parse_stage("adam:10:lr")
