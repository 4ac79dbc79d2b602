"""Reference solutions that metrics are computed against.

- `Analytic`: a closed-form solution, evaluated on a test grid over the domain.
- `ReferenceData`: values at given nodes (e.g. a finite-element solution).
- `burgers_exact`: the viscous Burgers solution by the Cole-Hopf transform, float64 quadrature.
- `load_pinnacle`: the COMSOL reference files of the PINNacle benchmark.
"""
from __future__ import annotations

import inspect
import math
import re
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from .functions import as_points

DEFAULT_TEST_POINTS = 20_000


class Reference:
    """Points and reference values of (some of) the problem's outputs."""

    def __init__(self, outputs: str | Sequence[str] | None = None):
        self._outputs = outputs.split() if isinstance(outputs, str) else outputs
        self.problem = None

    def bind(self, problem) -> None:
        self.problem = problem
        outs = tuple(self._outputs) if self._outputs is not None else problem.outputs
        bad = [o for o in outs if o not in problem.outputs]
        if bad:
            raise ValueError(f"reference outputs {bad} are not outputs of the problem "
                             f"{problem.outputs}")
        self.outputs = outs
        self.output_index = [problem.outputs.index(o) for o in outs]

    def points(self) -> torch.Tensor:
        """The test points (float64, (N, d))."""
        raise NotImplementedError

    def values(self) -> torch.Tensor:
        """Reference values at the test points (float64, (N, len(outputs)))."""
        raise NotImplementedError

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has values only at its own nodes")


def _as_columns(out, n_outputs: int, n_points: int) -> torch.Tensor:
    if isinstance(out, Mapping):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        out = torch.stack([torch.as_tensor(np.asarray(o, dtype=np.float64)
                                           if not torch.is_tensor(o) else o).reshape(-1)
                           for o in out], dim=1)
    out = torch.as_tensor(out).to(torch.float64)
    out = out.reshape(n_points, -1)
    if out.shape[1] != n_outputs:
        raise ValueError(f"reference returned {out.shape[1]} columns for {n_outputs} outputs")
    return out


class Analytic(Reference):
    """A closed-form solution `fn(**coordinates)`, one tensor per output (tuple or dict for
    several). Test points: a grid over the domain's bounding box, `resolution` points per axis
    (default: about 20 000 in all), keeping those inside the domain; or explicit `points`."""

    def __init__(self, fn: Callable, resolution: int | Sequence[int] | None = None,
                 points=None, outputs=None):
        super().__init__(outputs)
        self.fn = fn
        self.resolution = resolution
        self._points_spec = points
        self._points = self._values = None

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        points = points.to(torch.float64)
        coords = {n: points[:, i] for i, n in enumerate(self.problem.inputs)}
        params = inspect.signature(self.fn).parameters
        if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            coords = {k: v for k, v in coords.items() if k in params}
        return _as_columns(self.fn(**coords), len(self.outputs), points.shape[0])

    def points(self) -> torch.Tensor:
        if self._points is None:
            if self._points_spec is not None:
                self._points = as_points(self._points_spec, self.problem.inputs, "reference points")
            else:
                self._points = test_grid(self.problem.domain, self.resolution)
        return self._points

    def values(self) -> torch.Tensor:
        if self._values is None:
            self._values = self(self.points())
        return self._values


def test_grid(domain, resolution=None) -> torch.Tensor:
    """A tensor grid over the domain's bounding box (endpoints included), inside points only."""
    lo, hi = (torch.as_tensor(b, dtype=torch.float64) for b in domain.bbox)
    d = lo.numel()
    if resolution is None:
        resolution = max(2, round(DEFAULT_TEST_POINTS ** (1 / d)))
    res = [resolution] * d if isinstance(resolution, int) else list(resolution)
    if len(res) != d:
        raise ValueError(f"resolution needs {d} entries, got {res}")
    axes = [torch.linspace(float(lo[i]), float(hi[i]), res[i], dtype=torch.float64)
            for i in range(d)]
    pts = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, d)
    return pts[domain.contains(pts, tol=1e-12)]


class ReferenceData(Reference):
    """Reference values at given nodes: `points` (N, d) or dict of coordinates, `values` (N,)
    or (N, number of outputs)."""

    def __init__(self, points, values, outputs=None):
        super().__init__(outputs)
        self._raw_points = points
        self._values = torch.as_tensor(np.asarray(values, dtype=np.float64))

    def bind(self, problem):
        super().bind(problem)
        self._points = as_points(self._raw_points, problem.inputs, "reference points")
        self._values = self._values.reshape(self._points.shape[0], -1)
        if self._values.shape[1] != len(self.outputs):
            raise ValueError(f"reference has {self._values.shape[1]} value columns for outputs "
                             f"{self.outputs}")

    def points(self):
        return self._points

    def values(self):
        return self._values


