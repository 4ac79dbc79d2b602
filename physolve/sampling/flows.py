"""A normalising flow on the box [-1, 1]^d, built from zuko's parts.

The base distribution is uniform on the box and every layer is a masked autoregressive
monotonic rational-quadratic spline (Durkan et al. 2019) with bound 1: each spline maps
[-1, 1] onto itself, so the flow's density lives on the box and integrates to one there
(no mass leaks to infinity, as it would from zuko's default Gaussian base). Callers map the
domain's bounding box affinely onto [-1, 1]^d.
"""
from __future__ import annotations

from functools import partial

import torch
from torch import Tensor

# The base box is wider than the splines' [-1, 1] by this much: torch's Uniform rejects
# points on its upper edge, and points exactly on the box (its faces) are legitimate inputs.
# The mass in the sliver is ~1e-9 of the total.
_EDGE = 1e-9


def box_flow(d: int, transforms: int = 3, bins: int = 8, hidden: tuple[int, ...] = (64, 64)):
    """A zuko flow (an nn.Module; calling it gives the distribution) on [-1, 1]^d."""
    import zuko  # imported here: physolve's import stays cheap, zuko is needed by AAS only
    from zuko.lazy import UnconditionalDistribution
    from zuko.transforms import MonotonicRQSTransform

    flow = zuko.flows.MAF(
        features=d, transforms=transforms,
        univariate=partial(MonotonicRQSTransform, bound=1.0, slope=1e-3),
        shapes=[(bins,), (bins,), (bins - 1,)], hidden_features=tuple(hidden))
    flow.base = UnconditionalDistribution(
        zuko.distributions.BoxUniform, lower=torch.full((d,), -1.0 - _EDGE),
        upper=torch.full((d,), 1.0 + _EDGE), buffer=True)
    return flow


def flow_sample(flow, u: Tensor) -> Tensor:
    """Flow samples from base points u, uniform on [-1, 1]^d (drawn by the caller, so that
    its generator and not torch's global one decides them)."""
    return flow().transform.inv(u)


def flow_log_prob(flow, z: Tensor) -> Tensor:
    """log density of the flow at z in [-1, 1]^d, shape (N,)."""
    return flow().log_prob(z)
