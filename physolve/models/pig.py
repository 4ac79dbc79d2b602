"""Physics-Informed Gaussians (PIG; Kang, Oh, Hong, Park, ICLR 2025).

The network is a trainable Gaussian feature embedding followed by a tiny MLP,

    phi_c(x) = sum_g W_gc exp(-1/2 sum_i ((x_i - mu_gi) / sigma_gi)^2),     u = MLP(phi(x)),

where the centres mu, per-axis widths sigma and weights W all train with the ordinary
physics-informed loss. Only the network differs from a PINN, so PIG subclasses PINN and every
problem, condition, hard constraint and optimizer works unchanged; derivatives come from the
autograd backend. To make them cheap the embedding can hand autograd its Taylor polynomial
about each point, with closed-form coefficients (`GaussianEmbedding(order=K)`, docs/pig.md).
"""
from __future__ import annotations

import contextlib
import contextvars
import itertools
import math
from typing import Any

import torch
from torch import nn

from ..pde.autograd import AutogradBackend
from .base import solvers
from .networks import MLP
from ..sampling import Sampler
from .pinn import PINN


#: Highest derivative order the closed-form Taylor path supports (fourth: biharmonic problems).
MAX_JET_ORDER = 4

# Set while a PIG derivative backend takes derivatives in x, so that _OrderGuard can tell those
# backward passes from others (the parameter gradient, Hessian-vector products of optimizers).
_DIFFERENTIATING_X: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "physolve_pig_differentiating_x", default=False)


@contextlib.contextmanager
def differentiating_x():
    """Mark the backward passes inside as derivatives in the points (see _OrderGuard)."""
    token = _DIFFERENTIATING_X.set(True)
    try:
        yield
    finally:
        _DIFFERENTIATING_X.reset(token)


class _OrderGuard(torch.autograd.Function):
    """Zero, but raises when a derivative in x of order above `budget` passes through it.

    A Taylor polynomial of degree K has zero derivatives above K, which would be silently
    wrong. Each backward pass in x through the guard (while `differentiating_x` is on and a
    graph is built, i.e. the result may be differentiated again) returns a guard with one
    order less; a pass that finds none left raises.
    """

    @staticmethod
    def forward(ctx, x, budget, order):
        ctx.budget, ctx.order = budget, order
        ctx.save_for_backward(x)
        return x.new_zeros(x.shape[0], 1)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if not (torch.is_grad_enabled() and _DIFFERENTIATING_X.get()):
            return torch.zeros_like(x), None, None
        if ctx.budget == 0:
            raise DerivativeOrderError(
                "the Gaussian embedding was built with order={0} and computes derivatives in "
                "x up to order {0} exactly; the residual asks for a higher one. Raise the "
                "solver's `order` (at most {1}) or set order=None (plain autograd, any "
                "order)".format(ctx.order, MAX_JET_ORDER))
        inner = _OrderGuard.apply(x, ctx.budget - 1, ctx.order)
        return inner.expand(-1, x.shape[1]), None, None


class DerivativeOrderError(RuntimeError):
    """A derivative above the order a Taylor-mode Gaussian embedding was built for."""


