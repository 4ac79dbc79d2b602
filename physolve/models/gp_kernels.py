"""Spectral mixture kernels on one axis, with closed-form derivatives of every order.

A stationary kernel k(x, y) = phi(x - y) has the power spectrum S(f) (Wiener-Khinchin:
phi(r) = int S(f) exp(2 pi i f r) df). Modelling S as a symmetric mixture of Q components
centred at +-f_q gives

    phi(r) = sum_q w_q m_q(r) cos(2 pi f_q r),

where m_q is the inverse transform of one component's shape:
- a Gaussian component (standard deviation 1 / (2 pi l_q)) gives the squared exponential
  envelope m(r) = exp(-r^2 / (2 l^2)): Wilson & Adams' spectral mixture kernel;
- a Student-t component with 2 nu degrees of freedom gives the Matern-nu envelope, for
  half-integer nu = p + 1/2: m(r) = exp(-z) P_p(z), z = sqrt(2 nu) |r| / l. Its heavy tails
  keep frequencies far from the initial f_q within reach of the optimiser.

Frequencies f are in cycles per unit length (sin(100 x) has f = 100 / (2 pi) = 15.9).
The weights are learned as log w (a flat prior on log w is the Jeffreys prior p(w) ~ 1/w on w,
which drives unneeded components' weights towards zero: the mixture prunes itself).

Derivatives are closed form, including at r = 0: d^a/dx^a k(x, y) = phi^(a)(x - y), by
Leibniz' rule on envelope times cosine. Autograd through |x - y| would give a zero derivative
on the diagonal, which is exactly where the posterior mean's derivatives at grid nodes need it.
The Matern-(p + 1/2) envelope has 2p continuous derivatives; asking for more is an error.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

ENVELOPES = ("student_t", "gaussian")


def _matern_polynomial(p: int) -> list[float]:
    """Coefficients (ascending powers of z) of P_p with Matern-(p+1/2) = exp(-z) P_p(z)."""
    coef = [0.0] * (p + 1)
    for i in range(p + 1):
        coef[p - i] = (math.factorial(p) / math.factorial(2 * p) * math.factorial(p + i)
                       / (math.factorial(i) * math.factorial(p - i)) * 2 ** (p - i))
    return coef


def _derivative_polynomials(coef: list[float], order: int) -> list[list[float]]:
    """Q_0 = P, Q_{k+1} = Q_k' - Q_k: d^k/dz^k [exp(-z) P(z)] = exp(-z) Q_k(z)."""
    out = [list(coef)]
    for _ in range(order):
        q = out[-1]
        dq = [i * q[i] for i in range(1, len(q))] + [0.0]
        out.append([a - b for a, b in zip(dq, q)])
    return out


def _horner(coef: list[float], z: Tensor) -> Tensor:
    out = torch.full_like(z, coef[-1])
    for c in reversed(coef[:-1]):
        out = out * z + c
    return out


