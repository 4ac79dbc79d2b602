"""A benchmark's results: <name>.json (every row, merged across runs), <name>.md (the table,
rendered from all of it) and <name>.png (error against time)."""
from __future__ import annotations

import fcntl
import json
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from .plots import plot_traces


class Results:
    """Rows of a benchmark by section (a problem, a case) and key (a method).

    Runs of one benchmark may go in separate processes, side by side: `add` merges into the
    JSON on disk under a lock, so what each wrote survives. `legacy`: called for the initial
    data when <name>.json does not exist yet (results kept in an older layout).
    """

    def __init__(self, name: str, folder: str | Path, legacy: Callable[[], dict] | None = None):
        self.name, self.folder = name, Path(folder)
        self.legacy = legacy
        self.data: dict = {}

    path = property(lambda self: self.folder / f"{self.name}.json")
    table = property(lambda self: self.folder / f"{self.name}.md")
    figure = property(lambda self: self.folder / f"{self.name}.png")

    def load(self) -> dict:
        if self.path.exists():
            self.data = json.loads(self.path.read_text())
        elif self.legacy is not None:
            self.data = self.legacy()
        return self.data

    @contextmanager
    def _locked(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f".{self.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.load()
            yield self.data
            self.path.write_text(json.dumps(self.data, indent=1, default=_number))

    def add(self, *path: str, row: dict) -> None:
        """Store `row` at data[path[0]][path[1]]... (replacing an older one) and save."""
        if not path:
            raise ValueError("Results.add needs at least one key, e.g. add(problem, method, row=...)")
        with self._locked() as data:
            for key in path[:-1]:
                data = data.setdefault(key, {})
            data[path[-1]] = row

    def set(self, key: str, value) -> None:
        """Store a whole entry (e.g. a table that is not made of runs) and save."""
        with self._locked() as data:
            data[key] = value

    def write(self, render: Callable[[dict], str], sections: Callable[[dict], dict] | None = None,
              **plot_options) -> None:
        """The table (render(data) -> markdown) and the figure of the rows' traces.

        sections(data) -> {panel: {label: row}} picks what is plotted (default: every section
        whose rows carry a "trace")."""
        self.load()
        self.table.write_text(render(self.data))
        panels = sections(self.data) if sections else {
            s: rows for s, rows in self.data.items()
            if isinstance(rows, dict) and any(isinstance(r, dict) and "trace" in r
                                              for r in rows.values())}
        plot_traces({s: {r.get("label", k): r.get("trace", []) for k, r in rows.items()}
                     for s, rows in panels.items()}, self.figure, **plot_options)


def _number(value):
    """JSON for what json does not know: tensors' and numpy's scalars."""
    x = float(value)
    return x if math.isfinite(x) else str(x)
