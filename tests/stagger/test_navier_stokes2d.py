"""The pseudo-spectral Navier-Stokes reference: exact Taylor-Green decay, spectral convergence in
space, fourth (rk4) and second (implicit midpoint) order in time, residual of the scheme."""
import math

import numpy as np
import pytest
import torch

from physolve.pde.solvers import NavierStokes2D, relative_l2, spectral_resample


@pytest.mark.parametrize("scheme,tol", [("rk4", 1e-9), ("midpoint", 1e-4)])
def test_taylor_green_decay_matches_exact_solution(scheme, tol):
    ns = NavierStokes2D(32, nu=0.05, scheme=scheme)
    w = ns.rollout(ns.taylor_green(0.0, k=2), dt=0.02, steps=25)[-1]
    assert relative_l2(w, ns.taylor_green(0.5, k=2)) < tol
    # the nonlinear term of Taylor-Green vanishes: not a trivially decaying field
    assert relative_l2(w, ns.taylor_green(0.0, k=2)) > 0.1


def _turbulent_end(n, dt, steps, scheme="rk4"):
    ns = NavierStokes2D(n, nu=1e-2, scheme=scheme, forcing_amplitude=0.1)
    w0 = spectral_resample(NavierStokes2D(16, 1e-2).decaying_turbulence(seed=3, peak=2.0), n)
    return ns.rollout(w0, dt, steps)[-1]


def test_spectral_convergence_in_space():
    ref = _turbulent_end(128, 0.01, 50)
    ns = (24, 32, 48, 64, 96)
    errs = [relative_l2(spectral_resample(_turbulent_end(n, 0.01, 50), 128), ref) for n in ns]
    assert errs[-1] < 1e-9
    # faster than any power of 1/n: the observed algebraic order keeps growing with n
    orders = [math.log(a / b) / math.log(m / n)
              for a, b, n, m in zip(errs[:-1], errs[1:], ns[:-1], ns[1:])]
    assert all(q > p for p, q in zip(orders[:-1], orders[1:])) and orders[-1] > 15, orders


@pytest.mark.parametrize("scheme,order", [("rk4", 4), ("midpoint", 2)])
def test_order_in_time(scheme, order):
    ref = _turbulent_end(32, 0.5 / 256, 256, scheme="rk4")
    errs = [relative_l2(_turbulent_end(32, 0.5 / m, m, scheme), ref) for m in (8, 16, 32)]
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(rates - order) < 0.3), (errs, rates)


@pytest.mark.parametrize("scheme", ["rk4", "midpoint"])
def test_residual_vanishes_on_solver_steps_only(scheme):
    ns = NavierStokes2D(32, nu=1e-3, scheme=scheme, forcing_amplitude=0.1)
    w0 = ns.decaying_turbulence(seed=1)
    w1 = ns.step(w0, 0.05)
    assert ns.residual(w0, w1, 0.05).abs().max() < 1e-9
    assert ns.residual(w0, w0, 0.05).abs().max() > 1e-2


def test_turbulence_field_is_seeded_zero_mean_and_scaled():
    ns = NavierStokes2D(32, nu=1e-3)
    a, b = ns.decaying_turbulence(seed=5, rms=2.0), ns.decaying_turbulence(seed=5, rms=2.0)
    assert torch.equal(a, b)
    assert not torch.equal(a, ns.decaying_turbulence(seed=6, rms=2.0))
    assert abs(float(a.mean())) < 1e-12 and abs(float(a.pow(2).mean().sqrt()) - 2.0) < 1e-12


def test_velocity_is_divergence_free_and_curl_is_vorticity():
    ns = NavierStokes2D(32, nu=1e-3)
    w = ns.decaying_turbulence(seed=2)
    u, v = ns.velocity(w)
    uh, vh = torch.fft.rfft2(u), torch.fft.rfft2(v)
    div = torch.fft.irfft2(1j * ns.kx * uh + 1j * ns.ky * vh, s=w.shape)
    curl = torch.fft.irfft2(1j * ns.kx * vh - 1j * ns.ky * uh, s=w.shape)
    assert div.abs().max() < 1e-10 and (curl - w).abs().max() < 1e-10


def test_bad_input_names_the_key():
    with pytest.raises(ValueError, match="scheme"):
        NavierStokes2D(32, nu=1e-3, scheme="euler")
    with pytest.raises(ValueError, match="n must"):
        NavierStokes2D(31, nu=1e-3)