class SpectralMixture(nn.Module):
    """phi(r) = sum_q w_q m_q(r) cos(2 pi f_q r) on one axis.

    Parameters
    ----------
    n_components: Q, the number of mixture components.
    max_freq: initial frequencies are spread evenly over [0, max_freq] (cycles per unit).
    lengthscale: initial envelope length scale l of every component.
    envelope: "student_t" (Matern-nu envelope) or "gaussian" (squared exponential).
    nu: Matern smoothness for "student_t", a half-integer >= 1.5 (1.5, 2.5, 3.5, ...).
    freqs: explicit initial frequencies instead of the even spread.
    weights: initial relative weights of the components (default: equal); they are scaled to
        sum to 1, the variance of a unit-scale solution.
    """

    def __init__(self, n_components: int = 30, max_freq: float = 20.0, lengthscale: float = 1.0,
                 envelope: str = "student_t", nu: float = 2.5,
                 freqs: Sequence[float] | None = None,
                 weights: Sequence[float] | None = None):
        super().__init__()
        if envelope not in ENVELOPES:
            raise ValueError(f"kernel: unknown envelope {envelope!r}; choose one of {ENVELOPES}")
        if not isinstance(n_components, int) or n_components < 1:
            raise ValueError(f"kernel: n_components must be a positive integer, got {n_components!r}")
        if not (isinstance(max_freq, (int, float)) and max_freq >= 0):
            raise ValueError(f"kernel: max_freq must be a number >= 0, got {max_freq!r}")
        if not (isinstance(lengthscale, (int, float)) and lengthscale > 0):
            raise ValueError(f"kernel: lengthscale must be > 0, got {lengthscale!r}")
        self.envelope = envelope
        self.nu = float(nu)
        if envelope == "student_t":
            p = self.nu - 0.5
            if p < 1 or p != int(p):
                raise ValueError(f"kernel: nu must be a half-integer >= 1.5 (1.5, 2.5, ...) so "
                                 f"that second derivatives exist, got {nu!r}")
            self._poly = _matern_polynomial(int(p))
        f0 = torch.linspace(0.0, float(max_freq), n_components, dtype=torch.float64) \
            if freqs is None else torch.as_tensor(freqs, dtype=torch.float64).reshape(-1)
        q = f0.numel()
        w0 = torch.ones(q, dtype=torch.float64) if weights is None else \
            torch.as_tensor(weights, dtype=torch.float64).reshape(-1)
        if w0.shape != (q,) or not bool((w0 > 0).all()):
            raise ValueError(f"kernel: weights must be {q} positive numbers, got {weights!r}")
        self.log_weight = nn.Parameter(torch.log(w0 / w0.sum()))
        self.log_lengthscale = nn.Parameter(torch.full((q,), math.log(lengthscale),
                                                       dtype=torch.float64))
        self.freq = nn.Parameter(f0)

    @property
    def max_order(self) -> int | None:
        """Highest derivative order phi has at r = 0 (None: unlimited)."""
        return None if self.envelope == "gaussian" else 2 * int(self.nu - 0.5)

    def variance(self) -> Tensor:
        """phi(0) = sum_q w_q."""
        return self.log_weight.exp().sum()

    # --- envelope derivatives m^(k)(r), k = 0..order, shape (..., Q) ----------------------------
    def _envelope(self, r: Tensor, order: int) -> list[Tensor]:
        ell = self.log_lengthscale.exp()
        if self.envelope == "gaussian":
            t = r / ell
            m = torch.exp(-0.5 * t * t)
            # m^(k) = (-1/l)^k He_k(r/l) m with the probabilists' Hermite polynomials He_k.
            he = [torch.ones_like(t), t]
            for k in range(1, order):
                he.append(t * he[k] - k * he[k - 1])
            return [(-1.0 / ell) ** k * he[k] * m for k in range(order + 1)]
        # Matern: m(r) = g(|r|), g(t) = exp(-s t) P(s t); m^(k)(r) = sign(r)^k g^(k)(|r|).
        # Odd derivatives of g vanish at 0 up to order 2p - 1, so sign(0) = 0 is exact there.
        s = math.sqrt(2 * self.nu) / ell
        z = r.abs() * s
        e = torch.exp(-z)
        sign = torch.sign(r)
        out = []
        for k, q in enumerate(_derivative_polynomials(self._poly, order)):
            val = s ** k * e * _horner(q, z)
            out.append(val * sign if k % 2 else val)
        return out

    def derivative(self, r: Tensor, order: int = 0) -> Tensor:
        """phi^(order)(r) for differences r = x - y of any shape."""
        if not isinstance(order, int) or order < 0:
            raise ValueError(f"kernel: derivative order must be an integer >= 0, got {order!r}")
        if self.max_order is not None and order > self.max_order:
            raise ValueError(
                f"kernel: the Matern-{self.nu} envelope has only {self.max_order} derivatives, "
                f"order {order} was requested; use a larger nu (e.g. {order / 2 + 0.5}) or the "
                "gaussian envelope")
        r = r[..., None]
        omega = 2 * math.pi * self.freq
        phase = omega * r
        cos, sin = torch.cos(phase), torch.sin(phase)
        # d^j/dr^j cos(w r) = w^j cos(w r + j pi / 2): the cycle cos, -sin, -cos, sin.
        cycle = (cos, -sin, -cos, sin)
        env = self._envelope(r, order)
        total = torch.zeros_like(phase)
        for k in range(order + 1):
            j = order - k
            total = total + math.comb(order, k) * env[k] * omega ** j * cycle[j % 4]
        return (total * self.log_weight.exp()).sum(-1)

    def spectrum(self) -> tuple[Tensor, Tensor, Tensor]:
        """(weights, frequencies, length scales) of the components, detached."""
        return (self.log_weight.exp().detach(), self.freq.detach(),
                self.log_lengthscale.exp().detach())

    def extra_repr(self) -> str:
        kind = f"matern{self.nu}" if self.envelope == "student_t" else "gaussian"
        return f"components={self.freq.numel()}, envelope={kind}"


