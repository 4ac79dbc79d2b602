"""Kronecker algebra against dense computation on small grids."""
import pytest
import torch

from physolve.pde.kron import KronCholesky, KronEigh, dense_kron, kron_matvec, kron_rows


def spd(n, seed):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(n, n, generator=g, dtype=torch.float64)
    return A @ A.T + n * torch.eye(n, dtype=torch.float64)


SHAPES = [(7,), (4, 5), (3, 4, 2)]


@pytest.mark.parametrize("shape", SHAPES)
def test_matvec_matches_dense(shape):
    g = torch.Generator().manual_seed(0)
    mats = [torch.randn(n + 1, n, generator=g, dtype=torch.float64) for n in shape]
    X = torch.randn(shape, generator=g, dtype=torch.float64)
    out = kron_matvec(mats, X)
    assert out.shape == tuple(n + 1 for n in shape)
    torch.testing.assert_close(out.reshape(-1), dense_kron(mats) @ X.reshape(-1))


def test_matvec_identity_factors():
    g = torch.Generator().manual_seed(1)
    A = torch.randn(4, 4, generator=g, dtype=torch.float64)
    X = torch.randn(4, 3, generator=g, dtype=torch.float64)
    dense = torch.kron(A, torch.eye(3, dtype=torch.float64))
    torch.testing.assert_close(kron_matvec([A, None], X).reshape(-1), dense @ X.reshape(-1))


@pytest.mark.parametrize("shape", SHAPES)
def test_rows_match_dense(shape):
    g = torch.Generator().manual_seed(2)
    rows = [torch.randn(6, n, generator=g, dtype=torch.float64) for n in shape]
    X = torch.randn(shape, generator=g, dtype=torch.float64)
    expected = torch.stack([dense_kron([R[p:p + 1] for R in rows]) @ X.reshape(-1)
                            for p in range(6)]).reshape(-1)
    torch.testing.assert_close(kron_rows(rows, X), expected)


@pytest.mark.parametrize("shape", SHAPES)
def test_cholesky_solve_logdet_quad(shape):
    factors = [spd(n, 10 + k) for k, n in enumerate(shape)]
    K = dense_kron(factors)
    X = torch.randn(shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    kc = KronCholesky(factors)
    torch.testing.assert_close(kc.solve(X).reshape(-1), torch.linalg.solve(K, X.reshape(-1)))
    torch.testing.assert_close(kc.logdet(), torch.logdet(K))
    torch.testing.assert_close(kc.quad(X), X.reshape(-1) @ torch.linalg.solve(K, X.reshape(-1)))
    L = torch.linalg.cholesky(K)
    torch.testing.assert_close(kc.lower_matvec(X).reshape(-1), L @ X.reshape(-1))


def test_partial_solve_inverts_only_chosen_axes():
    factors = [spd(4, 20), spd(3, 21)]
    X = torch.randn(4, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    dense = dense_kron([torch.linalg.inv(factors[0]), torch.eye(3, dtype=torch.float64)])
    out = KronCholesky(factors).solve(X, axes=(0,))
    torch.testing.assert_close(out.reshape(-1), dense @ X.reshape(-1))


def test_cholesky_gradients_match_dense():
    a, b = spd(3, 30).requires_grad_(), spd(4, 31).requires_grad_()
    X = torch.randn(3, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    kc = KronCholesky([a, b])
    ga = torch.autograd.grad(kc.quad(X) + kc.logdet(), [a, b])
    K = torch.kron(a, b)
    x = X.reshape(-1)
    gd = torch.autograd.grad(x @ torch.linalg.solve(K, x) + torch.logdet(K), [a, b])
    for u, v in zip(ga, gd):
        torch.testing.assert_close(u, v)


def test_not_positive_definite_is_reported():
    bad = -torch.eye(3, dtype=torch.float64)
    with pytest.raises(torch.linalg.LinAlgError, match="axis-1 kernel matrix"):
        KronCholesky([spd(2, 0), bad])


@pytest.mark.parametrize("shift", [0.0, 0.3])
def test_eigh_solve_and_logdet_with_shift(shift):
    factors = [spd(3, 40), spd(4, 41), spd(2, 42)]
    K = dense_kron(factors) + shift * torch.eye(24, dtype=torch.float64)
    X = torch.randn(3, 4, 2, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    ke = KronEigh(factors)
    torch.testing.assert_close(ke.solve(X, shift).reshape(-1),
                               torch.linalg.solve(K, X.reshape(-1)))
    torch.testing.assert_close(ke.logdet(shift), torch.logdet(K))
