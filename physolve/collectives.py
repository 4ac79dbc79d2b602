"""Reductions over the ranks of a torch.distributed process group, and their identity outside
one: what the layers below the trainer (loss balancing, causal weights) need to see the union
of every rank's points. It depends on torch only; physolve.train.distributed, which joins and
leaves the group, builds on it."""
from __future__ import annotations

import torch
import torch.distributed as dist


def active() -> bool:
    """Whether this process is one of several ranks of an initialised group."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def all_reduce(tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
    """`op` ("sum", "max" or "mean") of `tensor` over the ranks, as a new detached tensor;
    `tensor` itself outside a group."""
    if not active():
        return tensor
    out = tensor.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
    return out / dist.get_world_size() if op == "mean" else out


def all_reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """The mean over ranks of `tensor` (a new tensor); the tensor itself outside a group."""
    return all_reduce(tensor, "mean")
