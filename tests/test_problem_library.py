"""The problem library is organised by physics; the registered names stay what configs use."""
import importlib

import torch

from physolve.pde.library import problems

NAMES = {"allen_cahn1d", "burgers", "convection", "darcy", "darcy64", "helmholtz2d",
         "inverse_diffusion", "klein_gordon", "poisson1d", "poisson1d_sin", "poisson1d_xsin",
         "poisson2d_c", "poisson2d_sin", "poisson_mesh"}


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
