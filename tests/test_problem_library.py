"""The problem library is organised by physics; the registered names stay what configs use."""
import importlib

from physolve.pde.library import problems

NAMES = {"allen_cahn1d", "burgers", "convection", "darcy", "darcy64", "helmholtz2d",
         "inverse_diffusion", "klein_gordon", "poisson1d", "poisson1d_sin", "poisson1d_xsin",
         "poisson2d_c", "poisson2d_sin", "poisson_mesh"}


def test_registered_names_unchanged_and_bare_allen_cahn_free():
    names = set(problems.names())
    assert NAMES <= names
    assert "allen_cahn" not in names   # kept for the time-dependent Allen-Cahn case


def test_each_problem_lives_in_its_physics_module():
    where = {"allen_cahn1d": "allen_cahn", "burgers": "burgers", "convection": "convection",
             "darcy64": "darcy", "helmholtz2d": "helmholtz", "inverse_diffusion": "diffusion",
             "klein_gordon": "klein_gordon", "poisson1d_sin": "poisson", "poisson_mesh": "poisson"}
    for name, module in where.items():
        assert problems.get(name).__module__ == f"physolve.pde.library.{module}", name
    for old in ("gp_cases", "pig_cases", "classic"):
        assert importlib.util.find_spec(f"physolve.pde.library.{old}") is None
