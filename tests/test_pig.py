"""Physics-Informed Gaussians: the embedding's derivatives, its locality, chunking, and training
on 1D, 2D and space-time problems."""
import math

import pytest
import torch

import physolve as ps
from physolve.models import PIG, GaussianEmbedding, solvers
from physolve.models.pig import DerivativeOrderError, differentiating_x
from physolve.pde.library import problems
from physolve.train.callbacks import Callback


def embedding(in_dim=2, n=12, channels=3, sigma=0.4, shared=False, seed=0, order=None, **kw):
    emb = GaussianEmbedding(in_dim, n, channels, sigma=sigma, shared=shared, weight_std=1.0,
                            order=order, generator=torch.Generator().manual_seed(seed),
                            **kw).double()
    with torch.no_grad():  # unequal widths, so every axis of every Gaussian is different
        emb.log_sigma.add_(0.3 * torch.randn(emb.log_sigma.shape,
                                             generator=torch.Generator().manual_seed(seed + 1),
                                             dtype=torch.float64))
    return emb


def points(n, d, seed=0):
    return 2 * torch.rand(n, d, generator=torch.Generator().manual_seed(seed),
                          dtype=torch.float64) - 1


@pytest.mark.parametrize("shared", [False, True])
def test_gaussians_match_the_definition(shared):
    emb = embedding(in_dim=3, shared=shared)
    x = points(50, 3)
    direct = torch.exp(-0.5 * (((x[:, None, :] - emb.mu) / emb.sigma) ** 2).sum(-1))
    torch.testing.assert_close(emb.gaussians(x), direct, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(emb(x), direct @ emb.feature_matrix(), rtol=1e-12, atol=1e-14)


def derivatives(emb, x, c=1, third=False):
    """Channel c of the features at x, its gradient, Hessian and (optionally) d^3/dx0^2 dx1."""
    with differentiating_x():
        f = emb(x)[:, c]
        (grad,) = torch.autograd.grad(f.sum(), x, create_graph=True)
        hess = torch.stack([torch.autograd.grad(grad[:, i].sum(), x, create_graph=True)[0]
                            for i in range(x.shape[1])], dim=1)          # (N, d, d)
        out = [f, grad, hess]
        if third:
            out.append(torch.autograd.grad(hess[:, 0, 0].sum(), x, create_graph=True)[0])
    return out


@pytest.mark.parametrize("order", [None, 2])
@pytest.mark.parametrize("shared", [False, True])
def test_first_and_second_derivatives_match_finite_differences(shared, order):
    emb = embedding(in_dim=2, shared=shared, order=order)
    x = points(20, 2, seed=3).requires_grad_(True)
    c = 1  # one feature channel; the check is per channel
    _, grad, hess = derivatives(emb, x, c)
    h, k = 1e-5, 1e-4   # steps for the gradient and the Hessian (truncation vs rounding)
    with torch.no_grad():
        x0 = x.detach()
        fd_grad = torch.zeros_like(x0)
        fd_hess = torch.zeros(20, 2, 2, dtype=torch.float64)
        value = lambda z: emb(z)[:, c]  # noqa: E731
        for i in range(2):
            e_i = torch.zeros(2, dtype=torch.float64)
            e_i[i] = h
            fd_grad[:, i] = (value(x0 + e_i) - value(x0 - e_i)) / (2 * h)
            for j in range(2):
                a, b = torch.zeros(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
                a[i], b[j] = k, k
                fd_hess[:, i, j] = (value(x0 + a + b) - value(x0 + a - b)
                                    - value(x0 - a + b) + value(x0 - a - b)) / (4 * k * k)
    grad, hess = grad.detach(), hess.detach()
    assert (grad - fd_grad).abs().max() < 1e-8 * grad.abs().max()
    assert (hess - fd_hess).abs().max() < 1e-6 * hess.abs().max()
    assert torch.allclose(hess[:, 0, 1], hess[:, 1, 0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("in_dim", [1, 2, 3])
@pytest.mark.parametrize("shared", [False, True])
def test_taylor_path_equals_plain_autograd(in_dim, shared):
    """order=K hands autograd a Taylor polynomial: values, derivatives up to order K and the
    parameter gradient of a loss built from them equal plain autograd's."""
    plain = embedding(in_dim=in_dim, shared=shared, order=None)
    taylor = embedding(in_dim=in_dim, shared=shared, order=3)
    x = points(30, in_dim, seed=4).requires_grad_(True)
    a, b = derivatives(plain, x, third=True), derivatives(taylor, x, third=True)
    for u, v in zip(a, b):
        torch.testing.assert_close(v, u, rtol=1e-12, atol=1e-12 * float(u.detach().abs().max()))
    loss_a, loss_b = (d[2].square().sum() + d[3].square().sum() for d in (a, b))
    for u, v in zip(torch.autograd.grad(loss_a, list(plain.parameters())),
                    torch.autograd.grad(loss_b, list(taylor.parameters()))):
        torch.testing.assert_close(v, u, rtol=1e-11, atol=1e-12 * float(u.detach().abs().max()))


def test_derivatives_above_the_order_are_refused_not_zero():
    def kdv_like(f):                      # a third derivative in the residual
        return f.u.xxx - torch.cos(f.x)

    problem = ps.Problem(ps.geometry.Interval(0, 1), kdv_like, conditions=[ps.Dirichlet(0.0)])
    with pytest.raises(DerivativeOrderError, match="order=2"):
        ps.solve(problem, PIG(n_gaussians=8, n_interior=16, order=2), optim=["adam:1"],
                 progress=False)
    for order in (3, None):
        ps.solve(problem, PIG(n_gaussians=8, n_interior=16, order=order), optim=["adam:2"],
                 progress=False)
    # second-order passes over the parameters (Hessian-vector products) stay allowed
    emb = embedding(order=2)
    x = points(5, 2).requires_grad_(True)
    hess = derivatives(emb, x)[2]
    hvp = torch.autograd.grad(hess.square().sum(), list(emb.parameters()), create_graph=True)
    torch.autograd.grad(sum(g.sum() for g in hvp), list(emb.parameters()))


def test_parameter_gradients_pass_gradcheck_to_second_order():
    # gradcheck compares autograd with finite differences for points and every parameter,
    # gradgradcheck does the same for the derivative of the gradient (what a PDE loss needs).
    emb = embedding(in_dim=2, n=6, channels=2)
    x = points(6, 2, seed=5).requires_grad_(True)
    params = (emb.mu, emb.log_sigma, emb.weight)

    def features(x, mu, log_sigma, weight):
        return torch.func.functional_call(emb, {"mu": mu, "log_sigma": log_sigma,
                                                "weight": weight}, (x,))

    inputs = (x, *[p.detach().clone().requires_grad_(True) for p in params])
    assert torch.autograd.gradcheck(features, inputs)
    assert torch.autograd.gradgradcheck(features, inputs)


def test_moving_a_centre_moves_where_the_field_is_large():
    emb = GaussianEmbedding(2, 1, 1, sigma=0.1, shared=True).double()
    xs = torch.linspace(-1, 1, 201, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(xs, xs, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        emb.weight.fill_(1.0)
        for centre in ([-0.5, 0.3], [0.6, -0.7], [0.0, 0.9]):
            emb.mu.copy_(torch.tensor([centre], dtype=torch.float64))
            field = emb(grid)[:, 0]
            peak = grid[field.argmax()]
            assert torch.allclose(peak, torch.tensor(centre, dtype=torch.float64), atol=0.006)
            assert float(field.max()) == pytest.approx(1.0, abs=1e-3)
            # a tenth of the peak lies about 2.15 sigma away; farther out the field is small
            far = (grid - peak).norm(dim=1) > 3 * 0.1
            assert float(field[far].max()) < 0.012


def test_chunked_evaluation_equals_unchunked():
    x = points(1000, 3, seed=7).requires_grad_(True)
    whole = embedding(in_dim=3, n=42, chunk_size=4096)
    chunked = embedding(in_dim=3, n=42, chunk_size=97)
    f_whole, f_chunked = whole(x), chunked(x)
    torch.testing.assert_close(f_chunked, f_whole, rtol=1e-13, atol=1e-15)
    g_whole = torch.autograd.grad(f_whole.sum(), x)[0]
    g_chunked = torch.autograd.grad(f_chunked.sum(), x)[0]
    torch.testing.assert_close(g_chunked, g_whole, rtol=1e-13, atol=1e-15)


def test_solver_predict_chunks_agree():
    problem = problems.get("helmholtz2d")()
    a = PIG(n_gaussians=64, chunk_size=100_000, embedding_chunk=100_000)
    b = PIG(n_gaussians=64, chunk_size=333, embedding_chunk=50)
    for s in (a, b):
        s.setup(problem, dtype=torch.float64, device="cpu", seed=4)
    pts = points(2000, 2, seed=8)
    torch.testing.assert_close(b.predict(pts), a.predict(pts), rtol=1e-13, atol=1e-15)


def test_pig_solves_poisson1d_to_stated_error():
    # -u'' = (2 pi)^2 sin(2 pi x) on [-1, 1], u(+-1) = 0: 24 Gaussians, 100 points and 200
    # L-BFGS steps reach rel. L2 < 1e-3 (6.5e-5 when written). The PDE weight 1e-3 is about
    # 1 / (2 pi)^4: it balances the residual, which scales like (2 pi)^2 times the error,
    # against the boundary term.
    solution = ps.solve(problems.get("poisson1d")(k=2),
                        PIG(n_gaussians=24, sigma=0.2, weight_std=0.1, n_interior=100,
                            n_boundary=2, weights={"pde": 1e-3}),
                        optim=["lbfgs:200"], dtype="float64", seed=0, metrics_every=0,
                        progress=False)
    assert solution.metrics()["rel_l2"] < 1e-3, solution.metrics()


def heat(hard):
    """u_t = u_xx / pi^2 on [0, 1] x [0, 1]: u = exp(-t) sin(pi x)."""
    from physolve.geometry import Interval, TimeInterval

    return ps.Problem(Interval(0, 1) * TimeInterval(0, 1), lambda f: f.u.t - f.u.xx / math.pi ** 2,
                      inputs="x t", conditions=[ps.Initial(lambda x: torch.sin(math.pi * x),
                                                           hard=hard),
                                                ps.Dirichlet(0.0, hard=hard)],
                      reference=ps.reference.Analytic(
                          lambda x, t: torch.exp(-t) * torch.sin(math.pi * x), resolution=21))


CASES = {
    "1d": lambda: problems.get("poisson1d")(),
    "2d": lambda: problems.get("helmholtz2d")(),
    "space-time": lambda: heat(hard=False),
    "space-time hard": lambda: heat(hard=True),
    "2+1 space-time": lambda: problems.get("klein_gordon")(resolution=11),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(CASES))
def test_pig_trains_on_every_kind_of_problem(case, dtype):
    losses = []

    class Losses(Callback):
        def on_step(self, state, record):
            losses.append(record["loss"])

    solution = ps.solve(CASES[case](), PIG(n_gaussians=32, n_interior=128, n_boundary=32),
                        optim=["adam:30:lr=1e-2"], dtype=dtype, seed=1, metrics_every=0,
                        progress=False, callbacks=[Losses()])
    assert len(losses) == 30
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.9 * losses[0]
    assert all(p.dtype == getattr(torch, dtype) for p in solution.solver.parameters())
    assert math.isfinite(solution.metrics()["rel_l2"])


def test_pig_is_a_registered_solver_and_reproducible():
    assert solvers.get("pig") is PIG
    state = torch.get_rng_state()
    runs = [ps.solve(problems.get("poisson1d")(), PIG(n_gaussians=16, n_interior=32),
                     optim=["adam:5"], seed=2, progress=False).final_loss() for _ in range(2)]
    assert runs[0] == runs[1]
    assert torch.equal(state, torch.get_rng_state())


def test_parameter_count():
    solver = PIG(n_gaussians=100, channels=4, width=16, depth=1)
    solver.setup(problems.get("helmholtz2d")(), dtype=torch.float64, device="cpu", seed=0)
    # 100 Gaussians x (2 centres + 2 widths + 1 weight) + MLP 4 -> 16 -> 1
    assert sum(p.numel() for p in solver.parameters()) == 100 * 5 + (4 * 16 + 16) + (16 + 1)
    shared = PIG(n_gaussians=100, channels=4, shared=True)
    shared.setup(problems.get("helmholtz2d")(), dtype=torch.float64, device="cpu", seed=0)
    assert sum(p.numel() for p in shared.parameters()) == 100 * (4 + 4) + 97


def test_bad_settings_name_the_field():
    with pytest.raises(ValueError, match="n_gaussians must be a positive integer"):
        PIG(n_gaussians=0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        PIG(sigma=-0.1)
    with pytest.raises(ValueError, match=r"n_gaussians \(6\) must be a multiple of channels"):
        PIG(n_gaussians=6, channels=4)
    with pytest.raises(ValueError, match="order must be None"):
        PIG(order=7)
    with pytest.raises(ValueError, match="expects points of shape"):
        GaussianEmbedding(2, 4)(torch.zeros(3, 3))
