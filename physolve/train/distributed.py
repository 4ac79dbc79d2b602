"""Training across processes with torch.distributed (launched by torchrun / torch.distributed.run).

Under torchrun (WORLD_SIZE > 1 in the environment) `init()` joins the process group: backend
nccl on CUDA, gloo on CPU, with a timeout so that a rank that dies ends the job instead of
hanging it. Point-based solvers draw one shard of points per rank (`shard_seed`); the loss and
the gradient of every evaluation are all-reduced (`global_loss_and_grad`), so every rank holds
the same parameters and line-search optimizers take the identical step on every rank.
"""
from __future__ import annotations

import datetime
import os

import torch
import torch.distributed as dist

from ..collectives import active, all_reduce_mean  # noqa: F401  (part of this module's API)

TIMEOUT_S = float(os.environ.get("PHYSOLVE_DIST_TIMEOUT", "120"))


def launched() -> bool:
    """True inside a process started by torchrun with more than one rank."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def rank() -> int:
    return dist.get_rank() if active() else int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return dist.get_world_size() if active() else int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    return rank() == 0


def backend_for(device) -> str:
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def init(device="cpu") -> bool:
    """Join the process group when launched by torchrun; returns whether training is
    distributed. On CUDA each rank uses the device LOCAL_RANK."""
    if not launched():
        return False
    if not dist.is_initialized():
        dist.init_process_group(backend_for(device),
                                timeout=datetime.timedelta(seconds=TIMEOUT_S))
    return True


def local_device(device):
    """cuda -> cuda:LOCAL_RANK under torchrun; other devices unchanged."""
    device = torch.device(device)
    if device.type == "cuda" and launched() and device.index is None:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def shard_seed(seed: int, r: int) -> int:
    """The seed of rank r's points: rank 0 keeps the run seed (a 1-rank run is unchanged)."""
    if r == 0:
        return int(seed)
    from ..models.base import derived_seed
    return derived_seed(int(seed), 7919, r)


def shard_points(solver, round_index: int = 0) -> None:
    """Give this rank its own shard of the solver's sampled points (solvers with `resample`
    and a `seed` attribute: PINN, PIG). Parameter initialisation is left to the run seed,
    and the parameters are broadcast from rank 0 all the same."""
    if not active():
        return
    if hasattr(solver, "next_batch") and hasattr(solver, "n_train"):
        shard_batches(solver)
    elif hasattr(solver, "resample") and getattr(solver, "seed", None) is not None:
        solver.seed = shard_seed(solver.seed, rank())
        solver.resample(round_index)
    else:
        raise NotImplementedError(
            f"{type(solver).__name__} trains in one process only (see docs/distributed.md); "
            f"run it without torchrun and with trainer.nproc=1")
    broadcast_parameters(solver.parameters())


def shard_batches(solver) -> None:
    """Data parallelism for operator learning (solvers that draw their own mini-batches with
    `next_batch`, from one seeded epoch permutation): every rank draws the same world_size
    consecutive batches and keeps the r-th, so within an epoch the ranks' batches are
    disjoint, as torch.utils.data.DistributedSampler partitions an epoch; one step then trains
    on world_size x batch_size samples. The generator and cursor stay identical on every rank,
    so a checkpoint of rank 0 restores them all."""
    draw = solver.next_batch
    r, n = rank(), world_size()
    if n * solver.batch_size > solver.n_train:
        raise ValueError(f"{n} ranks x batch_size {solver.batch_size} exceed n_train="
                         f"{solver.n_train}: lower model.batch_size or use fewer ranks")

    def next_batch():
        return [draw() for _ in range(n)][r]

    solver.next_batch = next_batch


def broadcast_parameters(params) -> None:
    if not active():
        return
    with torch.no_grad():
        for p in params:
            dist.broadcast(p.data, src=0)


def reduce_gradients(params) -> None:
    """Average the gradients of `params` over ranks, in place (one flat all-reduce)."""
    if not active():
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= dist.get_world_size()
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset:offset + n].view_as(g))
        offset += n


def global_loss(total: torch.Tensor) -> torch.Tensor:
    """The loss averaged over ranks (each rank's loss is a mean over its own equal-sized
    shard, so this is the loss on the union of the shards)."""
    return all_reduce_mean(total.detach()) if active() else total


def check_world_size(nproc: int) -> None:
    """trainer.nproc under torchrun must match the world size torchrun set."""
    if launched() and nproc not in (1, world_size()):
        raise ValueError(f"trainer.nproc={nproc} but torchrun started {world_size()} ranks; "
                         "give one or the other")


def barrier() -> None:
    if active():
        dist.barrier()


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