def periodogram(values: Tensor, axis: int) -> Tensor:
    """Power per frequency bin j = 0 .. n // 2 of `values` along `axis` (bin j is j / (n h)
    cycles per unit), averaged over the other axes. A Hann window keeps the leakage of a
    strong peak far below its neighbours' level."""
    n = values.shape[axis]
    x = torch.movedim(values, axis, -1)
    window = torch.hann_window(n, periodic=False, dtype=x.dtype, device=x.device)
    return (torch.fft.rfft(x * window).abs() ** 2).reshape(-1, n // 2 + 1).mean(0)


def spectral_peaks(power: Tensor, rel_power: float = 1e-2, weight: Tensor | None = None
                   ) -> Tensor:
    """Bins of the local maxima of `power`, strongest first, down to `rel_power` times the
    strongest of them.

    weight: a factor per bin (the inverse operator's power, turning the forcing's spectrum
    into the solution's). The maxima are then ranked and cut by power * weight, and bin 0
    joins them where it is at least bin 1 there: the band of a solution slower than one
    period over the axis. The other maxima are still those of `power` itself: the weight
    would turn the flank of a low-frequency line into a maximum of its own."""
    inner = (power[1:-1] > power[:-2]) & (power[1:-1] >= power[2:])
    j = torch.nonzero(inner).reshape(-1) + 1
    ranked = power if weight is None else power * weight
    if weight is not None and ranked.numel() > 1 and ranked[0] > 0 and ranked[0] >= ranked[1]:
        j = torch.cat([j.new_zeros(1), j])
    if j.numel() == 0:
        return j
    j = j[torch.argsort(ranked[j], descending=True)]
    return j[ranked[j] >= rel_power * ranked[j[0]]]


def components_around(peaks: Tensor, n_components: int, half_width: float | Sequence[float],
                      zero_weight: float = 1e-4) -> tuple[Tensor, Tensor]:
    """Initial (frequencies, relative weights) of a mixture centred on spectral peaks.

    One component sits at frequency 0 with a small weight, so that smooth parts (from
    boundary data) can grow in if the solution needs them without a weakly determined
    low-frequency mode from the start; the others are shared out among the peaks in turn
    and spread evenly over peak +- half_width, cut at 0 (a peak at 0 spreads over
    (0, half_width]: folding negative frequencies over would put two components on each
    frequency, and equal components stay equal under any gradient). `half_width`: one for
    all peaks or one per peak.
    """
    q = n_components - 1
    if len(peaks) == 0 or q < 1:
        raise ValueError("components_around needs at least one peak and two components")
    counts = torch.bincount(torch.arange(q) % min(len(peaks), q), minlength=len(peaks))
    widths = (list(half_width) if isinstance(half_width, (list, tuple))
              else [half_width] * len(peaks))
    spread = []
    for f, c, w in zip(peaks.abs().tolist(), counts.tolist(), widths):
        if c == 1:
            spread.append(torch.tensor([f], dtype=peaks.dtype))
        elif c > 1 and f >= w:
            spread.append(torch.linspace(f - w, f + w, c, dtype=peaks.dtype))
        elif c > 1:                                  # (0, f + w]: 0 is taken
            spread.append(torch.linspace(0.0, f + w, c + 1, dtype=peaks.dtype)[1:])
    freqs = torch.cat([torch.zeros(1, dtype=peaks.dtype)] + spread)
    weights = torch.cat([torch.full((1,), zero_weight, dtype=peaks.dtype),
                         torch.ones(q, dtype=peaks.dtype)])
    return freqs, weights
