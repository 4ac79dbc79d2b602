"""Diffusion-sorption R(u) u_t = D u_xx (PDEBench constants) as a problem family with random
initial data (generated data sets)."""
from __future__ import annotations

from ..families import DiffusionSorptionFamily
from .registry import problems


@problems.register("diffusion_sorption")
def diffusion_sorption(nx: int = 256, nt: int = 101, **options) -> DiffusionSorptionFamily:
    """Diffusion-sorption on x in [0, 1], t in [0, 500], u(0, t) = 1, u(1, t) = D u_x(1, t),
    random smooth initial data in (0, 0.2), on an nx x nt space-time grid. Options: t_end,
    modes, steps_per_output, u_floor."""
    return DiffusionSorptionFamily(nx, nt, **options)
