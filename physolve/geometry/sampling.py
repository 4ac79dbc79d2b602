"""Points in the unit cube [0, 1)^d, and rejection sampling built on them.

Every geometry draws its random points here: a domain maps unit-cube points onto itself (a box
affinely, a sphere by an area-preserving map) or keeps the mapped candidates it contains.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable

import numpy as np
import torch
from torch import Tensor

SAMPLING_METHODS = ("uniform", "sobol", "halton", "lhs", "grid")

Seed = int | np.random.SeedSequence | None


def check_method(method: str) -> str:
    if method not in SAMPLING_METHODS:
        raise ValueError(f"method must be one of {SAMPLING_METHODS}, got {method!r}")
    return method


def check_count(n, what: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {n!r}")
    return int(n)


def grid_points(k: int, d: int) -> Tensor:
    """The k^d centres of a regular grid of cells on [0, 1)^d, in C order.

    Cell centres rather than endpoints: they stay inside open parameter ranges, so faces that
    share an edge never receive the same point twice and the Gaussian sphere map stays finite.
    """
    axis = (torch.arange(k, dtype=torch.float64) + 0.5) / k
    mesh = torch.meshgrid(*([axis] * d), indexing="ij")
    return torch.stack(mesh, -1).reshape(-1, d)


class UnitCubeStream:
    """A reproducible stream of points in [0, 1)^d: successive draws continue one sequence.

    Rejection sampling draws several batches; continuing the Sobol/Halton sequence (rather than
    restarting it) keeps the accepted points low-discrepancy and distinct.
    """

    def __init__(self, d: int, method: str = "uniform", seed: Seed = None):
        self.d, self.method = d, check_method(method)
        spawn_seeds(seed, 0)  # validates the seed
        self._rng = np.random.default_rng(seed)
        self._engine = None
        if method in ("sobol", "halton", "lhs") and d > 0:
            # Imported here: scipy.stats costs about a second to import.
            from scipy.stats import qmc

            cls = {"sobol": qmc.Sobol, "halton": qmc.Halton, "lhs": qmc.LatinHypercube}[method]
            try:
                self._engine = cls(d, scramble=True, rng=self._rng)
            except TypeError:  # scipy < 1.15 calls the generator `seed`
                self._engine = cls(d, scramble=True, seed=self._rng)

    def draw(self, n: int) -> Tensor:
        if self.method == "grid":
            raise ValueError("a grid is not a stream; use unit_cube(n, d, 'grid')")
        if self.d == 0:
            return torch.zeros(n, 0, dtype=torch.float64)
        if self._engine is None:
            u = self._rng.random((n, self.d))
        else:
            with warnings.catch_warnings():
                # Sobol warns when n is not a power of 2 (balance properties); callers that need
                # exactly n points accept that, so the warning is silenced here only.
                warnings.filterwarnings("ignore", message=".*balance properties.*")
                u = self._engine.random(n)
        return torch.from_numpy(np.ascontiguousarray(u, dtype=np.float64))


def spawn_seeds(seed: Seed, k: int) -> list[np.random.SeedSequence]:
    """k independent child seeds of `seed`, one per stream (e.g. per boundary face)."""
    if not (seed is None or isinstance(seed, np.random.SeedSequence)
            or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0)):
        raise ValueError(f"seed must be None or a non-negative integer, got {seed!r}")
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return root.spawn(k)


def unit_cube(n: int, d: int, method: str = "uniform", seed: Seed = None) -> Tensor:
    """n points in [0, 1)^d, float64, shape (n, d).

    uniform: numpy's default_rng(seed); sobol, halton: scrambled sequences seeded by `seed`;
    lhs: a Latin hypercube. grid: the centres of ceil(n^(1/d)) cells per axis, so it returns
    ceil(n^(1/d))^d >= n points (exactly n when n is a d-th power), the same for every seed.
    The same seed gives the same points; seed=None draws fresh entropy.
    """
    n, method = check_count(n), check_method(method)
    if method == "grid" and d > 0:
        return grid_points(math.ceil(n ** (1.0 / d) - 1e-9) if n else 0, d)
    return UnitCubeStream(d, "uniform" if method == "grid" else method, seed).draw(n)


def rejection_sample(
    n: int,
    d: int,
    method: str,
    seed: Seed,
    propose: Callable[[Tensor], Tensor],
    accept: Callable[[Tensor], Tensor] | None = None,
    rate: float = 1.0,
    max_candidates: int = 2**24,
) -> Tensor:
    """The first n of the points propose(u) (u from the unit cube) that `accept` keeps.

    `rate` is the expected acceptance rate; it sizes the batches. For method="grid" there is
    no stream to continue: the grid is refined so that about n of its points are accepted, and
    all of those are returned (approximately n).
    """
    if accept is None:
        return propose(unit_cube(n, d, method, seed))
    if n == 0:
        return propose(torch.zeros(0, d, dtype=torch.float64))
    if rate <= 0:
        raise ValueError("the sampled set has zero measure: nothing can be accepted")
    if method == "grid":
        k = math.ceil((n / rate) ** (1.0 / max(d, 1)) - 1e-9)
        x = propose(grid_points(k, d) if d else torch.zeros(n, 0, dtype=torch.float64))
        return x[accept(x)]
    stream = UnitCubeStream(d, method, seed)
    kept, count, drawn, est = [], 0, 0, rate
    while count < n:
        if drawn >= max_candidates:
            raise ValueError(f"rejection sampling accepted only {count} of {drawn} candidates "
                             f"(n={n} requested): the selected set is (nearly) empty")
        # Powers of 2 keep a Sobol sequence balanced across batches.
        m = 1 << min(20, math.ceil(math.log2(1.1 * (n - count) / est + 16)))
        x = propose(stream.draw(m))
        x = x[accept(x)]
        kept.append(x)
        count += len(x)
        drawn += m
        est = max(count / drawn, 1e-3)
    return torch.cat(kept)[:n]


def allocate(n: int, weights: list[float]) -> list[int]:
    """Split n into integers proportional to `weights` (largest remainder), summing to n."""
    total = float(sum(weights))
    if total <= 0:
        raise ValueError("cannot allocate points: every selected part has zero measure")
    exact = [n * w / total for w in weights]
    counts = [math.floor(e) for e in exact]
    order = sorted(range(len(weights)), key=lambda i: counts[i] - exact[i])
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def acceptance_rate(d: int, propose: Callable[[Tensor], Tensor],
                    accept: Callable[[Tensor], Tensor], n: int = 2**14) -> float:
    """Fraction of propose(u) accepted, u the first n points of a Sobol sequence with seed 0.

    Deterministic on purpose: volumes and boundary measures of CSG domains are estimated once
    and must not change between calls.
    """
    u = UnitCubeStream(d, "sobol", seed=0).draw(n if d else 1)
    return float(accept(propose(u)).double().mean())
