"""Gaussian-process spectral solver for high-frequency and multi-scale PDEs (GP-HM).

Fang, Cooley, Long, Li, Kirby, Zhe (ICLR 2024). Each output u gets a GP prior with a product
kernel k(x, y) = prod_k k_k(x_k, y_k), each factor a spectral mixture (gp_kernels.py). The
values U of u on a tensor grid (boundary included) are the unknowns; the solution is the GP
posterior mean given them, u(x) = k(x, X) K^-1 vec(U), so its derivatives at the grid nodes are

    d^a/dx_k^a u = (I kron ... kron Phi_k^(a) K_k^-1 kron ... kron I) vec(U),

with Phi_k^(a)[i, j] = phi_k^(a)(x_i - x_j) in closed form. That is a derivative backend
(kernel_backend.KernelBackend), so the problem's own residual function is evaluated on it, exactly
as the PINN evaluates it on the autograd backend. The objective is the negative log joint

    0.5 vec(U)^T K^-1 vec(U) + 0.5 log|K|                      (GP prior, K = kron K_k)
    + sum_terms w_t (0.5 tau_t |r_t|^2 - 0.5 n_t log tau_t)     (Gaussian likelihoods)

over U, the kernel parameters and (optionally) the likelihood precisions tau_t, with r_t the
PDE residual at every grid node and each condition's residual at its grid nodes
(observations: at their own points). K is never formed: solves and log-determinants go
through per-axis Cholesky factors (kron.py), and on the uniform grid each per-axis matrix is
Toeplitz, so the kernel is evaluated at the 2n - 1 lags only.

Three choices differ from the paper's code by default (docs/gp_spectral.md has the
measurements): U is parametrised whitened, U = (kron L_k) Z with K_k = L_k L_k^T, so the
prior term is |Z|^2 / 2 -- it converges where training U fails on the small, low-frequency
cases of the tests, while training U (the paper) converges faster on the high-frequency
cases, whose configs select it; the mixture starts around the peaks of the periodogram of the
residual at U = 0 (for a linear problem, the forcing) divided by the operator's power, with
the band below one period as a candidate, where the paper spreads it evenly over
[0, max_freq]; and the likelihood precisions are fixed relative to each term's scale (noise,
floored relative to the largest term's so that none degenerates),
because learned ones make the objective unbounded below (tau -> inf as a residual -> 0) and
the final iterate drifts away from the best one. The paper's choices are one argument away:
parametrization="values", init="spread", noise=None.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import Tensor, nn

from ..geometry.grid import Grid
from ..pde.fields import Fields
from ..pde.kernel_backend import (KernelBackend, NodeBackend, RowBackend,
                                  condition_nodes)
from ..pde.kron import KronCholesky, kron_rows
from ..precision import resolve_dtype
from .base import Solver, check_weight_names, solvers
from .gp_kernels import (ENVELOPES, SpectralMixture, components_around, periodogram,
                         spectral_peaks)

# Bounds the temporaries of kernel evaluations at scattered points (P x n x Q numbers) and of
# their contraction with the coefficients (P x n_2 x ... x n_d).
_CHUNK_ELEMENTS = 2**22
PARAMETRIZATIONS = ("whitened", "values")
INITS = ("spectrum", "spread")
# Spectrum init: components spread over a peak +- this many periodogram bins.
_PEAK_HALF_WIDTH_BINS = 10
# Spectrum init: bins at which the operator's symbol is measured (then interpolated).
_SYMBOL_SAMPLES = 16
# Likelihood scales: the floor relative to the largest term, and the number of prior draws
# whose responses compare two terms' operators (several, so that a term on one node is not
# at the mercy of one number).
_SCALE_FLOOR = 0.1
_SCALE_DRAWS = 4


def _per_axis(value, d: int, what: str, kind=float) -> list:
    values = list(value) if isinstance(value, (list, tuple)) else [value] * d
    if len(values) != d:
        raise ValueError(f"gp_spectral: {what} needs one value or {d} (one per input), "
                         f"got {value!r}")
    return [kind(v) for v in values]


@dataclass
class _Term:
    """One condition on the grid (or at its own points for observations)."""

    condition: object
    batch: object
    index: Tensor | None  # flat grid indices; None: scattered points (RowBackend)


@dataclass
class _Step:
    """What one evaluation of the objective shares: factors, values, K^-1 U, operators."""

    kron: dict[str, KronCholesky]
    values: dict[str, Tensor]
    coefficients: dict[str, Tensor]
    operators: dict[tuple, Tensor] = field(default_factory=dict)
    bases: dict[tuple, Tensor] = field(default_factory=dict)


@solvers.register("gp_spectral")
class GPSpectral(Solver):
    """The GP-HM solver on a box (or box x time interval) domain.

    Parameters
    ----------
    grid: nodes per input (one int for all, or one per input), boundary included.
    kernel: "student_t" (Matern-nu x cosine mixture) or "gaussian" (SE x cosine mixture).
    nu: Matern smoothness of the student_t envelope (half-integer >= 1.5).
    n_components: mixture components per input axis.
    init: "spectrum" (components around the peaks of the residual's periodogram at U = 0
        divided by the operator's power, that is of the solution's estimated spectrum; a
        UserWarning names what that adds to the forcing's own peaks) or "spread" (the paper:
        evenly over [0, max_freq]; also the fallback, with a warning, where the equation is
        homogeneous or an axis shows no peak).
    max_freq: top of the "spread" frequencies, cycles per unit (one, or one per input).
    lengthscale: initial envelope length scale (one, or one per input).
    jitter: added to each K_k's diagonal, relative to the kernel's variance phi(0).
    noise: standard deviation of the Gaussian likelihoods relative to each term's scale, the
        RMS of its residual at U = 0 (the forcing of a PDE term, the target of a condition),
        at least 0.1 times the largest term's (more for a term whose operator amplifies
        more; _term_scales): tau_t = 1 / (noise * scale_t)^2. The residual is then resolved to
        about that fraction of the forcing whatever the problem's units; it trades accuracy
        against conditioning. None: learn each precision in the log domain (the paper).
    weights: likelihood weights by term name (equations and conditions, as for PINN). By default
        a condition's weight is its `weight` times (number of grid nodes) / (its residual
        count), so the PDE and each condition carry comparable evidence (1D: 400 nodes and 2
        boundary values give 200, the authors' choice).
    parametrization: "whitened" (U = (kron L_k) Z, Z trained) or "values" (U trained).
    precision: "float64" (default: kernel matrices are far too ill-conditioned for float32),
        "float32", or None to follow the trainer's dtype.
    """

    name = "gp_spectral"

    def __init__(self, grid: int | Sequence[int] = 400, kernel: str = "student_t",
                 nu: float = 2.5, n_components: int = 30, init: str = "spectrum",
                 max_freq: float | Sequence[float] = 20.0,
                 lengthscale: float | Sequence[float] = 1.0, jitter: float = 1e-6,
                 noise: float | None = 1e-4, weights: dict[str, float] | None = None,
                 parametrization: str = "whitened", precision: str | None = "float64"):
        for key, val, allowed in [("kernel", kernel, ENVELOPES), ("init", init, INITS),
                                  ("parametrization", parametrization, PARAMETRIZATIONS)]:
            if val not in allowed:
                raise ValueError(f"gp_spectral: unknown {key} {val!r}; choose one of {allowed}")
        if not (isinstance(jitter, (int, float)) and jitter > 0):
            raise ValueError(f"gp_spectral: jitter must be a number > 0, got {jitter!r}")
        if noise is not None and not (isinstance(noise, (int, float)) and noise > 0):
            raise ValueError(f"gp_spectral: noise must be a number > 0 or None (learned), "
                             f"got {noise!r}")
        if not isinstance(n_components, int) or n_components < 2:
            raise ValueError(f"gp_spectral: n_components must be an integer >= 2, "
                             f"got {n_components!r}")
        self.grid_spec, self.kernel, self.nu = grid, kernel, nu
        self.n_components, self.init = n_components, init
        self.max_freq, self.lengthscale = max_freq, lengthscale
        self.jitter, self.noise = float(jitter), noise
        self.weights = dict(weights or {})
        self.parametrization = parametrization
        self.precision = None if precision is None else resolve_dtype(precision)
        self.problem = None

    # --- set-up -------------------------------------------------------------------------------
    def setup(self, problem, *, dtype=torch.float64, device="cpu", seed=None):
        """Build the grid, kernels and parameters. Deterministic: U starts at 0 and the
        mixture from the grid and the problem, so `seed` is not used."""
        self.problem = problem
        self.dtype = self.precision or dtype
        self.device = torch.device(device)
        d = len(problem.inputs)
        self.shape = tuple(_per_axis(self.grid_spec, d, "grid", int))
        if min(self.shape) < 3:
            raise ValueError(f"gp_spectral: grid needs at least 3 nodes per input, "
                             f"got {self.shape}")
        lo, hi = problem.domain.bbox
        self.grid = Grid(lo, hi, self.shape)
        if not bool(problem.domain.contains(self.grid.points, tol=1e-9).all()):
            raise ValueError(
                f"gp_spectral: the domain {problem.domain!r} is not a box; the GP solver needs a "
                "tensor grid over the whole domain (Interval, Rectangle, Box, optionally "
                "* TimeInterval)")
        self.axes = [a.to(self.dtype).to(self.device) for a in self.grid.axes]
        # Uniform axes: x_i - x_j = (i - j) h, so each per-axis matrix is Toeplitz in the lag.
        self._lags = [torch.arange(-(n - 1), n, dtype=self.dtype, device=self.device) * h
                      for n, h in zip(self.shape, self.grid.spacing.tolist())]
        self.kernels = nn.ModuleDict({out: nn.ModuleList(self._initial_kernels())
                                      for out in problem.outputs})
        self.values = nn.ParameterDict({
            out: nn.Parameter(torch.zeros(self.shape, dtype=self.dtype))
            for out in problem.outputs})
        self.unknowns = nn.ParameterDict({
            k: nn.Parameter(torch.tensor(u.raw_init(), dtype=self.dtype))
            for k, u in problem.unknowns.items()})
        self.log_precision = nn.ParameterDict()
        self.module = nn.ModuleDict({"kernels": self.kernels, "U": self.values,
                                     "unknowns": self.unknowns,
                                     "log_precision": self.log_precision})
        self.module.to(dtype=self.dtype, device=self.device)
        self._setup_conditions()
        self.scales = self._term_scales()
        for n, scale in self.scales.items():
            log_tau = -2 * math.log((self.noise or 1.0) * scale)
            self.log_precision[n] = nn.Parameter(
                torch.tensor(log_tau, dtype=self.dtype, device=self.device),
                requires_grad=self.noise is None)
        conditions = [t.condition.name for t in self.terms]
        check_weight_names(self.weights, [n for n in self.scales if n not in conditions],
                           conditions, "gp_spectral")

    def _term_scales(self) -> dict[str, float]:
        """Each likelihood term's scale: the RMS of its residual at U = 0 (hard values fixed),
        floored at _SCALE_FLOOR times the largest of those, L's.

        The residual at U = 0 alone can be tiny without being zero -- a Neumann condition whose
        data the interpolated hard values nearly meet -- and its precision 1 / (noise scale)^2
        then dwarfs every other term (1e11 and more): L-BFGS stalls far from the solution. The
        floor is relative, so the scales follow the problem's units. Where a term's operator
        answers a field more strongly than L's does (a derivative condition beside a value
        term), the floor grows by that ratio, measured as the RMS responses of the two terms
        to the same draws from the initial prior."""
        with torch.no_grad():
            at_zero = self.residuals()           # U = 0 at every free node
            drawn = {n: 0.0 for n in at_zero}
            g = torch.Generator().manual_seed(0)  # fixed draws: set-up stays deterministic
            # (A single term is its own largest: no ratio to measure.)
            for _ in range(_SCALE_DRAWS if len(at_zero) > 1 else 0):
                free = {o: torch.randn(self.shape, generator=g, dtype=self.dtype).to(self.device)
                        for o in self.problem.outputs}
                if self.parametrization == "values":   # a prior draw is L z either way
                    kron = self._step().kron
                    free = {o: kron[o].lower_matvec(z) for o, z in free.items()}
                for n, r in self.residuals(self._step(free)).items():
                    drawn[n] += float((r - at_zero[n]).square().mean()) / _SCALE_DRAWS
        own = {n: float(r.square().mean().sqrt()) for n, r in at_zero.items()}
        largest = max(own, key=own.get)
        scales = {}
        for n, v in own.items():
            ratio = math.sqrt(drawn[n] / drawn[largest]) if drawn[largest] > 0 else 1.0
            scale = max(v, _SCALE_FLOOR * own[largest] * max(1.0, ratio))
            # Only when every residual vanishes at U = 0 (zero data) is there no scale at
            # all: then 1, the output's units.
            scales[n] = scale if scale > 0 else 1.0
        return scales

    def _initial_kernels(self) -> list[SpectralMixture]:
        d = len(self.shape)
        max_freqs = _per_axis(self.max_freq, d, "max_freq")
        scales = _per_axis(self.lengthscale, d, "lengthscale")
        peaks, widths = self._residual_peaks() if self.init == "spectrum" else ([[]] * d, None)
        kernels = []
        for k in range(d):
            freqs = weights = None
            if len(peaks[k]):
                freqs, weights = components_around(peaks[k], self.n_components, widths[k])
            kernels.append(SpectralMixture(self.n_components, max_freqs[k], scales[k],
                                           self.kernel, self.nu, freqs, weights))
        return kernels

    def _residual_peaks(self) -> tuple[list[Tensor], list[list[float]]]:
        """Per axis, the frequencies (cycles per unit) to start the mixture around, and the
        half width of the band around each (_PEAK_HALF_WIDTH_BINS bins; the band below one
        period reaches as far as the solution's estimated power stays within 1 % of bin 0's).

        The forcing (the PDE residual at U = 0, hard values at 0 too) shows where the
        solution's power is only after the inverse operator: u'' = f turns a component of f
        with 1e-4 of its power at a seventh of the main frequency into a fifth of u's. So
        the periodogram is divided by the operator's power at each frequency (_symbol_power)
        before peaks are picked; bin 0 is a candidate (a forcing slower than one period over
        the axis has no interior peak); the forcing's own peaks stay in. A UserWarning says
        what the weighting added, or that there is no forcing to read."""
        p, d = self.problem, len(self.shape)
        forcing = self._pde_residual(self._zero_backend()).detach()
        if not bool(forcing.any()):
            warnings.warn(
                f"gp_spectral: the PDE residual vanishes at U = 0 (a homogeneous equation), so "
                f"there is no forcing spectrum to start the mixture from; init falls back to "
                f"'spread' over [0, max_freq] = [0, {self.max_freq}] cycles per unit. Set "
                "max_freq to the band the solution lives in (the boundary or initial data's).",
                UserWarning, stacklevel=5)
            return [torch.zeros(0, dtype=torch.float64)] * d, [[]] * d
        spacing = self.grid.spacing.tolist()
        peaks, widths, notes = [], [], []
        for k in range(d):
            bin_width = 1.0 / (self.shape[k] * spacing[k])
            power = periodogram(forcing, k + 1)
            inverse = 1.0 / self._symbol_power(k, power.numel(), forcing)
            solution = power * inverse
            own = spectral_peaks(power).tolist()
            chosen = spectral_peaks(power, weight=inverse).tolist()
            chosen += [j for j in own if j not in chosen]
            chosen.sort(key=lambda j: -float(solution[j]))
            peaks.append(torch.tensor(chosen, dtype=torch.float64) * bin_width)
            low = torch.nonzero(solution < 1e-2 * solution[0]).reshape(-1)
            low = min(max(int(low[0]) if low.numel() else _PEAK_HALF_WIDTH_BINS, 1),
                      _PEAK_HALF_WIDTH_BINS)
            widths.append([(low if j == 0 else _PEAK_HALF_WIDTH_BINS) * bin_width
                           for j in chosen])
            added = [j for j in chosen if j not in own]
            name, top = p.inputs[k], _per_axis(self.max_freq, d, "max_freq")[k]
            if not chosen:
                notes.append(f"along {name}: no spectral peak below the grid's Nyquist "
                             f"frequency, so 'spread' over [0, max_freq] = [0, {top:g}]")
            elif added:
                why = []
                weak = [f"{j * bin_width:.3g}" for j in added if j]
                if weak:
                    why.append(f"{', '.join(weak)} below 1 % of the forcing's power but at "
                               "least 1 % of the solution's once divided by the operator's "
                               "power there")
                if 0 in added:
                    why.append(f"0 for the band below one period over the domain (components "
                               f"up to {low * bin_width:.3g}), slower than any peak of the "
                               "forcing's periodogram")
                notes.append(f"along {name}: " + ", ".join(f"{j * bin_width:.3g}" for j in chosen)
                             + " -- " + "; ".join(why))
        if notes:
            warnings.warn("gp_spectral: initial frequencies (cycles per unit) "
                          + "; ".join(notes) + ". Pass init='spread' with max_freq to choose "
                          "the band yourself.", UserWarning, stacklevel=5)
        return peaks, widths

    def _zero_backend(self, values=None, operator=None) -> KernelBackend:
        """A float64 backend on the grid; by default U = 0, where every derivative is 0."""
        p = self.problem
        axes = [a.to(torch.float64).to(self.device) for a in self.grid.axes]
        values = values or {o: torch.zeros(self.shape, dtype=torch.float64, device=self.device)
                            for o in p.outputs}
        return KernelBackend(values, axes, operator or (lambda o, k, a: None), p.inputs,
                             p.outputs, p.spatial)

    def _pde_residual(self, backend: KernelBackend) -> Tensor:
        """The PDE residual term(s) on a grid backend, stacked: (terms, *grid shape)."""
        p = self.problem
        unknowns = {k: torch.tensor(u.init, dtype=torch.float64) for k, u in p.unknowns.items()}
        with torch.no_grad(), backend.active():
            terms = p.residual_terms(Fields(backend), unknowns)
        return torch.stack([torch.as_tensor(v, dtype=torch.float64).expand(self.shape)
                            for v in terms.values()])

    def _symbol_power(self, axis: int, n_bins: int, at_zero: Tensor) -> Tensor:
        """Per periodogram bin along `axis`, the power the PDE operator gives a unit Fourier
        mode of that frequency: its residual at U = eps m minus the residual at 0, with
        m = cos(2 pi f x + pi / 4) along the axis (constant along the others) and the
        derivatives of m exact. Measured through the problem's own residual function, so no
        equation needs code of its own; for a nonlinear one it is the linearisation at 0.

        Bin 0 is measured at half a period over the domain (a constant has symbol 0 under
        u'', yet boundary data give the solution that band). The symbol is measured at up to
        _SYMBOL_SAMPLES bins, log-spaced, and interpolated in log-log between them; each
        output is excited in turn and the weakest response counts (for a system, the output
        that the forcing moves most)."""
        n, h = self.shape[axis], float(self.grid.spacing[axis])
        x = self.grid.axes[axis].to(torch.float64).to(self.device)
        bins = torch.unique(torch.cat([torch.zeros(1), torch.logspace(
            0, math.log10(n_bins - 1), _SYMBOL_SAMPLES)]).round().long())
        freq = torch.clamp(torch.arange(n_bins, dtype=torch.float64), min=0.5) / (n * h)
        eps, measured = 1e-3, []
        for f in freq[bins].tolist():
            omega = 2 * math.pi * f
            mode = torch.cos(omega * x + math.pi / 4)
            norm = mode.square().sum()

            def operator(o, k, order):
                if k != axis:                          # the mode is constant along k
                    return torch.zeros(self.shape[k], self.shape[k], dtype=torch.float64,
                                       device=self.device)
                # Rank one, exact on the mode: d^a m = omega^a cos(omega x + pi/4 + a pi/2).
                return torch.outer(omega ** order * torch.cos(omega * x + math.pi / 4
                                                              + order * math.pi / 2),
                                   mode) / norm

            shape = [1] * len(self.shape)
            shape[axis] = n
            field = (eps * mode).reshape(shape).expand(self.shape).contiguous()
            responses = []
            for out in self.problem.outputs:
                values = {o: field if o == out else torch.zeros(self.shape, dtype=torch.float64,
                                                                device=self.device)
                          for o in self.problem.outputs}
                r = self._pde_residual(self._zero_backend(values, operator)) - at_zero
                responses.append(float(r.square().mean()) / (eps ** 2 * 0.5))
            measured.append(min(responses))
        measured = torch.tensor(measured, dtype=torch.float64)
        top = float(measured.max())
        if top == 0:                                   # nothing to weigh by
            return torch.ones(n_bins, dtype=torch.float64, device=at_zero.device)
        log_s = torch.log(measured.clamp_min(1e-12 * top))
        log_f, known = torch.log(freq), torch.log(freq[bins])
        # Piecewise-linear interpolation of log S in log f between the measured bins.
        i = torch.searchsorted(known, log_f).clamp(1, known.numel() - 1)
        t = (log_f - known[i - 1]) / (known[i] - known[i - 1])
        return torch.exp(log_s[i - 1] + t * (log_s[i] - log_s[i - 1])).to(at_zero.device)

    def _setup_conditions(self):
        points = self.grid.points                      # float64 CPU, as conditions expect
        self.terms: list[_Term] = []
        fixed: dict[str, list[tuple[Tensor, Tensor]]] = {}
        for c in self.problem.conditions:
            if c.points_kind == "data":
                if c.hard:
                    raise ValueError(f"gp_spectral: condition {c.name!r} cannot be hard")
                batch = c.sample(1, "uniform", None).to(self.dtype, self.device)
                self.terms.append(_Term(c, batch, None))
                continue
            index, normals = condition_nodes(c, self.grid, self.problem)
            if index.numel() == 0:
                raise ValueError(f"gp_spectral: condition {c.name!r} selects no grid node")
            batch = c.at(points[index], normals)
            if c.hard:
                # Prescribed values at grid nodes: those entries of U are not free.
                fixed.setdefault(c.output, []).append((index, batch.target))
                continue
            self.terms.append(_Term(c, batch.to(self.dtype, self.device),
                                    index.to(self.device)))
        self.fixed = {out: (torch.cat([i for i, _ in parts]).to(self.device),
                            torch.cat([v for _, v in parts]).to(self.dtype).to(self.device))
                      for out, parts in fixed.items()}

    # --- the GP ---------------------------------------------------------------------------------
    def _axis_matrix(self, out: str, axis: int, order: int) -> Tensor:
        """Phi^(order)[i, j] = phi^(order)(x_i - x_j) on the axis' nodes."""
        n = self.shape[axis]
        lags = self.kernels[out][axis].derivative(self._lags[axis], order)
        # Windows of the lag values, w[i, j] = lags[i + j]; reversing j gives lags[i - j + n - 1].
        return lags.unfold(0, n, 1).flip(1)

    def _step(self, free: dict[str, Tensor] | None = None) -> _Step:
        """`free`: trial values of the trained tensors (Z or U) instead of the parameters."""
        kron, values, coefficients = {}, {}, {}
        for out in self.problem.outputs:
            factors = []
            for k, kernel in enumerate(self.kernels[out]):
                K = self._axis_matrix(out, k, 0)
                eye = torch.eye(K.shape[0], dtype=K.dtype, device=K.device)
                factors.append(K + (self.jitter * kernel.variance()) * eye)
            kron[out] = KronCholesky(factors)
            U = self.values[out] if free is None else free[out]
            if self.parametrization == "whitened":
                U = kron[out].lower_matvec(U)
            if out in self.fixed:
                idx, val = self.fixed[out]
                U = U.reshape(-1).index_put((idx,), val).reshape(self.shape)
            values[out] = U
            coefficients[out] = kron[out].solve(U)
        return _Step(kron, values, coefficients)

    def _backend(self, step: _Step) -> KernelBackend:
        # d^a/dx_k^a at the nodes is Phi_k^(a) K_k^-1 along axis k: Phi acts on U solved
        # along the differentiated axes only (the identity K_k K_k^-1 along the others).
        def operator(out, axis, order):
            key = (out, axis, order)
            if key not in step.operators:
                step.operators[key] = self._axis_matrix(out, axis, order)
            return step.operators[key]

        def basis(out, axes):
            key = (out, axes)
            if key not in step.bases:
                step.bases[key] = (step.coefficients[out] if len(axes) == len(self.shape)
                                   else step.kron[out].solve(step.values[out], axes))
            return step.bases[key]

        p = self.problem
        return KernelBackend(step.values, self.axes, operator, p.inputs, p.outputs, p.spatial,
                           basis=basis)

    def _rows(self, out: str, axis: int, order: int, x: Tensor) -> Tensor:
        """(P, n_axis): d^order/dx^order k_axis(x_p, node_j), each distinct x_p once."""
        unique, inverse = torch.unique(x, return_inverse=True)
        kernel, nodes = self.kernels[out][axis], self.axes[axis]
        size = max(1, _CHUNK_ELEMENTS // (nodes.numel() * kernel.freq.numel()))
        table = torch.cat([kernel.derivative(u[:, None] - nodes[None, :], order)
                           for u in torch.split(unique, size)])
        return table[inverse]

    def _row_backend(self, step: _Step, points: Tensor) -> RowBackend:
        p = self.problem
        return RowBackend(points, step.coefficients, self._rows, p.inputs, p.outputs, p.spatial)

    # --- objective ------------------------------------------------------------------------------
    def unknown_tensors(self) -> dict[str, Tensor]:
        return {k: self.problem.unknowns[k].value(v) for k, v in self.unknowns.items()}

    def unknown_values(self) -> dict[str, float]:
        return {k: float(v.detach()) for k, v in self.unknown_tensors().items()}

    def residuals(self, step: _Step | None = None) -> dict[str, Tensor]:
        """Every residual as a flat tensor: the PDE term(s) at all grid nodes, then conditions."""
        step = step or self._step()
        on_grid = self._backend(step)
        with on_grid.active():
            pde = self.problem.residual_terms(Fields(on_grid), self.unknown_tensors())
        out = {k: torch.as_tensor(v).expand(self.shape).reshape(-1) for k, v in pde.items()}
        for t in self.terms:
            backend = (NodeBackend(on_grid, t.index) if t.index is not None
                       else self._row_backend(step, t.batch.points))
            with backend.active():
                r = t.condition.residual(Fields(backend), t.batch)
            out[t.condition.name] = torch.as_tensor(r).reshape(-1)
        return out

    def weight(self, term: str, count: int) -> float:
        if term in self.weights:
            return self.weights[term]
        condition = next((t.condition for t in self.terms if t.condition.name == term), None)
        if condition is None:                            # a PDE term
            return self.weights.get("pde", 1.0)
        return condition.weight * len(self.grid) / count

    def loss(self):
        try:
            step = self._step()
        except torch.linalg.LinAlgError:
            # A trial point of a line search can make a kernel matrix indefinite (a huge
            # length scale at frequency 0): a non-finite loss makes L-BFGS step back, and
            # first-order stages stop with the trainer's divergence message.
            nan = torch.full((), math.nan, dtype=self.dtype, device=self.device)
            return nan + 0 * sum(p.sum() for p in self.parameters()), {}
        total = sum(0.5 * (step.kron[o].quad(step.values[o]) + step.kron[o].logdet())
                    for o in self.problem.outputs)
        terms = {}
        for name, r in self.residuals(step).items():
            sq, n = r.square().sum(), r.numel()
            log_tau = self.log_precision[name]
            nll = 0.5 * log_tau.exp() * sq - 0.5 * n * log_tau
            total = total + self.weight(name, n) * nll
            terms[name] = sq.detach() / n
        # Per grid node, so that the size of the loss does not grow with the grid.
        return total / len(self.grid), terms

    def parameters(self):
        return [p for p in self.module.parameters() if p.requires_grad]

    # --- predictions ----------------------------------------------------------------------------
    def predict(self, points: Tensor) -> Tensor:
        """The posterior mean k(x, X) K^-1 vec(U) at points (N, d)."""
        points = points.to(self.dtype).to(self.device)
        outs, d = self.problem.outputs, len(self.shape)
        with torch.no_grad():
            step = self._step()
            # A test grid has few distinct coordinates per axis: compute those kernel rows once
            # and gather them chunk by chunk (scattered points: per chunk).
            distinct = [torch.unique(points[:, k], return_inverse=True) for k in range(d)]
            if all(u.numel() * n <= _CHUNK_ELEMENTS for (u, _), n in zip(distinct, self.shape)):
                tables = {(o, k): self._rows(o, k, 0, distinct[k][0])
                          for o in outs for k in range(d)}

                def rows(o, k, idx):
                    return tables[o, k][distinct[k][1][idx]]
            else:
                def rows(o, k, idx):
                    return self._rows(o, k, 0, points[idx, k])
            size = max(1, _CHUNK_ELEMENTS // max(math.prod(self.shape[1:]), max(self.shape)))
            out = [torch.stack([kron_rows([rows(o, k, idx) for k in range(d)],
                                          step.coefficients[o]) for o in outs], 1)
                   for idx in torch.split(torch.arange(points.shape[0], device=self.device),
                                          size)]
        return torch.cat(out).to(torch.float64).cpu()

    def fields(self, points: Tensor) -> Fields:
        """Fields and derivatives of the posterior mean at given points (post-processing)."""
        with torch.no_grad():
            step = self._step()
        return Fields(self._row_backend(step, points.to(self.dtype).to(self.device)))

    def spectrum(self) -> dict[str, list[dict[str, Tensor]]]:
        """Per output and input axis: the mixture's weights, frequencies and length scales."""
        return {out: [dict(zip(("weight", "freq", "lengthscale"), k.spectrum()))
                      for k in kernels] for out, kernels in self.kernels.items()}

    # --- checkpoints ----------------------------------------------------------------------------
    def state_dict(self):
        return {"module": self.module.state_dict()}

    def load_state_dict(self, state):
        self.module.load_state_dict(state["module"])
