"""Test-wide settings.

The test tensors are small: torch's intra-op threads cost more than they save on them (10-50x
slower on a busy 2-core machine), so the suite runs single-threaded.
"""
import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _single_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
