"""What a benchmark result records about how it was made: the command, the machine and its
load, the clock and the threads. Timings on a shared machine mean little without them."""
from __future__ import annotations

import os
import platform
import shlex
import sys
import time

import torch


def load_average() -> float | None:
    """The 1-minute load average (None where the system has none)."""
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None


def command_line(script: str | None = None, argv=None) -> str:
    """The command that reproduces this run: `python <script> <arguments>` (argv: the
    arguments given to main(); None: this process's)."""
    args = sys.argv[1:] if argv is None else list(argv)
    script = script or sys.argv[0]
    return " ".join(["python", shlex.quote(str(script)), *map(shlex.quote, map(str, args))])


def environment(clock: str, threads: int | None = None) -> dict:
    """The machine and settings of a run, as a JSON-ready mapping."""
    return {"machine": platform.machine(), "cores": os.cpu_count(), "torch": torch.__version__,
            "python": platform.python_version(), "clock": clock,
            "threads": torch.get_num_threads() if threads is None else threads,
            "load": load_average(), "date": time.strftime("%Y-%m-%d %H:%M")}
