"""The problem library is organised by physics; the registered names stay what configs use."""
import importlib

import pytest

import torch

from physolve.pde.library import problems

NAMES = {"allen_cahn1d", "burgers", "convection", "darcy", "darcy64", "helmholtz2d",
         "inverse_diffusion", "klein_gordon", "poisson1d", "poisson1d_sin", "poisson1d_xsin",
         "poisson2d_c", "poisson2d_sin", "poisson_mesh", "convection_diffusion_pulse"}


def test_registered_names_unchanged_and_bare_allen_cahn_time_dependent():
    names = set(problems.names())
    assert NAMES <= names
    # the bare name is the time-dependent equation; the stationary GP-HM case has its own
    assert problems.get("allen_cahn")().inputs == ("x", "t")
    assert problems.get("allen_cahn1d")().inputs == ("x",)


def test_kovasznay_exact_solution_satisfies_the_steady_equations():
    problem = problems.get("kovasznay")(re=20.0)
    assert problem.outputs == ("u", "v", "p")
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(200, generator=gen, dtype=torch.float64) * 1.5 - 0.5).requires_grad_()
    y = (torch.rand(200, generator=gen, dtype=torch.float64) * 2 - 0.5).requires_grad_()
    u, v, p = problem.reference.fn(x, y)

    def d(f, z):
        return torch.autograd.grad(f.sum(), z, create_graph=True, materialize_grads=True)[0]

    u_x, u_y, v_x, v_y = d(u, x), d(u, y), d(v, x), d(v, y)
    lap_u = d(u_x, x) + d(u_y, y)
    lap_v = d(v_x, x) + d(v_y, y)
    mom_x = u * u_x + v * u_y + d(p, x) - lap_u / 20
    mom_y = u * v_x + v * v_y + d(p, y) - lap_v / 20
    for r in (mom_x, mom_y, u_x + v_y):
        assert r.abs().max() < 1e-11
    # and a PINN's residual terms are named after the equations
    import physolve as ps
    solver = ps.PINN(width=8, depth=1, n_interior=50, n_boundary=20)
    solver.setup(problem, dtype=torch.float64, seed=0)
    assert {"momentum_x", "momentum_y", "continuity"} <= set(solver.loss()[1])


def test_each_problem_lives_in_its_physics_module():
    where = {"allen_cahn1d": "allen_cahn", "burgers": "burgers", "convection": "convection",
             "darcy64": "darcy", "helmholtz2d": "helmholtz", "inverse_diffusion": "diffusion",
             "klein_gordon": "klein_gordon", "poisson1d_sin": "poisson", "poisson_mesh": "poisson",
             "kovasznay": "navier_stokes", "allen_cahn": "allen_cahn"}
    for name, module in where.items():
        assert problems.get(name).__module__ == f"physolve.pde.library.{module}", name
    for old in ("gp_cases", "pig_cases", "classic"):
        assert importlib.util.find_spec(f"physolve.pde.library.{old}") is None


def test_convection_diffusion_pulse_exact_solution_satisfies_the_equation_and_is_periodic():
    problem = problems.get("convection_diffusion_pulse")(beta=50.0, nu=0.01)
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(300, generator=gen, dtype=torch.float64) * 2 * torch.pi).requires_grad_()
    t = torch.rand(300, generator=gen, dtype=torch.float64).requires_grad_()
    u = problem.reference.fn(x, t)

    def d(f, z):
        return torch.autograd.grad(f.sum(), z, create_graph=True)[0]

    u_x = d(u, x)
    assert (d(u, t) + 50.0 * u_x - 0.01 * d(u_x, x)).abs().max() < 1e-10
    shifted = problem.reference.fn(x + 2 * torch.pi, t)
    assert (shifted - u).abs().max() < 1e-12
    # the pulse keeps its integral (mass) while it spreads
    grid = torch.linspace(0, 2 * torch.pi, 4001, dtype=torch.float64)[:-1]
    mass = [float(problem.reference.fn(grid, torch.full_like(grid, s)).mean()) for s in (0, 1)]
    assert abs(mass[1] - mass[0]) < 1e-12


def test_poisson_gauss_nd_residual_vanishes_on_its_solution_in_5_and_10_dimensions():
    from physolve.pde.autograd import AutogradBackend
    from physolve.pde.fields import Fields

    for d in (5, 10):
        problem = problems.get("poisson_gauss_nd")(d=d, a=10.0, n_test=500)
        assert problem.inputs == tuple(f"x{i + 1}" for i in range(d))
        gen = torch.Generator().manual_seed(d)
        # near the centre, where u is not vanishingly small (at d = 10 a random point of the
        # cube has |x|^2 about 3.3, u about 1e-15)
        X = (0.3 * (torch.rand(200, d, generator=gen, dtype=torch.float64) * 2 - 1)
             ).requires_grad_()

        def exact(points):
            return problem.reference.fn(**{n: points[:, i] for i, n in
                                           enumerate(problem.inputs)}).reshape(-1, 1)

        backend = AutogradBackend(exact, X, problem.inputs, ("u",), problem.inputs)
        with backend.active():
            r = problem.residual(Fields(backend))
        assert r.abs().max() < 1e-9
        # and a wrong solution leaves a residual (the check can fail)
        backend = AutogradBackend(lambda p: 1.1 * exact(p), X, problem.inputs, ("u",),
                                  problem.inputs)
        with backend.active():
            assert problem.residual(Fields(backend)).abs().max() > 1.0
        points = problem.reference.points()
        assert points.shape == (500, d) and bool((points.abs() <= 1).all())
    with pytest.raises(ValueError, match="d must be an integer >= 1, got 0"):
        problems.get("poisson_gauss_nd")(d=0)
