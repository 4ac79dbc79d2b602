"""Name -> object registries for the things configs may instantiate.

Configs only ever name registered entries (problems, solvers, optimizers); they never carry import
paths, so a config file cannot make physolve import or run arbitrary code. Entries come from
physolve itself, from `register` calls in the running program, and from installed packages that
declare them as entry points (e.g. group "physolve.problems"): those are what a separate process
such as `physolve train` can name, and they are chosen by installing a package, not by a config.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Iterator


class Registry:
    """A mapping from names to factories, with errors that list the allowed names."""

    def __init__(self, kind: str, entry_points: str | None = None):
        self.kind = kind
        self._entries: dict[str, Any] = {}
        self._meta: dict[str, dict] = {}
        self._group = entry_points  # loaded on first look-up, so importing physolve stays cheap
        self._plugins_loaded = entry_points is None

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=self._group):
            try:
                self.register(ep.name, ep.load())
            except Exception as err:  # one broken package must not hide the other entries
                warnings.warn(f"{self.kind} {ep.name!r} from entry point {ep.value!r} "
                              f"(group {self._group}) was not registered: {err}", stacklevel=3)

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
        self._load_plugins()
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
        self._load_plugins()
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        self._load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._entries)
