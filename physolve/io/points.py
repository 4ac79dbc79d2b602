"""The collocation points a solver trains on, for inspection: VTU point clouds and PNG scatters.

Each file holds one round's interior points (physolve.sampling) as VTK vertices, with |r|
(the PDE residual's norm there) and, where the sampler gives them, the loss weights as point
data; ParaView shows them with "Points" or "Point Gaussian" rendering. In a run directory
(`output.points_every`, docs/adaptive_sampling.md) they go to points/points_<round>.vtu and
plots/points_<round>.png.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import torch

from ..checks import number_requirement
from ..hooks import Callback
from .plots import _figure
from .vtk import _points3


def write_points(path: str | Path, points, arrays: Mapping[str, np.ndarray] | None = None
                 ) -> Path:
    """A VTU file of `points` (N, d <= 3) as vertex cells, with per-point `arrays`."""
    import meshio

    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or not 1 <= pts.shape[1] <= 3:
        raise ValueError(f"write_points: points must have shape (N, 1..3), got {pts.shape}")
    data = {k: np.ascontiguousarray(np.asarray(v, dtype=np.float64).reshape(len(pts)))
            for k, v in (arrays or {}).items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [("vertex", np.arange(len(pts), dtype=np.int64)[:, None])]
    meshio.write(path, meshio.Mesh(_points3(pts), cells, point_data=data), file_format="vtu")
    return path


def plot_points(path: str | Path, points, values=None, title: str = "",
                labels: tuple[str, str] = ("x", "y"), bounds=None) -> Path | None:
    """A PNG scatter of 2-D points coloured by `values` (e.g. |r|); None for other dimensions."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        return None
    fig, axes = _figure(1, 1)
    ax = axes[0, 0]
    if values is None:
        ax.scatter(pts[:, 0], pts[:, 1], s=2, c="k", linewidths=0)
    else:
        art = ax.scatter(pts[:, 0], pts[:, 1], s=2, c=np.asarray(values), cmap="viridis",
                         linewidths=0)
        fig.colorbar(art, ax=ax, shrink=0.85, label="|r|")
    if bounds is not None:
        (x0, y0), (x1, y1) = bounds
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title or f"{len(pts)} points")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def solver_points(solver) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A point-based solver's current interior points with |r| (and weights) there."""
    pts = solver.interior.detach().to(torch.float64).cpu()
    arrays = {"residual": solver.pointwise_residual(pts).numpy()}
    if getattr(solver, "interior_weights", None) is not None:
        arrays["weight"] = solver.interior_weights.detach().to(torch.float64).cpu().numpy()
    return pts.numpy(), arrays


class PointsWriter(Callback):
    """Writes the interior points every `every` rounds (round 0 included) under `root`."""

    def __init__(self, root: str | Path, every: int):
        needed = number_requirement(every, 1, integer=True)
        if needed is not None:
            raise ValueError(f"points_every must be {needed}, got {every!r}")
        self.root, self.every = Path(root), every
        self._written: int | None = None

    def _write(self, state) -> None:
        solver = state.solver
        if not hasattr(solver, "interior") or self._written == solver.round:
            return
        r = solver.round
        self._written = r
        if r % self.every:
            return
        pts, arrays = solver_points(solver)
        write_points(self.root / "points" / f"points_{r:04d}.vtu", pts, arrays)
        problem = state.problem
        lo, hi = problem.domain.bbox
        plot_points(self.root / "plots" / f"points_{r:04d}.png", pts, arrays["residual"],
                    title=f"round {r}: {len(pts)} points ({solver.sampler.name})",
                    labels=tuple(problem.inputs[:2]) if len(problem.inputs) >= 2 else ("x", "y"),
                    bounds=(lo.tolist(), hi.tolist()) if len(problem.inputs) == 2 else None)

    def on_fit_start(self, state):
        self._write(state)

    def on_step_end(self, state):
        self._write(state)
