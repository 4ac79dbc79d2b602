"""The constrained-solve layer: solutions, implicit gradients against finite differences, and
non-convergence reporting."""
import warnings

import pytest
import torch

from physolve.models.hard_constraints import (ConstraintNotConverged, ConstraintSolveError,
                                              LMOptions, batched_jacobian, constrained_solve)


def cubic(w, phi, f):
    """r = u + 0.3 u^3 - f with u = phi w: nonlinear in w, (E, M)."""
    u = (phi @ w.unsqueeze(-1)).squeeze(-1)
    return u + 0.3 * u ** 3 - f


def problem(E=3, M=4, N=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    phi = torch.eye(M, N, dtype=torch.float64) + 0.3 * torch.randn(E, M, N, generator=g,
                                                                   dtype=torch.float64)
    f = torch.randn(E, M, generator=g, dtype=torch.float64)
    return phi, f


def test_solution_satisfies_residual():
    phi, f = problem()
    sol = constrained_solve(cubic, torch.zeros(3, 4, dtype=torch.float64), [phi, f], atol=1e-12,
                            gtol=0.0, xtol=0.0)
    assert bool(sol.converged.all())
    r = cubic(sol.w, phi, f)
    assert float(r.norm(dim=-1).max()) <= 1e-12
    assert 1 <= sol.iterations <= 50


def test_batched_jacobian_matches_autograd():
    phi, f = problem()
    w = torch.randn(3, 4, dtype=torch.float64)
    _, J = batched_jacobian(cubic, w, [phi, f])
    for e in range(3):
        ref = torch.autograd.functional.jacobian(lambda v: cubic(v[None], phi[e:e + 1],
                                                                 f[e:e + 1])[0], w[e])
        torch.testing.assert_close(J[e], ref, rtol=1e-12, atol=1e-12)


# central differences of eps = 1e-4 agree to ~2e-7 relative here; smaller eps meets the
# rounding of the solve (|dw| ~ 1e-14 / eps)
def test_gauss_newton_adjoint_matches_finite_differences():
    """Consistent (square) system: the Gauss-Newton adjoint is exact."""
    phi, f = problem(E=2, M=3, N=3)
    phi.requires_grad_(True)
    f.requires_grad_(True)
    w0 = torch.zeros(2, 3, dtype=torch.float64)
    fun = lambda p, q: constrained_solve(cubic, w0, [p, q], atol=1e-14, gtol=0.0,  # noqa: E731
                                         xtol=0.0, max_iter=100, on_failure="raise").w
    assert torch.autograd.gradcheck(fun, (phi, f), eps=1e-4, atol=1e-9, rtol=1e-6)


def test_exact_adjoint_matches_finite_differences_with_residual_left():
    """Overdetermined system (|r| > 0 at the optimum): the exact adjoint still matches."""
    phi, noise = problem(E=2, M=6, N=2, seed=1)
    w_true = torch.randn(2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    f = cubic(w_true, phi, torch.zeros_like(noise)) + 0.05 * noise
    w0 = torch.zeros(2, 2, dtype=torch.float64)
    sol = constrained_solve(cubic, w0, [phi, f], gtol=0.0, atol=0.0, xtol=1e-14, max_iter=200)
    assert float(sol.residual_norm.min()) > 0.02          # a genuine least-squares problem
    phi.requires_grad_(True)
    f.requires_grad_(True)
    fun = lambda p, q: constrained_solve(cubic, w0, [p, q], gtol=0.0, atol=0.0,  # noqa: E731
                                         xtol=1e-14, max_iter=200, adjoint="exact",
                                         on_failure="raise").w
    assert torch.autograd.gradcheck(fun, (phi, f), eps=1e-4, atol=1e-9, rtol=1e-6)
    # and the Gauss-Newton adjoint is only an approximation there
    p2, q2 = phi.detach().requires_grad_(True), f.detach().requires_grad_(True)
    gn = torch.autograd.grad(constrained_solve(cubic, w0, [p2, q2], gtol=0.0, atol=0.0,
                                               xtol=1e-14, max_iter=200).w.sum(), p2)[0]
    ex = torch.autograd.grad(fun(p2, q2).sum(), p2)[0]
    assert float((gn - ex).norm() / ex.norm()) > 1e-6


def test_float32_inputs_solved_in_float64():
    phi, f = problem()
    sol = constrained_solve(cubic, torch.zeros(3, 4), [phi.float(), f.float()])
    assert sol.w.dtype == torch.float32 and bool(sol.converged.all())


def test_non_convergence_is_flagged_and_can_raise():
    phi, f = problem()
    w0 = torch.full((3, 4), 5.0, dtype=torch.float64)
    with pytest.warns(ConstraintNotConverged, match="did not converge"):
        sol = constrained_solve(cubic, w0, [phi, f], max_iter=2)
    assert not bool(sol.converged.any())
    with pytest.raises(ConstraintSolveError, match="max_iter=2"):
        constrained_solve(cubic, w0, [phi, f], max_iter=2, on_failure="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        constrained_solve(cubic, w0, [phi, f], max_iter=2, on_failure="ignore")


def test_bad_options_name_the_key():
    with pytest.raises(ValueError, match="adjoint must be one of"):
        LMOptions(adjoint="unrolled")
    with pytest.raises(ValueError, match="max_iter"):
        LMOptions(max_iter=0)


def test_batch_solves_like_each_problem_alone():
    """Converged problems leave the batch; the others' iterates are those of a solo solve."""
    phi, f = problem(E=3, M=4, N=4, seed=2)
    f[1] *= 4                                             # one slower problem
    w0 = torch.zeros(3, 4, dtype=torch.float64)
    batch = constrained_solve(cubic, w0, [phi, f], atol=1e-12, gtol=0.0, xtol=0.0,
                              max_iter=100)
    for e in range(3):
        alone = constrained_solve(cubic, w0[e:e + 1], [phi[e:e + 1], f[e:e + 1]], atol=1e-12,
                                  gtol=0.0, xtol=0.0, max_iter=100)
        torch.testing.assert_close(batch.w[e:e + 1], alone.w, rtol=0, atol=1e-12)
    assert bool(batch.converged.all())
