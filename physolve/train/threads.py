"""How many CPU threads torch uses while a solver trains: the one place that decides it.

`threads="auto"` (the default of Trainer and of `trainer.threads`) gives
- one thread to small solvers (fewer than AUTO_SMALL_PARAMETERS trainable parameters: every
  PINN and PIG of the reference cases). Their steps are many short tensor operations; split
  over threads, each operation ends at a barrier where all threads wait for the slowest. On a
  machine where another process is running, one of the threads is regularly descheduled and
  the whole step waits for it, and the waiting threads spin. The Burgers demo's steps on a
  shared 2-core machine: 294 ms with one thread against 1707 ms with two (and 5 times the CPU
  time), 2.2 s against 8.2 s with one more busy process beside them. On an idle machine two
  threads can at best halve a step, which a shared one takes back many times over;
- torch's own setting to larger solvers (MgNO, GP grids): there an operation is long enough
  that a split pays, and a descheduled thread costs about what one thread would have taken;
- and it never overrides a count the program chose itself: when torch's thread count differs
  from its value at import (a script called torch.set_num_threads, as the benchmarks' and
  the test suite's do), "auto" keeps it.

The choice depends only on the solver, never on the machine's momentary load, so a run and its
resume use the same number of threads (bitwise resume needs that). An integer sets the count;
None leaves torch's setting alone (for a caller that manages threads itself).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

AUTO_SMALL_PARAMETERS = 50_000

# torch's thread count when physolve was imported: its default (the physical cores, or
# OMP_NUM_THREADS) unless the program had already set its own.
_DEFAULT = torch.get_num_threads()


def check_threads(threads) -> None:
    """Raise ValueError unless `threads` is "auto", None or a positive integer."""
    ok = threads is None or threads == "auto" or (
        isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1)
    if not ok:
        raise ValueError(f"threads must be 'auto', a positive integer or None, got {threads!r}")


def resolve_threads(threads, n_parameters: int) -> int | None:
    """The thread count for a solver with `n_parameters` trainable parameters (None: leave
    torch's setting as it is)."""
    check_threads(threads)
    if threads != "auto":
        return threads
    if torch.get_num_threads() != _DEFAULT or n_parameters >= AUTO_SMALL_PARAMETERS:
        return None
    return 1


def count_parameters(solver) -> int:
    return sum(p.numel() for p in solver.parameters())


@contextmanager
def training_threads(threads, solver) -> Iterator[int]:
    """Run the block with the thread count for `solver`, then restore torch's previous one
    (so training leaves the caller's process as it found it). Yields the count in use."""
    previous = torch.get_num_threads()
    count = resolve_threads(threads, count_parameters(solver))
    if count is None:
        yield previous
        return
    torch.set_num_threads(count)
    try:
        yield count
    finally:
        torch.set_num_threads(previous)
