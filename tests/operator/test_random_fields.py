"""Gaussian random fields: empirical covariance against the requested one."""
import numpy as np
import pytest

from physolve.pde.families import DarcyFamily
from physolve.pde.random_fields import GaussianRandomField


def test_periodic_field_has_requested_stationary_covariance():
    # Covariance sigma^2 (-Lap + tau^2)^-alpha on the torus: c(r) = sum_k lambda_k cos(2 pi k.r),
    # lambda_k = sigma^2 (4 pi^2 |k|^2 + tau^2)^-alpha over the modes the sampler keeps.
    alpha, tau, sigma, modes, n = 1.5, 4.0, 2.0, 9, 12
    grf = GaussianRandomField(alpha, tau, sigma, boundary="periodic", modes=modes)
    x = np.arange(n) / n
    g = grf.sample(x, x, 3000, seed=1)
    m = np.arange(-(modes // 2), modes // 2 + 1)       # 9 modes per axis: -4..4
    K1, K2 = np.meshgrid(m, m, indexing="ij")
    lam = sigma ** 2 * (4 * np.pi ** 2 * (K1 ** 2 + K2 ** 2) + tau ** 2) ** (-alpha)
    for lag in [(0, 0), (1, 0), (0, 2), (3, 1)]:
        r = np.array(lag) / n
        exact = np.sum(lam * np.cos(2 * np.pi * (K1 * r[0] + K2 * r[1])))
        shifted = np.roll(g, shift=(-lag[0], -lag[1]), axis=(1, 2))
        empirical = np.mean(g * shifted)                 # stationary: average over positions
        assert empirical == pytest.approx(exact, rel=0.05), lag
    assert abs(g.mean()) < 0.02 * np.sqrt(lam.sum())


def test_neumann_field_variance_profile():
    # Var g(x, y) = sum_kl lambda_kl phi_k(x)^2 phi_l(y)^2: larger at a corner than at the centre
    alpha, tau, modes = 2.0, 3.0, 16
    grf = GaussianRandomField(alpha, tau, boundary="neumann", modes=modes)
    pts = np.array([0.0, 0.5, 0.3])
    g = grf.sample(pts, pts, 8000, seed=2)
    k = np.arange(modes)
    lam = (np.pi ** 2 * (k[:, None] ** 2 + k[None, :] ** 2) + tau ** 2) ** (-alpha)

    def phi(x):
        return np.where(k == 0, 1.0, np.sqrt(2)) * np.cos(np.pi * k * x)

    for i, j in [(0, 0), (1, 1), (2, 1), (0, 2)]:
        var = phi(pts[i]) ** 2 @ lam @ phi(pts[j]) ** 2
        assert np.var(g[:, i, j]) == pytest.approx(var, rel=0.06), (i, j)
    cov = phi(pts[1]) * phi(pts[2]) @ lam @ phi(pts[1]) ** 2        # (0.5, 0.5) with (0.3, 0.5)
    assert np.mean(g[:, 1, 1] * g[:, 2, 1]) == pytest.approx(cov, rel=0.06)


def test_zero_mean_mode_removes_spatial_mean():
    grf = GaussianRandomField(boundary="neumann", modes=8, zero_mean_mode=True)
    x = (np.arange(16) + 0.5) / 16                       # cell centres: cosines sum to zero
    g = grf.sample(x, x, 5, seed=0)
    assert np.abs(g.mean(axis=(1, 2))).max() < 1e-12


def test_samples_are_reproducible_from_the_seed():
    grf = GaussianRandomField(modes=6)
    x = np.linspace(0, 1, 7)
    assert np.array_equal(grf.sample(x, x, 2, 5), grf.sample(x, x, 2, 5))
    assert not np.array_equal(grf.sample(x, x, 2, 5), grf.sample(x, x, 2, 6))


def test_darcy_coefficient_is_thresholded_field():
    fam = DarcyFamily(n=16)
    a = fam.sample_inputs(50, seed=0)["a"]
    assert a.shape == (50, 16, 16)
    assert set(np.unique(a)) == {3.0, 12.0}
    assert 0.3 < np.mean(a == 12.0) < 0.7      # threshold 0 of a zero-mean field: about half


@pytest.mark.parametrize("kw", [{"alpha": 0}, {"tau": -1}, {"boundary": "robin"}, {"modes": 0}])
def test_bad_parameters_fail_early(kw):
    with pytest.raises(ValueError, match="GaussianRandomField"):
        GaussianRandomField(**kw)