class JetPlan:
    """Bookkeeping of the Taylor path for inputs of dimension d up to order K.

    Multi-indices alpha with |alpha| <= K name the Taylor coefficients d^alpha phi; each is a
    sum over beta <= alpha of x^beta times a per-Gaussian coefficient (a "column").
    """

    def __init__(self, d: int, order: int):
        self.d, self.order = d, order
        self.alphas = [a for k in range(order + 1) for a in _multi_indices(d, k)]
        self.columns = [(a, b) for a in self.alphas for b in _below(a)]
        self.value_only = [((0,) * d, (0,) * d)]
        index = {a: j for j, a in enumerate(self.alphas)}
        self.column_alpha = torch.tensor([index[a] for a, _ in self.columns])
        self.column_beta = [b for _, b in self.columns]
        self.factorials = torch.tensor([math.prod(math.factorial(k) for k in a)
                                        for a in self.alphas], dtype=torch.float64)
        self.hermite = _hermite_table(order)

    @staticmethod
    def powers(x: torch.Tensor, exponents) -> torch.Tensor:
        """(N, len(exponents)): prod_i x_i^e_i."""
        cols = []
        for e in exponents:
            col = torch.ones_like(x[:, 0])
            for i, k in enumerate(e):
                if k:
                    col = col * _power(x[:, i], k)
            cols.append(col)
        return torch.stack(cols, dim=1)

    def axis_coefficients(self, s: torch.Tensor, mu: torch.Tensor) -> dict:
        """(k, b) -> (G, d): coefficient of x^b in p_k(x - mu) with precision s, where
        d^k/dx^k exp(-s (x - mu)^2 / 2) = p_k(x - mu) exp(-s (x - mu)^2 / 2),
        p_k(t) = sum_m h[k][m] s^((k + m) / 2) t^m."""
        out = {}
        for k in range(1, self.order + 1):
            for b in range(k + 1):
                terms = [self.hermite[k][m] * math.comb(m, b) * _power(s, (k + m) // 2)
                         * _power(-mu, m - b)
                         for m in range(b, k + 1) if self.hermite[k][m]]
                out[(k, b)] = sum(terms) if terms else torch.zeros_like(s)
        return out


def _power(t: torch.Tensor, n: int) -> torch.Tensor:
    """t^n by products (autograd's rule for pow gives NaN at t = 0 when n = 0)."""
    out = torch.ones_like(t)
    for _ in range(n):
        out = out * t
    return out


def _multi_indices(d: int, k: int) -> list[tuple[int, ...]]:
    """All alpha in N^d with |alpha| = k, in lexicographic order from the last axis."""
    if d == 1:
        return [(k,)]
    return [(i, *rest) for i in range(k, -1, -1) for rest in _multi_indices(d - 1, k - i)]


def _below(alpha: tuple[int, ...]) -> list[tuple[int, ...]]:
    return [tuple(b) for b in itertools.product(*(range(k + 1) for k in alpha))]


def _hermite_table(order: int) -> list[list[int]]:
    """h[k][m] with d^k/dt^k exp(-s t^2/2) = exp(-s t^2/2) sum_m h[k][m] s^((k+m)/2) t^m,
    from p_{k+1} = p_k' - s t p_k."""
    table = [[1]]
    for k in range(order):
        prev = table[-1] + [0, 0]
        table.append([(m + 1) * prev[m + 1] - (prev[m - 1] if m else 0) for m in range(k + 2)])
    return table


def check_embedding(in_dim, n_gaussians, channels, sigma, shared, weight_std, center_range,
                    chunk_size, order) -> None:
    """Fail early, naming the setting, on values a GaussianEmbedding cannot use."""
    for key, val in {"in_dim": in_dim, "n_gaussians": n_gaussians, "channels": channels,
                     "chunk_size": chunk_size}.items():
        if not isinstance(val, int) or isinstance(val, bool) or val <= 0:
            raise ValueError(f"GaussianEmbedding: {key} must be a positive integer, "
                             f"got {val!r}")
    for key, val in {"sigma": sigma, "center_range": center_range}.items():
        if not val > 0:
            raise ValueError(f"GaussianEmbedding: {key} must be > 0, got {val!r}")
    if not weight_std >= 0:
        raise ValueError(f"GaussianEmbedding: weight_std must be >= 0, got {weight_std!r}")
    if not shared and n_gaussians % channels:
        raise ValueError(f"GaussianEmbedding: with shared=False every channel has its own "
                         f"Gaussians, so n_gaussians ({n_gaussians}) must be a multiple of "
                         f"channels ({channels})")
    if order is not None and (not isinstance(order, int) or isinstance(order, bool)
                              or not 0 <= order <= MAX_JET_ORDER):
        raise ValueError(f"GaussianEmbedding: order must be None (plain autograd, any order) "
                         f"or an integer 0..{MAX_JET_ORDER}, got {order!r}")


class GaussianEmbedding(nn.Module):
    """Features phi(x) in R^channels from `n_gaussians` axis-aligned Gaussians in R^in_dim.

    Parameters
    ----------
    in_dim: dimension of the inputs x (space and time together).
    n_gaussians: total number of Gaussians G.
    channels: length C of the feature vector.
    sigma: initial width on every axis (inputs are expected in about [-1, 1]).
    shared: True gives every Gaussian a feature vector in R^C (W is G x C, the paper's
        formula). False is the layout of the authors' code: the Gaussians fall into C equal
        blocks, block c feeding channel c with one scalar weight each (G must be a multiple
        of C); the same G costs C times fewer weights and multiply-adds.
    weight_std: standard deviation of the initial weights (small: the MLP starts near linear).
    center_range: centres start uniform in [-center_range, center_range]^in_dim.
    chunk_size: points evaluated at once; caps the (points x G) temporaries of one call.
    order: None differentiates the embedding by plain autograd (any order). An integer K
        makes the embedding hand autograd its Taylor polynomial of degree K at each point
        instead (see `_taylor`), whose derivatives up to order K are exact and cost a few
        matrix products; use it through PIG, whose derivative backend refuses higher orders.
    generator: the random generator for centres and weights (reproducible initialisation).

    Cost and memory are O(N G) per call. The exponent is one matrix product,

        -1/2 sum_i s_i (x_i - mu_i)^2 = [x^2, x, 1] @ P,   s = 1 / sigma^2,
        P = -1/2 [s ; -2 s mu ; sum_i s_i mu_i^2]          ((2 d + 1) x G),

    so no (N, G, d) tensor of differences is formed. The expansion loses digits when
    |x| >> sigma: keep inputs normalised (PIG maps the domain to [-1, 1]^d).
    """

    def __init__(self, in_dim: int, n_gaussians: int = 800, channels: int = 4,
                 sigma: float = 0.1, shared: bool = False, weight_std: float = 0.01,
                 center_range: float = 1.0, chunk_size: int = 16384, order: int | None = None,
                 generator: torch.Generator | None = None):
        super().__init__()
        check_embedding(in_dim, n_gaussians, channels, sigma, shared, weight_std, center_range,
                        chunk_size, order)
        self.in_dim, self.n_gaussians, self.channels = in_dim, n_gaussians, channels
        self.shared, self.chunk_size, self.order = shared, chunk_size, order
        self.out_dim = channels
        # Blocks of Gaussians that feed the same channels: one block feeding all C channels
        # (shared), or C blocks feeding one channel each. Batched products over blocks then
        # never touch the zeros a dense G x C weight matrix would hold.
        self.blocks = 1 if shared else channels
        mu = (2 * torch.rand(n_gaussians, in_dim, generator=generator) - 1) * center_range
        self.mu = nn.Parameter(mu)
        # log widths: every value is a valid width, so no optimizer step can make sigma <= 0.
        self.log_sigma = nn.Parameter(torch.full((n_gaussians, in_dim), math.log(sigma)))
        shape = (n_gaussians, channels) if shared else (n_gaussians,)
        self.weight = nn.Parameter(torch.randn(*shape, generator=generator) * weight_std)
        self.plan = JetPlan(in_dim, order or 0)

    @property
    def sigma(self) -> torch.Tensor:
        """Widths (G, in_dim)."""
        return self.log_sigma.exp()

    def feature_matrix(self) -> torch.Tensor:
        """W (G, C): how much each Gaussian adds to each channel."""
        if self.shared:
            return self.weight
        block = torch.arange(self.n_gaussians, device=self.weight.device) // (
            self.n_gaussians // self.channels)
        onehot = nn.functional.one_hot(block, self.channels).to(self.weight.dtype)
        return self.weight[:, None] * onehot

    def exponent_matrix(self) -> torch.Tensor:
        """P ((2 in_dim + 1), G) with  -1/2 sum_i ((x_i - mu_i) / sigma_i)^2 = [x^2, x, 1] @ P."""
        s = torch.exp(-2 * self.log_sigma)                      # 1 / sigma^2, (G, d)
        rows = [s, -2 * s * self.mu, (s * self.mu.square()).sum(1, keepdim=True)]
        return -0.5 * torch.cat(rows, dim=1).T

    def gaussians(self, x: torch.Tensor) -> torch.Tensor:
        """Values (N, G) of the unweighted Gaussians at x (N, in_dim)."""
        return torch.exp(_lift(x) @ self.exponent_matrix())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"GaussianEmbedding expects points of shape (N, {self.in_dim}), "
                             f"got {tuple(x.shape)}")
        jets = self.order is not None and torch.is_grad_enabled() and x.requires_grad
        p = self._block_exponents()
        if not jets:
            m = self._weights(self.plan.value_only)
            parts = [self._block_products(c, p, m)[:, 0] for c in torch.split(x, self.chunk_size)]
        else:
            m = self._weights(self.plan.columns)
            parts = [self._taylor(c, p, m) for c in torch.split(x, self.chunk_size)]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def _taylor(self, x: torch.Tensor, p: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """The Taylor polynomial of degree K = order of phi about x0 = x.detach(), at x.

        Its value is phi(x0) and its derivatives in x up to order K are those of phi at x0,
        but autograd differentiates a small polynomial (N x C x number of multi-indices)
        instead of the (N x G) Gaussians. The Taylor coefficients d^a phi(x0) come in closed
        form: along one axis d^k/dt^k exp(-s t^2 / 2) = exp(-s t^2 / 2) p_k(t), a Hermite
        polynomial; expanding p_k(x - mu) in powers of x turns every coefficient into one
        batched product of the Gaussians with a (G x columns) matrix `m`, evaluated at x0.
        """
        plan = self.plan
        x0 = x.detach()
        q = self._block_products(x0, p, m)                          # (N, columns, C)
        powers = plan.powers(x0, plan.column_beta)                   # x0^beta, (N, columns)
        coeffs = q.new_zeros(x.shape[0], len(plan.alphas), self.channels)
        coeffs = coeffs.index_add(1, plan.column_alpha.to(q.device), q * powers[:, :, None])
        steps = plan.powers(x - x0, plan.alphas) / plan.factorials.to(x)   # (x - x0)^a / a!
        out = (coeffs * steps[:, :, None]).sum(1)
        return out + _OrderGuard.apply(x, self.order, self.order)

    # --- pieces ---------------------------------------------------------------------------
    def _weights(self, columns: list[tuple[tuple[int, ...], tuple[int, ...]]]) -> torch.Tensor:
        """(blocks, G / blocks, columns * C / blocks): per Gaussian, the coefficient of x^beta
        in d^alpha of its (unweighted) value, times its weights, for each (alpha, beta)."""
        s = torch.exp(-2 * self.log_sigma)
        axis = self.plan.axis_coefficients(s, self.mu)        # (k, b) -> (G, d)
        cols = []
        for alpha, beta in columns:
            c = torch.ones_like(s[:, 0])
            for i, (k, b) in enumerate(zip(alpha, beta)):
                if k:
                    c = c * axis[(k, b)][:, i]
            cols.append(c)
        coef = torch.stack(cols, dim=1)                         # (G, columns)
        per_block = self.n_gaussians // self.blocks
        w = self.weight.reshape(self.blocks, per_block, -1)     # (B, G / B, C / B)
        m = coef.reshape(self.blocks, per_block, -1, 1) * w[:, :, None, :]
        return m.reshape(self.blocks, per_block, -1)

    def _block_exponents(self) -> torch.Tensor:
        """P split into the blocks of Gaussians: (B, 2 d + 1, G / B)."""
        per_block = self.n_gaussians // self.blocks
        return self.exponent_matrix().reshape(-1, self.blocks, per_block).transpose(0, 1)

    def _block_products(self, x: torch.Tensor, p: torch.Tensor, m: torch.Tensor
                        ) -> torch.Tensor:
        """Gaussians at x times the block matrices m, as (N, columns, C)."""
        phi = torch.exp(_lift(x) @ p)                          # (B, N, G / B)
        out = torch.bmm(phi, m)                                # (B, N, columns * C / B)
        n = x.shape[0]
        out = out.reshape(self.blocks, n, -1, self.channels // self.blocks)
        return out.permute(1, 2, 0, 3).reshape(n, -1, self.channels)

    def extra_repr(self) -> str:
        return (f"in_dim={self.in_dim}, n_gaussians={self.n_gaussians}, "
                f"channels={self.channels}, shared={self.shared}, order={self.order}")


def _lift(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x.square(), x, torch.ones_like(x[:, :1])], dim=1)


class _OrderCheckedAutograd(AutogradBackend):
    """The autograd backend, marking its passes in x so that a Taylor-mode embedding can
    refuse derivatives above its order instead of returning zeros."""

    def derivative(self, output, wrt):
        with differentiating_x():
            return super().derivative(output, wrt)

    def diff(self, expr, name):
        with differentiating_x():
            return super().diff(expr, name)


@solvers.register("pig")
class PIG(PINN):
    """A PINN whose network is a GaussianEmbedding followed by a small MLP.

    Parameters
    ----------
    n_gaussians, channels, sigma, shared, weight_std: the embedding (see GaussianEmbedding);
        the authors' Helmholtz setting is 3200 Gaussians in 4 channels, sigma 0.1.
    order: highest derivative order the PDE and conditions take (2 for most PDEs). The
        embedding then gives autograd its Taylor polynomial of that degree (exact derivatives
        up to `order`, several times faster); a higher derivative raises DerivativeOrderError.
        None differentiates the Gaussians by plain autograd (any order, slower).
    width, depth, activation, init: the MLP on the features (depth = hidden layers; the
        authors' 4 -> 16 -> 1 tanh network is width=16, depth=1).
    embedding_chunk: points the embedding evaluates at once (bounds its temporaries).
    n_interior, n_boundary, n_initial, sampling, weights, chunk_size, balance,
        balance_options, causal, sampler, sampler_options: as for PINN (loss balancing and
        causal training: docs/training_recipes.md; adaptive collocation:
        docs/adaptive_sampling.md).

    Inputs are always mapped to [-1, 1]^d (the bounding box of the domain) first, where the
    centres start uniformly and where sigma is measured.
    """

    name = "pig"

    def __init__(self, n_gaussians: int = 800, channels: int = 4, sigma: float = 0.1,
                 shared: bool = False, weight_std: float = 0.01, order: int | None = 2,
                 width: int = 16, depth: int = 1, activation: str = "tanh",
                 init: str = "xavier_normal", embedding_chunk: int = 16384,
                 n_interior: int = 4000, n_boundary: int = 400, n_initial: int | None = None,
                 sampling: str = "sobol", weights: dict[str, float] | None = None,
                 chunk_size: int = 65536, balance: str = "fixed",
                 balance_options: dict[str, Any] | None = None,
                 causal: dict[str, Any] | None = None, sampler: str | Sampler = "uniform",
                 sampler_options: dict[str, Any] | None = None):
        super().__init__(width=width, depth=depth, activation=activation, init=init,
                         n_interior=n_interior, n_boundary=n_boundary, n_initial=n_initial,
                         sampling=sampling, weights=weights, normalize_inputs=True,
                         chunk_size=chunk_size, balance=balance,
                         balance_options=balance_options, causal=causal, sampler=sampler,
                         sampler_options=sampler_options)
        self.embedding_options = dict(n_gaussians=n_gaussians, channels=channels, sigma=sigma,
                                      shared=shared, weight_std=weight_std, order=order,
                                      chunk_size=embedding_chunk)
        # Fail at construction, not at set-up, on bad embedding settings.
        check_embedding(1, center_range=1.0, **self.embedding_options)

    def build_network(self, in_dim: int, out_dim: int, generator: torch.Generator) -> nn.Module:
        embedding = GaussianEmbedding(in_dim, generator=generator, **self.embedding_options)
        return MLP(in_dim, out_dim, self.width, self.depth, self.activation, self.init,
                   embedding=embedding)

    def backend(self, points: torch.Tensor, create_graph: bool = True) -> AutogradBackend:
        p = self.problem
        return _OrderCheckedAutograd(self.forward, points, p.inputs, p.outputs, p.spatial,
                                     create_graph=create_graph)

    @property
    def embedding(self) -> GaussianEmbedding:
        """The trained Gaussians (centres and widths in the normalised coordinates)."""
        return self.net.embedding
