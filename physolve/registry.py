"""Name -> object registries for the things configs may instantiate.

Configs only ever name registered entries (problems, solvers, optimizers); they never carry import
paths, so a config file cannot make physolve import or run arbitrary code.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator


class Registry:
    """A mapping from names to factories, with errors that list the allowed names."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Any] = {}
        self._meta: dict[str, dict] = {}

    def register(self, name: str, obj: Any = None, **meta) -> Callable:
        """Register `obj` under `name`; usable directly or as a decorator."""

        def add(target):
            if name in self._entries and self._entries[name] is not target:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._entries[name] = target
            self._meta[name] = meta
            return target

        return add(obj) if obj is not None else add

    def get(self, name: str) -> Any:
        try:
            return self._entries[name]
        except KeyError:
            raise ValueError(
                f"unknown {self.kind} '{name}'; choose one of: {', '.join(self.names())}"
            ) from None

    def meta(self, name: str) -> dict:
        self.get(name)
        return self._meta[name]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
