"""The error-versus-time figure of a benchmark: one panel per problem, one curve per method."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence


def plot_traces(panels: Mapping[str, Mapping[str, Sequence]], path: str | Path,
                target: float | None = None, style: Callable[[str], dict] | None = None,
                ylabel: str = "rel. L2 error") -> Path | None:
    """Write a log-log figure of error traces to `path` (PNG).

    panels: {panel title: {curve label: [(time, error), ...]}}; empty traces are skipped.
    target: a horizontal line at this error. style(label): extra matplotlib line options.
    Returns the path, or None when there is nothing to draw.
    """
    import matplotlib
    matplotlib.use("Agg")  # files only: no display on benchmark machines
    import matplotlib.pyplot as plt

    panels = {k: v for k, v in panels.items() if any(len(t) for t in v.values())}
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    # one colour per label in every panel, so that a method reads the same across panels
    labels = sorted({label for curves in panels.values() for label in curves})
    colour = {label: f"C{i % 10}" for i, label in enumerate(labels)}
    for ax, (title, curves) in zip(axes[0], panels.items()):
        for label, trace in sorted(curves.items()):
            if len(trace):
                t, e = zip(*trace)
                # log axes: the first records can come at ~0 s
                ax.loglog([max(x, 1e-1) for x in t], e, label=label,
                          **{"color": colour[label], **(style(label) if style else {})})
        if target is not None:
            ax.axhline(target, color="grey", lw=0.5)
        ax.set(title=title, xlabel="time (s)", ylabel=ylabel)
        ax.grid(True, which="both", lw=0.2)
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
