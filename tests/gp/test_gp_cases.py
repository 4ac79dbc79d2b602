"""The GP-HM cases: Dirichlet targets equal the exact solution on the boundary and carry
nothing of it inside (a hard-constrained PINN evaluates them there)."""
import pytest
import torch

from physolve.pde.library import problems

CASES = [("poisson1d_sin", {"k": 100.25}), ("poisson1d_xsin", {"k": 7.3}),
         ("allen_cahn1d", {"a": 1.1, "k": 3.3}), ("poisson2d_sin", {"k": 10.25})]


@pytest.mark.parametrize("name, args", CASES)
def test_dirichlet_targets_are_boundary_values_only(name, args):
    problem = problems.get(name)(**args)
    target = problem.conditions[0].target_fn
    exact = problem.reference
    boundary = problem.domain.sample_boundary(300, method="uniform", seed=0).points
    inside = problem.domain.sample_interior(300, method="uniform", seed=0)
    inside = getattr(inside, "points", inside)
    on, off = exact(boundary).reshape(-1), exact(inside).reshape(-1)
    torch.testing.assert_close(target(boundary), on, atol=1e-12, rtol=0)
    # Inside, the target is an interpolation of boundary values, far from the solution.
    assert float((target(inside) - off).norm() / off.norm()) > 0.5
