"""Darcy flow -div(a grad u) = f as problem families for operator learning (random
coefficients, generated data sets).
"""
from __future__ import annotations

from ..families import DarcyFamily
from .registry import problems


@problems.register("darcy")
def darcy(n: int = 64, **options) -> DarcyFamily:
    """Darcy flow -div(a grad u) = 1 on the unit square, u = 0 on the boundary, with a
    piecewise-constant coefficient (12 / 3) from a thresholded Gaussian random field, on the
    n x n interior nodes. Options: alpha, tau, a_high, a_low, threshold, forcing, modes,
    coefficient ("threshold" or "lognormal")."""
    return DarcyFamily(n, **options)


@problems.register("darcy64")
def darcy64(**options) -> DarcyFamily:
    """The 64 x 64 Darcy family of the MgNO / FNO benchmark (see `darcy`)."""
    return DarcyFamily(64, name="darcy64", **options)