class Solved(Reference):
    """Reference values from a classical solver, run on first use (problems are built often,
    compared rarely): `make()` returns (points (N, d), values (N,) or (N, outputs))."""

    def __init__(self, make: Callable, outputs=None):
        super().__init__(outputs)
        self._make = make
        self._data = None

    def _load(self):
        if self._data is None:
            points, values = self._make()
            data = ReferenceData(points, values, self._outputs)
            data.bind(self.problem)
            self._data = data
        return self._data

    def points(self):
        return self._load().points()

    def values(self):
        return self._load().values()


# --- Burgers: the Cole-Hopf solution ------------------------------------------------------

def burgers_cole_hopf(x: np.ndarray, t: np.ndarray, nu: float, dz: float = 0.01,
                      z_max: float = 14.0, chunk: int = 2048) -> np.ndarray:
    """u(x, t) for u_t + u u_x = nu u_xx, u(x, 0) = -sin(pi x), u(+-1, t) = 0.

    Cole-Hopf: u = -2 nu (log theta)_x with theta the heat solution started from
    exp(-cos(pi x) / (2 pi nu)). Writing the convolution with eta = 2 sqrt(nu t) z,

        u = -int sin(pi (x - eta)) F(x - eta) e^{-z^2} dz / int F(x - eta) e^{-z^2} dz,
        F(y) = exp(-cos(pi y) / (2 pi nu)),

    evaluated by the trapezoidal rule in z (spectrally accurate for these rapidly decaying
    smooth integrands) with the largest exponent factored out, since F spans e^{+-1/(2 pi nu)}.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    if x.shape != t.shape:
        raise ValueError("x and t must have the same number of points")
    if np.any(t < 0):
        raise ValueError("the Cole-Hopf solution is defined for t >= 0")
    z = np.arange(-z_max, z_max + dz / 2, dz)
    out = np.empty_like(x)
    for s in range(0, x.size, chunk):
        xs, ts = x[s:s + chunk, None], t[s:s + chunk, None]
        y = xs - 2.0 * np.sqrt(nu * ts) * z[None, :]
        expo = -z[None, :] ** 2 - np.cos(np.pi * y) / (2.0 * np.pi * nu)
        w = np.exp(expo - expo.max(axis=1, keepdims=True))
        out[s:s + chunk] = -(np.sin(np.pi * y) * w).sum(1) / w.sum(1)
    return out


def burgers_exact(nu: float = 0.01 / math.pi, nx: int = 256, nt: int = 101) -> Analytic:
    """Reference for the Burgers benchmark on x in [-1, 1], t in [0, 1], on an nx x nt grid."""
    x = np.linspace(-1.0, 1.0, nx)
    t = np.linspace(0.0, 1.0, nt)
    X, T = np.meshgrid(x, t, indexing="ij")

    def solution(x, t):
        return torch.as_tensor(burgers_cole_hopf(x.cpu().numpy(), t.cpu().numpy(), nu))

    return Analytic(solution, points=np.stack([X.ravel(), T.ravel()], axis=1))


# --- PINNacle COMSOL files ----------------------------------------------------------------

def read_comsol_table(path: str | Path) -> tuple[list[str], np.ndarray]:
    """The column header (last '%' line) and the numeric rows of a COMSOL text export."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no reference file at {path}")
    header, rows = [], []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("%"):
                header = line
                continue
            if line.strip():
                rows.append([float(v) for v in line.split()])
    data = np.asarray(rows, dtype=np.float64)
    # Column names are separated by two or more spaces ("u (1) @ t=0.1").
    names = [c for c in re.split(r"\s{2,}", header.lstrip("%").strip()) if c]
    if data.ndim != 2 or data.shape[1] != len(names):
        raise ValueError(f"{path}: {len(names)} column names but rows of "
                         f"{data.shape[1] if data.ndim == 2 else '?'} values")
    return names, data


def load_pinnacle(path: str | Path, outputs=None) -> ReferenceData:
    """A PINNacle reference file as ReferenceData.

    Spatial files (columns x, y, u) give points and values directly. Time series files
    (columns x, then u at t=... for each time, as burgers1d.dat) become one (x, t) point per
    node and time.
    """
    names, data = read_comsol_table(path)
    times = [re.search(r"@\s*t=([-+0-9.eE]+)", n) for n in names]
    if any(times):
        first = next(i for i, m in enumerate(times) if m)
        t = np.array([float(m.group(1)) for m in times[first:]])
        space = data[:, :first]
        values = data[:, first:]                      # (nodes, times)
        n_nodes, n_t = values.shape
        pts = np.concatenate([np.repeat(space, n_t, axis=0), np.tile(t, n_nodes)[:, None]], 1)
        return ReferenceData(pts, values.reshape(-1), outputs)
    n_space = sum(1 for n in names if n.strip().upper() in ("X", "Y", "Z"))
    return ReferenceData(data[:, :n_space], data[:, n_space:], outputs)
