"""One range check for numeric settings, shared by the modules that validate their options."""
from __future__ import annotations

import numbers


def number_requirement(value, lo: float | None = None, hi: float | None = None,
                       lo_open: bool = False, hi_open: bool = False,
                       integer: bool = False) -> str | None:
    """None when `value` is a number (an integer with integer=True; a bool is neither) within
    the bounds; else what a setting needs, e.g. "a number >= 0 and <= 1", for the caller's
    message (which names the setting and the value)."""
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and lo is not None:
        ok = value > lo if lo_open else value >= lo
    if ok and hi is not None:
        ok = value < hi if hi_open else value <= hi
    if ok:
        return None
    bounds = [f"{'>' if lo_open else '>='} {lo:g}" if lo is not None else "",
              f"{'<' if hi_open else '<='} {hi:g}" if hi is not None else ""]
    return f"{'an integer' if integer else 'a number'} {' and '.join(b for b in bounds if b)}"
