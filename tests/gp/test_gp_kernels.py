"""Spectral mixture kernels: closed-form derivatives against finite differences."""
import math

import pytest
import torch

from physolve.models.gp_kernels import SpectralMixture, _matern_polynomial

CASES = [("student_t", 1.5), ("student_t", 2.5), ("student_t", 3.5), ("gaussian", 2.5)]


def kernel(envelope, nu):
    k = SpectralMixture(4, 3.0, 0.6, envelope, nu)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        k.log_lengthscale.add_(0.3 * torch.randn(4, generator=g, dtype=torch.float64))
        k.log_weight.add_(torch.randn(4, generator=g, dtype=torch.float64))
    return k


@pytest.mark.parametrize("envelope,nu", CASES)
def test_derivatives_match_finite_differences(envelope, nu):
    """phi^(a+1) = d/dr phi^(a) by central differences, away from r = 0 and at r = 0 itself
    (the diagonal x = y of the kernel matrix), for every order the kernel has."""
    k = kernel(envelope, nu)
    top = k.max_order or 6
    r = torch.tensor([-0.9, -0.31, -0.02, 0.0, 0.013, 0.4, 1.3], dtype=torch.float64)
    h = 1e-5
    with torch.no_grad():
        for a in range(top):
            # A Matern envelope's phi^(top) has a kink at 0, so differences of phi^(top - 1)
            # across 0 are first-order accurate only: hence the tolerance.
            fd = (k.derivative(r + h, a) - k.derivative(r - h, a)) / (2 * h)
            exact = k.derivative(r, a + 1)
            scale = exact.abs().max()
            torch.testing.assert_close(fd / scale, exact / scale, atol=1e-5, rtol=0)


@pytest.mark.parametrize("envelope,nu", CASES)
def test_kernel_is_even_and_odd_derivatives_vanish_on_the_diagonal(envelope, nu):
    k = kernel(envelope, nu)
    r = torch.tensor([0.37, 1.1], dtype=torch.float64)
    zero = torch.zeros(1, dtype=torch.float64)
    with torch.no_grad():
        for a in range((k.max_order or 6) + 1):
            torch.testing.assert_close(k.derivative(-r, a), (-1) ** a * k.derivative(r, a))
            if a % 2:
                assert float(k.derivative(zero, a)) == 0.0
        # phi(0) is the variance, and phi''(0) = -E[(2 pi f)^2] < 0 (a smooth process).
        torch.testing.assert_close(k.derivative(zero, 0)[0], k.variance())
        assert float(k.derivative(zero, 2)) < 0


def test_gaussian_and_matern_closed_forms():
    r = torch.linspace(-2, 2, 9, dtype=torch.float64)
    for envelope, nu, m in [
        ("gaussian", 2.5, lambda r, l: torch.exp(-r ** 2 / (2 * l ** 2))),
        ("student_t", 1.5, lambda r, l: (1 + math.sqrt(3) * r.abs() / l)
         * torch.exp(-math.sqrt(3) * r.abs() / l)),
        ("student_t", 2.5, lambda r, l: (1 + math.sqrt(5) * r.abs() / l + 5 * r ** 2 / (3 * l ** 2))
         * torch.exp(-math.sqrt(5) * r.abs() / l)),
    ]:
        k = SpectralMixture(1, 0.0, 0.7, envelope, nu, freqs=[1.3])
        expected = m(r, 0.7) * torch.cos(2 * math.pi * 1.3 * r)
        with torch.no_grad():
            torch.testing.assert_close(k.derivative(r, 0), expected)


def test_matern_polynomials():
    assert _matern_polynomial(1) == pytest.approx([1.0, 1.0])
    assert _matern_polynomial(2) == pytest.approx([1.0, 1.0, 1 / 3])


def test_order_beyond_smoothness_is_refused():
    k = SpectralMixture(2, envelope="student_t", nu=1.5)
    with pytest.raises(ValueError, match="only 2 derivatives"):
        k.derivative(torch.zeros(1, dtype=torch.float64), 3)


@pytest.mark.parametrize("kw,match", [
    ({"envelope": "cauchy"}, "unknown envelope"), ({"nu": 2.0}, "half-integer"),
    ({"nu": 0.5}, "half-integer"), ({"n_components": 0}, "n_components"),
    ({"lengthscale": -1.0}, "lengthscale")])
def test_bad_arguments_name_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        SpectralMixture(**kw)
