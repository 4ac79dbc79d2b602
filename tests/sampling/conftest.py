"""Shared pieces of the sampling tests: a domain with a hole and a residual with a known shape."""
import pytest
import torch

from physolve.geometry import Disk, Rectangle
from physolve.models.base import derived_seed


@pytest.fixture
def holed():
    """[-1, 1] x [0, 1] minus the disk of radius 0.3 at (0, 0.5)."""
    return Rectangle((-1, 0), (1, 1)) - Disk((0.0, 0.5), 0.3)


def peak_residual(x: torch.Tensor) -> torch.Tensor:
    """|r| with a sharp peak at (0.6, 0.5), next to the hole, and a floor of 0.01."""
    return torch.exp(-200 * ((x[:, 0] - 0.6) ** 2 + (x[:, 1] - 0.5) ** 2)) + 0.01


def seeds(seed: int = 0):
    return lambda r, *k: derived_seed(seed, 1, r, *k)
