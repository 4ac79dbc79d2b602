"""R-functions and trimmed distances: smooth functions that vanish exactly on a boundary.

Hard Dirichlet constraints multiply a network by a function phi that is zero on the
constrained boundary, positive inside and smooth, and that behaves like the distance near the
boundary (phi ~ d, |grad phi| = 1 there). Following Rvachev and Sukumar & Srivastava (2022,
CMAME 389:114333):

- the R0 conjunction a & b = a + b - sqrt(a^2 + b^2) has the sign of min(a, b), vanishes
  where one argument vanishes and the other is >= 0, and keeps the first-order normalisation;
  the disjunction a | b = a + b + sqrt(a^2 + b^2) has the sign of max(a, b);
- a piece of a boundary lying on a carrier f = 0 (f: signed distance to a line, plane or
  sphere) and inside a trimming region tau > 0 has the distance-like function
  sqrt(f^2 + ((sqrt(tau^2 + f^4) - tau) / 2)^2), which vanishes on the piece only, not on the
  rest of the carrier.

All of these are evaluated so that autograd never returns NaN (see `sqrt0`), and on the
piece itself the gradient is that of the domain side (the inward normal), not 0.
"""
from __future__ import annotations

from functools import reduce
from typing import Sequence

import torch
from torch import Tensor


def sqrt0(z: Tensor) -> Tensor:
    """sqrt(z) for z >= 0 whose gradient at z = 0 is 0 instead of inf (and NaN downstream)."""
    pos = z > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, z, torch.ones_like(z))), torch.zeros_like(z))


def r_and(a: Tensor, b: Tensor) -> Tensor:
    """R0 conjunction: >= 0 iff a >= 0 and b >= 0 (intersection of {a >= 0} and {b >= 0})."""
    return a + b - sqrt0(a * a + b * b)


def r_or(a: Tensor, b: Tensor) -> Tensor:
    """R0 disjunction: >= 0 iff a >= 0 or b >= 0 (union of {a >= 0} and {b >= 0})."""
    return a + b + sqrt0(a * a + b * b)


def r_and_all(values: Sequence[Tensor]) -> Tensor:
    return reduce(r_and, values)


def trimmed_distance(f: Tensor, tau: Tensor | None, sign: float = 1.0, band: float = 0.0) -> Tensor:
    """Distance-like function of the piece {f = 0, tau >= 0}, positive on the side sign * f > 0.

    Without trimming (tau None: the whole carrier is the piece, e.g. a sphere) this is sign * f.
    Otherwise the value is the unsigned trimmed distance (>= 0 everywhere). Near the piece on
    the side sign * f > -band it is computed in the factored form
    sign * f * sqrt(1 + f^6 / (4 (gamma + tau)^2)), gamma = sqrt(tau^2 + f^4), which has the same
    value there but stays smooth through f = 0, so autograd on the piece gives sign * grad f.
    `band` (a length far below any feature size) absorbs the rounding of f on sampled points.
    """
    g = sign * f
    if tau is None:
        return g
    f2 = f * f
    gamma = sqrt0(tau * tau + f2 * f2)
    pos = tau > 0
    den = torch.where(pos, gamma + tau, torch.ones_like(tau))
    # gamma - tau computed without cancellation where tau > 0.
    h = torch.where(pos, f2 * f2 / den, gamma - tau)
    unsigned = sqrt0(f2 + 0.25 * h * h)
    signed = g * torch.sqrt(1 + f2 * f2 * f2 / (4 * den * den))
    return torch.where(pos & (g > -band), signed, unsigned)
