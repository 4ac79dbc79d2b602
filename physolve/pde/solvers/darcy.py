"""Darcy flow -div(a grad u) = f on the unit square, u = 0 on the boundary, by finite differences.

The unknowns are the n x n interior nodes x_i = i h (i = 1..n, h = 1 / (n + 1)) of a uniform
mesh whose outer ring of nodes is the boundary, where u = 0. The flux through the face between two
nodes uses the harmonic mean of the coefficient at those nodes,

    a_{i+1/2} = 2 a_i a_{i+1} / (a_i + a_{i+1}),

which is the exact face coefficient of a one-dimensional layered medium: it keeps the scheme
conservative and accurate across the jumps of a piecewise-constant a (thresholded random fields)
where the arithmetic mean over-estimates the flux. The coefficient is known at the interior nodes
only, so a face next to the boundary takes the coefficient of its interior node. For smooth a and
u the scheme is second-order accurate in h (tests/test_darcy_solver.py). The five-point matrix is
symmetric positive definite; it is factorised by a sparse direct solver (SuperLU).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla


def _face_coefficients(a: np.ndarray, axis: int) -> np.ndarray:
    """Coefficients on the n + 1 faces along `axis` (harmonic means inside, one-sided at the
    two boundary faces)."""
    a = np.moveaxis(a, axis, 0)
    inner = 2.0 * a[:-1] * a[1:] / (a[:-1] + a[1:])
    return np.moveaxis(np.concatenate([a[:1], inner, a[-1:]], axis=0), 0, axis)


def darcy_matrix(a: np.ndarray) -> sp.csc_matrix:
    """The matrix of -div(a grad .) h^2 on the n x n interior nodes (C order, x along axis 0)."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 2:
        raise ValueError(f"a must be a square (n, n) array of nodal values with n >= 2, "
                         f"got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError("a must be finite and positive at every node")
    n = a.shape[0]
    ax, ay = _face_coefficients(a, 0), _face_coefficients(a, 1)   # (n+1, n), (n, n+1)
    diag = ax[:-1, :] + ax[1:, :] + ay[:, :-1] + ay[:, 1:]
    index = np.arange(n * n).reshape(n, n)
    rows = [index.ravel()]
    cols = [index.ravel()]
    vals = [diag.ravel()]
    # couplings between neighbours along x (axis 0) and y (axis 1): minus the face coefficient
    for lo, hi, face in ((index[:-1, :], index[1:, :], ax[1:-1, :]),
                         (index[:, :-1], index[:, 1:], ay[:, 1:-1])):
        rows += [lo.ravel(), hi.ravel()]
        cols += [hi.ravel(), lo.ravel()]
        vals += [-face.ravel(), -face.ravel()]
    return sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n * n, n * n))


def solve_darcy(a: np.ndarray, f=1.0) -> np.ndarray:
    """u at the n x n interior nodes for -div(a grad u) = f, u = 0 on the boundary of [0, 1]^2.

    `a` and `f` are values at the interior nodes ((n, n) arrays; f may be a constant).
    """
    a = np.asarray(a, dtype=np.float64)
    n = a.shape[0] if a.ndim == 2 else -1
    matrix = darcy_matrix(a)
    h = 1.0 / (n + 1)
    rhs = np.broadcast_to(np.asarray(f, dtype=np.float64), a.shape) * h * h
    return spla.spsolve(matrix, rhs.ravel()).reshape(n, n)
