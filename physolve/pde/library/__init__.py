"""The built-in problem library: benchmark problems by name (`problems.get("burgers")()`).

Each factory returns a fresh Problem; keyword arguments select variants (viscosity, wave
numbers, hard or soft conditions). Configs refer to problems by these names only. One module
per kind of physics registers its problems on import, whichever solver family first used them:
any family takes any problem it can (a PINN, the GP solver and a grid solver share `poisson1d_sin`).
"""
from . import (allen_cahn, burgers, convection, darcy, diffusion,  # noqa: F401
               diffusion_sorption, helmholtz,
               klein_gordon, navier_stokes, poisson)  # (register their problems)
from .registry import mesh_file, pinnacle_file, problems

__all__ = ["mesh_file", "pinnacle_file", "problems"]
