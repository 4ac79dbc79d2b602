"""Rank processes for the tests of physolve.train.distributed (started by torch.multiprocessing
with the environment torchrun would set, so the trainer takes its own torchrun path)."""
from __future__ import annotations

import os

import torch

import physolve as ps

STAGES = ["adam:6", "lbfgs:6"]


def problem():
    return ps.problems.get("burgers")(hard=True)


def solver():
    return ps.PINN(width=8, depth=2, n_interior=32)


def set_env(rank: int, world: int, port: int) -> None:
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
                       "OMP_NUM_THREADS": "1"})
    torch.set_num_threads(1)


def loss_and_grad(rank: int, world: int, port: int, out: str) -> None:
    """One global loss and gradient evaluation, with this rank's shard of points."""
    from physolve.train import distributed
    set_env(rank, world, port)
    s = solver()
    s.setup(problem(), dtype=torch.float64, seed=0)
    distributed.init("cpu")
    distributed.shard_points(s)
    params = s.parameters()
    total, _ = s.loss()
    total.backward(inputs=params)
    distributed.reduce_gradients(params)
    total = distributed.global_loss(total)
    torch.save({"loss": total.detach(), "grad": [p.grad.clone() for p in params],
                "points": s.interior.detach().clone()}, f"{out}/rank{rank}.pt")
    distributed.shutdown()


def fit(rank: int, world: int, port: int, out: str, stages=STAGES) -> None:
    """A short Adam + L-BFGS run through the Trainer."""
    from physolve.train import distributed
    set_env(rank, world, port)
    s = solver()
    ps.Trainer(stages, dtype="float64", seed=0, progress=False, metrics_every=0,
               threads=None).fit(problem(), s)
    torch.save({"params": [p.detach().clone() for p in s.parameters()],
                "points": s.interior.detach().clone()}, f"{out}/rank{rank}.pt")
    distributed.shutdown()


LM_STAGES = ["adam:3", "lm:4"]


def fit_lm(rank: int, world: int, port: int, out: str) -> None:
    """A short Adam + Levenberg-Marquardt run through the Trainer."""
    fit(rank, world, port, out, LM_STAGES)


class UnionPINN(ps.PINN):
    """A single-process PINN whose points are given (the union of the ranks' shards)."""

    def __init__(self, points, **kw):
        super().__init__(**kw)
        self._given = points

    def resample(self, round_index: int) -> bool:
        super().resample(round_index)
        self.interior = self._given.to(self.dtype)
        return True


def mgno(cache: str, batch_size: int = 8):
    from physolve.models import MgNO
    return MgNO(channels=4, layers=2, smoothing=[1, 1], n_train=48, n_test=8,
                batch_size=batch_size, cache_dir=cache, progress=False)


def darcy():
    return ps.problems.get("darcy")(n=16)


MGNO_STAGES = [{"name": "adam", "steps": 5, "lr": 1e-3}]


def mgno_fit(rank: int, world: int, port: int, out: str) -> None:
    """Data-parallel MgNO: batch_size 8 per rank, the cache written beforehand."""
    from physolve.train import distributed
    set_env(rank, world, port)
    s = mgno(f"{out}/cache")
    ps.Trainer(MGNO_STAGES, dtype="float64", seed=0, progress=False, metrics_every=0,
               threads=None).fit(darcy(), s)
    torch.save({"params": [p.detach().clone() for p in s.parameters()]}, f"{out}/rank{rank}.pt")
    distributed.shutdown()
