"""Fixtures of the geometry tests (the suite-wide single-thread setting is in tests/conftest.py)."""
import pytest
from geometry_cases import DOMAINS, square_with_holes

from physolve.geometry import SAMPLING_METHODS


@pytest.fixture(params=sorted(DOMAINS))
def domain_case(request):
    build, volume, measure = DOMAINS[request.param]
    return request.param, build(), volume, measure


@pytest.fixture(params=SAMPLING_METHODS)
def method(request):
    return request.param


@pytest.fixture
def holes():
    return square_with_holes()
