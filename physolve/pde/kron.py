"""Kronecker-product algebra on tensor-product grids, without forming the product.

Values on a grid of shape (n_1, ..., n_d) are a tensor X of that shape; its flattening in C
order (the `Grid` convention) is vec(X). For per-axis matrices A_k,

    (A_1 kron ... kron A_d) vec(X) = vec(X x_1 A_1 x_2 ... x_d A_d),

where x_k multiplies along axis k. So a product of d matrices costs d small matrix products
instead of one (prod n_k)^2 matrix: for a 200 x 200 grid, two 200 x 200 factors (640 kB)
instead of a 40000 x 40000 matrix (12.8 GB). Solves and log-determinants follow from per-axis
Cholesky factors (K = kron K_k, so K^-1 = kron K_k^-1 and
log|K| = sum_k (N / n_k) log|K_k|) or per-axis eigendecompositions, which also give
(kron K_k + s I)^-1 for a shift s.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor


def apply_along(A: Tensor, X: Tensor, axis: int) -> Tensor:
    """Multiply every fibre of X along `axis` by A: (m, n) and (..., n, ...) -> (..., m, ...)."""
    return torch.movedim(torch.tensordot(A, X, dims=([1], [axis])), 0, axis)


def kron_matvec(mats: Sequence[Tensor | None], X: Tensor) -> Tensor:
    """(A_1 kron ... kron A_d) vec(X) as a tensor; a None factor is the identity."""
    if len(mats) != X.ndim:
        raise ValueError(f"kron_matvec: {len(mats)} factors for a tensor with {X.ndim} axes")
    for axis, A in enumerate(mats):
        if A is not None:
            X = apply_along(A, X, axis)
    return X


def kron_rows(rows: Sequence[Tensor], X: Tensor) -> Tensor:
    """Row-wise Kronecker products against X: out[p] = (R_1[p] kron ... kron R_d[p]) . vec(X).

    This is how a product kernel evaluates at scattered points: R_k[p] holds the axis-k
    kernel (or kernel derivative) between point p and the grid's axis-k nodes. Memory is
    P * n_2 * ... * n_d for P points; callers split P into chunks.
    """
    if len(rows) != X.ndim:
        raise ValueError(f"kron_rows: {len(rows)} factors for a tensor with {X.ndim} axes")
    out = torch.tensordot(rows[0], X, dims=([1], [0]))          # (P, n_2, ..., n_d)
    for R in rows[1:]:
        out = torch.einsum("pj...,pj->p...", out, R)
    return out


def dense_kron(mats: Sequence[Tensor]) -> Tensor:
    """The full Kronecker product; for tests and tiny grids only."""
    out = mats[0].contiguous()
    for A in mats[1:]:
        out = torch.kron(out, A.contiguous())  # torch.kron fails on some strided inputs
    return out


class KronCholesky:
    """K = K_1 kron ... kron K_d from the Cholesky factors of its positive definite factors.

    Everything is differentiable by autograd (Cholesky's backward is stable where the
    eigendecomposition's is not: kernel matrices have clusters of nearly equal eigenvalues).
    """

    def __init__(self, factors: Sequence[Tensor]):
        self.factors = list(factors)
        self.chol = []
        for k, K in enumerate(self.factors):
            L, info = torch.linalg.cholesky_ex(K)
            if int(info) != 0:
                raise torch.linalg.LinAlgError(
                    f"the axis-{k} kernel matrix is not positive definite (Cholesky failed at "
                    f"column {int(info)}); raise the jitter or use float64")
            self.chol.append(L)
        self.shape = tuple(K.shape[0] for K in self.factors)

    def solve(self, X: Tensor, axes: Sequence[int] | None = None) -> Tensor:
        """K^-1 vec(X), as a tensor of the grid's shape; with `axes`, only those factors are
        inverted (the identity acts along the other axes)."""
        for axis in range(len(self.chol)) if axes is None else axes:
            L = self.chol[axis]
            Y = torch.movedim(X, axis, 0)
            flat = torch.cholesky_solve(Y.reshape(Y.shape[0], -1), L)
            X = torch.movedim(flat.reshape(Y.shape), 0, axis)
        return X

    def lower_matvec(self, X: Tensor) -> Tensor:
        """(L_1 kron ... kron L_d) vec(X): maps white noise to a sample of N(0, K)."""
        return kron_matvec(self.chol, X)

    def logdet(self) -> Tensor:
        N = math.prod(self.shape)
        return sum((N // n) * 2.0 * torch.log(torch.diagonal(L)).sum()
                   for n, L in zip(self.shape, self.chol))

    def quad(self, X: Tensor) -> Tensor:
        """vec(X)^T K^-1 vec(X)."""
        return (X * self.solve(X)).sum()


class KronEigh:
    """K = K_1 kron ... kron K_d from per-axis eigendecompositions K_k = Q_k diag(l_k) Q_k^T.

    The eigenvalues of K are the outer products of the l_k and its eigenvectors kron Q_k, so
    (K + s I)^-1 and log|K + s I| cost no more than K^-1 -- the shift a Cholesky per axis
    cannot take. Prefer KronCholesky under autograd: the eigendecomposition's backward divides
    by eigenvalue gaps.
    """

    def __init__(self, factors: Sequence[Tensor]):
        pairs = [torch.linalg.eigh(K) for K in factors]
        self.values = [p.eigenvalues for p in pairs]
        self.vectors = [p.eigenvectors for p in pairs]
        self.shape = tuple(v.shape[0] for v in self.values)

    def eigenvalues(self) -> Tensor:
        """All eigenvalues of K as a tensor of the grid's shape."""
        out = self.values[0]
        for v in self.values[1:]:
            out = out[..., None] * v
        return out

    def solve(self, X: Tensor, shift: float = 0.0) -> Tensor:
        """(K + shift I)^-1 vec(X), as a tensor of the grid's shape."""
        Z = kron_matvec([Q.transpose(0, 1) for Q in self.vectors], X)
        return kron_matvec(self.vectors, Z / (self.eigenvalues() + shift))

    def logdet(self, shift: float = 0.0) -> Tensor:
        return torch.log(self.eigenvalues() + shift).sum()
