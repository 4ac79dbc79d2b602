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
    """A single-process PINN whose points are given (the union of the ranks' shards): the
    interior points and, where `batches` are given, the soft conditions' points."""

    def __init__(self, points, batches=None, **kw):
        super().__init__(**kw)
        self._given, self._given_batches = points, batches

    def resample(self, round_index: int) -> bool:
        super().resample(round_index)
        self.interior = self._given.to(self.dtype)
        if self._given_batches is not None:
            self.batches = {k: b.to(self.dtype, self.device)
                            for k, b in self._given_batches.items()}
        self._points_changed()  # the causal slices and point weights of the given points
        return True


# Loss balancing and causal weights across ranks (tests/distributed/test_distributed.py):
# every rank must take the multipliers of the union of the shards. ntk's sample covers all
# of a rank's points (points > n), so that its mean is the union's.
BALANCED_STAGES = ["adam:6:lr=1e-2", "lbfgs:6"]
BALANCED = {
    "gradnorm": dict(balance="gradnorm", balance_options={"every": 2, "alpha": 0.5}),
    "ntk": dict(balance="ntk", balance_options={"every": 3, "alpha": 0.5, "points": 1000}),
    "rba": dict(balance="rba", balance_options={"every": 2, "gamma": 0.9, "eta": 0.1}),
    "sa": dict(balance="sa", balance_options={"every": 2, "eta": 0.05}),
    "relobralo+causal": dict(balance="relobralo", balance_options={"rho_mean": 0.5},
                             causal={"chunks": 4, "eps": 1.0}),
}


def balanced_solver(settings, points=None, batches=None):
    kw = dict(width=6, depth=2, n_interior=32, n_boundary=8, n_initial=8, **settings)
    return ps.PINN(**kw) if points is None else UnionPINN(points, batches, **kw)


def fit_balanced(rank: int, world: int, port: int, out: str) -> None:
    """Every BALANCED setting trained in turn on this rank's shards of the heat problem."""
    from physolve.train import distributed
    from tests.balancing.cases import heat
    set_env(rank, world, port)
    saved = {}
    for name, settings in BALANCED.items():
        s = balanced_solver(settings)
        ps.Trainer(BALANCED_STAGES, dtype="float64", seed=0, progress=False,
                   metrics_every=0, threads=None).fit(heat(), s)
        saved[name] = {"params": [p.detach().clone() for p in s.parameters()],
                       "points": s.interior.detach().clone(), "batches": {k: (b.points, b.normals, b.target)
                                                    for k, b in s.batches.items()},
                       "lam": dict(s.balancer.lam)}
    torch.save(saved, f"{out}/rank{rank}.pt")
    distributed.shutdown()


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
