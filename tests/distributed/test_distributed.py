"""Training on 2 gloo ranks equals single-process training on the union of the ranks' points."""
from __future__ import annotations

import socket

import pytest
import torch
import torch.multiprocessing as mp

import physolve as ps
from tests.distributed import _workers as W

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(),
                                reason="torch.distributed unavailable")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(fn, tmp_path, world=2):
    mp.start_processes(fn, args=(world, _port(), str(tmp_path)), nprocs=world, join=True,
                       start_method="spawn")
    return [torch.load(tmp_path / f"rank{r}.pt") for r in range(world)]


def test_loss_and_gradient_equal_single_process_on_union(tmp_path):
    ranks = _spawn(W.loss_and_grad, tmp_path)
    a, b = ranks[0]["points"], ranks[1]["points"]
    assert not torch.allclose(a, b)  # each rank drew its own shard
    s = W.UnionPINN(torch.cat([a, b]), width=8, depth=2, n_interior=64)
    s.setup(W.problem(), dtype=torch.float64, seed=0)
    total, _ = s.loss()
    total.backward(inputs=s.parameters())
    total = float(total.detach())
    for r in ranks:
        assert abs(float(r["loss"]) - total) <= 1e-12 * max(1.0, abs(total))
        for g, p in zip(r["grad"], s.parameters()):
            assert torch.allclose(g, p.grad, rtol=0, atol=1e-12)


def test_adam_lbfgs_on_two_ranks_equals_one_process_on_union(tmp_path):
    ranks = _spawn(W.fit, tmp_path)
    for p0, p1 in zip(ranks[0]["params"], ranks[1]["params"]):
        assert torch.equal(p0, p1)  # identical parameters on every rank
    union = torch.cat([ranks[0]["points"], ranks[1]["points"]])
    s = W.UnionPINN(union, width=8, depth=2, n_interior=64)
    ps.Trainer(W.STAGES, dtype="float64", seed=0, progress=False, metrics_every=0,
               threads=None).fit(W.problem(), s)
    start = W.solver()
    start.setup(W.problem(), dtype=torch.float64, seed=0)
    moved = max(float((p - q).abs().max()) for p, q in zip(s.parameters(), start.parameters()))
    assert moved > 1e-3  # the run trained
    for p, q in zip(ranks[0]["params"], s.parameters()):
        assert torch.allclose(p, q, rtol=0, atol=1e-10)
