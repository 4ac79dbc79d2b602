"""A loss function compiled by torch.compile where that works, run eagerly where it does not."""
from __future__ import annotations

import warnings
from typing import Callable

import torch


class CompiledOrEager:
    """`fn` compiled on its first call into one graph of fixed shapes, else `fn` itself.

    fullgraph=True: a graph break is a failure here rather than a silent split into several
    graphs (which would keep most of the eager cost). Any failure, of torch.compile itself or
    of the first compiled call, gives one UserWarning naming the reason and `fn` runs eagerly
    from then on. dynamic=False: the graph is specialised to the inputs' shapes; new tensors of
    the same shapes and dtype (collocation points resampled at the same counts) reuse it, a
    change of shape compiles again.
    """

    def __init__(self, fn: Callable, owner: str):
        self.fn, self.owner = fn, owner
        self._compiled = None
        self.failure: str | None = None  # the reason compiling failed, once it has

    def give_up(self, reason: str) -> None:
        """Run eagerly from now on, with the one warning, for a reason found outside."""
        if self.failure is None:
            self.failure = reason
            warnings.warn(f"{self.owner}: not compiled ({reason}); the loss runs eagerly",
                          UserWarning, stacklevel=3)

    def __call__(self, *args):
        if self.failure is None:
            try:
                if self._compiled is None:
                    self._compiled = torch.compile(self.fn, dynamic=False, fullgraph=True)
                with warnings.catch_warnings():
                    # Dynamo traces through lru_cache-wrapped functions and says so; ours
                    # (the parsing of derivative names in pde/fields.py) are pure.
                    warnings.filterwarnings("ignore", message=".*functools.lru_cache",
                                            category=UserWarning)
                    return self._compiled(*args)
            except Exception as err:  # noqa: BLE001 -- any failure falls back, with its reason
                # Dynamo's messages open with a heading ("backend='inductor' raised:") and
                # give the cause on the next line: keep both.
                lines = [line.strip() for line in str(err).splitlines() if line.strip()]
                self.give_up(f"torch.compile failed: {type(err).__name__}: "
                             f"{' '.join(lines[:2])}")
        return self.fn(*args)
