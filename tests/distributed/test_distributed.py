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


@pytest.mark.parametrize("worker, stages", [(W.fit, W.STAGES), (W.fit_lm, W.LM_STAGES)],
                         ids=["adam_lbfgs", "adam_lm"])
def test_second_order_runs_on_two_ranks_equal_one_process_on_union(tmp_path, worker, stages):
    ranks = _spawn(worker, tmp_path)
    for p0, p1 in zip(ranks[0]["params"], ranks[1]["params"]):
        assert torch.equal(p0, p1)  # identical parameters on every rank
    union = torch.cat([ranks[0]["points"], ranks[1]["points"]])
    s = W.UnionPINN(union, width=8, depth=2, n_interior=64)
    ps.Trainer(stages, dtype="float64", seed=0, progress=False, metrics_every=0,
               threads=None).fit(W.problem(), s)
    start = W.solver()
    start.setup(W.problem(), dtype=torch.float64, seed=0)
    moved = max(float((p - q).abs().max()) for p, q in zip(s.parameters(), start.parameters()))
    assert moved > 1e-3  # the run trained
    for p, q in zip(ranks[0]["params"], s.parameters()):
        assert torch.allclose(p, q, rtol=0, atol=1e-10)


def _union_batches(a: dict, b: dict) -> dict:
    from physolve.pde.conditions import ConditionBatch

    def cat(x, y):  # (points, normals, target) of each rank
        return None if x is None else torch.cat([x, y])

    return {k: ConditionBatch(*(cat(x, y) for x, y in zip(a[k], b[k]))) for k in a}


def test_balancers_and_causal_weights_on_two_ranks_equal_one_process_on_union(tmp_path):
    """Multipliers, point weights and causal weights under torch.distributed are those of the
    union of the ranks' points: both ranks end identical, and equal to one process trained on
    the union, for every balancing kind (moments, pointwise, NTK, causal)."""
    from tests.balancing.cases import heat

    ranks = _spawn(W.fit_balanced, tmp_path)
    for name, settings in W.BALANCED.items():
        a, b = ranks[0][name], ranks[1][name]
        for p0, p1 in zip(a["params"], b["params"]):
            assert torch.equal(p0, p1), name
        assert a["lam"] == b["lam"], name
        assert not torch.allclose(a["points"], b["points"])
        s = W.balanced_solver(settings, torch.cat([a["points"], b["points"]]),
                              _union_batches(a["batches"], b["batches"]))
        ps.Trainer(W.BALANCED_STAGES, dtype="float64", seed=0, progress=False,
                   metrics_every=0, threads=None).fit(heat(), s)
        for k, v in s.balancer.lam.items():
            assert a["lam"][k] == pytest.approx(v, rel=1e-9), (name, k)
        if name not in ("rba", "sa"):  # their multipliers stay 1; point weights act instead
            assert len({round(v, 9) for v in a["lam"].values()}) > 1, name
        for p, q in zip(a["params"], s.parameters()):
            assert torch.allclose(p, q, rtol=0, atol=1e-9), name


def _torchrun(script, *args, timeout=90):
    import os
    import subprocess
    import sys
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PHYSOLVE_DIST_TIMEOUT": "30",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node=2", str(script), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env)


from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DIE = Path(__file__).with_name("_die_worker.py")


def test_a_dead_rank_stops_the_job_and_resume_finishes(tmp_path):
    import time
    from physolve.train.checkpoint import load_checkpoint
    t0 = time.perf_counter()
    died = _torchrun(DIE, tmp_path, 5, 0)
    assert died.returncode != 0
    assert time.perf_counter() - t0 < 60  # no hang
    log = died.stdout + died.stderr
    assert "rank      : 1" in log or "rank: 1" in log, log[-2000:]
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")  # intact: the step-4 one
    assert ckpt["step"] == 4  # rank 1 died after step 5; rank 0's step-4 checkpoint is whole
    done = _torchrun(DIE, tmp_path, -1, 1)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    resumed = torch.load(tmp_path / "final.pt")
    # the uninterrupted run: one process on the union of the two ranks' shards
    from physolve.train.distributed import shard_seed
    shards = []
    for r in range(2):
        s = W.solver()
        s.setup(W.problem(), dtype=torch.float64, seed=0)
        s.seed = shard_seed(0, r)
        s.resample(0)
        shards.append(s.interior.detach())
    u = W.UnionPINN(torch.cat(shards), width=8, depth=2, n_interior=64)
    ps.Trainer(["adam:8", "lbfgs:4"], dtype="float64", seed=0, progress=False,
               metrics_every=0, threads=None).fit(W.problem(), u)
    for p, q in zip(resumed, u.parameters()):
        assert torch.allclose(p, q, rtol=0, atol=1e-10)


def test_mgno_data_parallel_equals_one_process_on_the_doubled_batch(tmp_path):
    single = W.mgno(str(tmp_path / "cache"), batch_size=16)  # also writes the data cache
    ps.Trainer(W.MGNO_STAGES, dtype="float64", seed=0, progress=False, metrics_every=0,
               threads=None).fit(W.darcy(), single)
    ranks = _spawn(W.mgno_fit, tmp_path)
    for p0, p1, q in zip(ranks[0]["params"], ranks[1]["params"], single.parameters()):
        assert torch.equal(p0, p1)
        assert torch.allclose(p0, q.detach(), rtol=0, atol=1e-10)
