"""unit_cube: ranges, reproducibility, low discrepancy, the grid, and argument checks."""
import warnings

import numpy as np
import pytest
import torch
from scipy.stats import qmc

from physolve.geometry import SAMPLING_METHODS, unit_cube
from physolve.geometry.sampling import allocate, rejection_sample


def test_methods_are_the_documented_ones():
    assert SAMPLING_METHODS == ("uniform", "sobol", "halton", "lhs", "grid")


@pytest.mark.parametrize("d", [1, 2, 5])
def test_points_in_unit_cube(method, d):
    u = unit_cube(100, d, method, seed=0)
    assert u.dtype == torch.float64 and u.shape[1] == d
    assert u.shape[0] == (100 if method != "grid" else int(np.ceil(100 ** (1 / d) - 1e-9)) ** d)
    assert bool(((u >= 0) & (u < 1)).all())


@pytest.mark.parametrize("m", [m for m in SAMPLING_METHODS if m != "grid"])
def test_seed_reproduces_and_differs(m):
    a = unit_cube(50, 3, m, seed=7)
    assert torch.equal(a, unit_cube(50, 3, m, seed=7))
    assert not torch.equal(a, unit_cube(50, 3, m, seed=8))
    assert len(torch.unique(a, dim=0)) == 50


def test_grid_is_cell_centres_in_c_order():
    u = unit_cube(4, 2, "grid")
    expected = torch.tensor([[0.25, 0.25], [0.25, 0.75], [0.75, 0.25], [0.75, 0.75]], dtype=torch.float64)
    assert torch.equal(u, expected)
    assert unit_cube(10, 2, "grid").shape == (16, 2)  # ceil(sqrt(10))^2
    assert unit_cube(27, 3, "grid").shape == (27, 3)


def test_quasi_random_points_are_better_spread_than_uniform():
    disc = {m: qmc.discrepancy(unit_cube(256, 2, m, seed=0).numpy())
            for m in ("uniform", "sobol", "halton", "lhs")}
    assert disc["sobol"] < 0.3 * disc["uniform"]
    assert disc["halton"] < 0.5 * disc["uniform"]


def test_sobol_non_power_of_two_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unit_cube(100, 2, "sobol", seed=0)
    # ...and the silencing did not leak into the global filters.
    with pytest.warns(UserWarning, match="balance"):
        qmc.Sobol(2, rng=np.random.default_rng(0)).random(100)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"method must be one of \('uniform', 'sobol'"):
        unit_cube(10, 2, "random")
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        unit_cube(-1, 2)
    with pytest.raises(ValueError, match="seed must be None or a non-negative integer"):
        unit_cube(10, 2, seed="abc")


def test_rejection_keeps_the_first_accepted_points():
    def inside(x):
        return (x**2).sum(1) <= 1
    x = rejection_sample(500, 2, "sobol", 0, lambda u: 2 * u - 1, inside, rate=np.pi / 4)
    assert x.shape == (500, 2) and bool(inside(x).all())
    # Wrong rate hints only change the batch sizes, not the result.
    y = rejection_sample(500, 2, "sobol", 0, lambda u: 2 * u - 1, inside, rate=0.01)
    assert bool(inside(y).all()) and y.shape == (500, 2)
    with pytest.raises(ValueError, match="nearly\\) empty"):
        rejection_sample(5, 2, "uniform", 0, lambda u: u, lambda x: x[:, 0] > 2, rate=0.5,
                         max_candidates=2**12)


def test_allocate_is_proportional_and_exact():
    counts = allocate(10, [1.0, 2.0, 2.0])
    assert counts == [2, 4, 4]
    assert sum(allocate(7, [0.3, 0.3, 0.4])) == 7
    with pytest.raises(ValueError, match="zero measure"):
        allocate(3, [0.0, 0.0])
