"""PNG plots of a run: the solution, its error against the reference, the loss history.

Figures are made with matplotlib's object interface (`Figure` + `savefig`), which renders
PNGs through the Agg canvas without pyplot: no global backend is selected and no window can
open, so plotting works on headless machines and importing this module changes nothing.

What a panel shows, by the dimension of the problem's coordinates:
1-D: a line.  2-D (x-y, or x-t for one space dimension): a colour map on the output mesh.
2-D + time: colour maps at the first, middle and last output times.
3-D: the slice through the middle of the last axis (at the last output time if evolving).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .meshing import OutputMesh, box_mesh, node_mesh, output_mesh, spatial_domain
from .vtk import evaluable_reference


@dataclass
class Panel:
    """Points to evaluate at (full coordinates), and how to draw them in the plane."""

    title: str
    points: np.ndarray            # (N, number of inputs)
    xy: np.ndarray                # (N, 1) for a line, (N, 2) for a colour map
    triangles: np.ndarray | None  # (M, 3) into xy, for colour maps
    labels: tuple[str, ...]
    equal: bool = True            # both drawn axes are lengths: keep their scales equal


def _triangles(mesh: OutputMesh) -> np.ndarray:
    """Triangles of a 2-D mesh (quadrilaterals split in two)."""
    kind, cells = mesh.cells[0]
    if kind == "quad":
        return np.concatenate([cells[:, [0, 1, 2]], cells[:, [0, 2, 3]]])
    return cells


def panels(problem, resolution: int | None = None) -> list[Panel]:
    inputs, dim = problem.inputs, problem.domain.dim
    if dim <= 2:
        mesh = output_mesh(problem.domain, resolution)
        if dim == 1:
            order = np.argsort(mesh.points[:, 0])
            return [Panel("", mesh.points[order], mesh.points[order], None, inputs)]
        return [Panel("", mesh.points, mesh.points, _triangles(mesh), inputs,
                      equal=problem.time is None)]
    space = spatial_domain(problem.domain)
    if problem.time is not None and space.dim == 2:
        mesh = output_mesh(space, resolution)
        t = problem.domain.time
        return [Panel(f"{problem.time} = {s:.3g}", _append(mesh.points, s), mesh.points,
                      _triangles(mesh), inputs[:2])
                for s in np.linspace(t.t0, t.t1, 3)]
    return [_slice(problem, resolution)]


def _append(points: np.ndarray, value: float) -> np.ndarray:
    return np.concatenate([points, np.full((len(points), 1), value)], 1)


def _slice(problem, resolution: int | None) -> Panel:
    """The plane of the first two coordinates through the middle of the others (at the last
    time if evolving): a 3-D domain's middle section, and so on in any dimension."""
    lo, hi = (b.numpy() for b in problem.domain.bbox)
    plane = box_mesh(lo[:2], hi[:2], resolution or 101)
    fixed = [(name, hi[k] if name == problem.time else (lo[k] + hi[k]) / 2)
             for k, name in enumerate(problem.inputs) if k >= 2]
    pts = np.concatenate([plane.points] + [np.full((len(plane), 1), v) for _, v in fixed], 1)
    tri = _triangles(plane)
    inside = problem.domain.contains(torch.from_numpy(pts[tri].mean(1)), tol=1e-12).numpy()
    title = ", ".join(f"{name} = {v:.3g}" for name, v in fixed)
    return Panel(title, pts, plane.points, tri[inside], problem.inputs[:2])


def _draw(fig, ax, panel: Panel, values: np.ndarray, title: str, cmap: str = "viridis"):
    if panel.triangles is None:
        ax.plot(panel.xy[:, 0], values, lw=1.5)
        ax.set_xlabel(panel.labels[0])
        ax.set_ylabel(title)
    else:
        art = ax.tripcolor(panel.xy[:, 0], panel.xy[:, 1], panel.triangles, values,
                           shading="gouraud", cmap=cmap)
        fig.colorbar(art, ax=ax, shrink=0.85)
        ax.set_xlabel(panel.labels[0])
        ax.set_ylabel(panel.labels[1])
        ax.set_aspect("equal" if panel.equal and _comparable(panel.xy) else "auto")
    ax.set_title(" ".join(s for s in (title, panel.title) if s))


def _comparable(xy: np.ndarray) -> bool:
    span = np.ptp(xy, 0)
    return bool(span.max() <= 4 * span.min())


def _figure(rows: int, cols: int):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.6 * cols, 3.6 * rows), layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False)


def plot_solution(problem, solver, path: str | Path, resolution: int | None = None) -> Path:
    """The prediction of every output, one row per output."""
    ps = panels(problem, resolution)
    fig, axes = _figure(len(problem.outputs), len(ps))
    for c, panel in enumerate(ps):
        pred = solver.predict(torch.from_numpy(panel.points)).numpy()
        for r, name in enumerate(problem.outputs):
            _draw(fig, axes[r, c], panel, pred[:, r], name)
    fig.savefig(path, dpi=110)
    return Path(path)


def _node_panel(problem, ref) -> tuple[Panel, np.ndarray] | None:
    """Reference data on its own nodes (up to two coordinates), and its values there."""
    pts, values = ref.points().numpy(), ref.values().numpy()
    if pts.shape[1] == 1:
        order = np.argsort(pts[:, 0])
        return Panel("", pts[order], pts[order], None, problem.inputs), values[order]
    if pts.shape[1] == 2:
        tri = node_mesh(problem.domain, pts).cells[0][1]
        return Panel("", pts, pts, tri, problem.inputs, equal=problem.time is None), values
    return None


def plot_error(problem, solver, path: str | Path, resolution: int | None = None
               ) -> Path | None:
    """|prediction - reference| for the reference's outputs (None when there is nothing to
    compare with). An evaluable reference is compared on the solution's panels, reference
    data on its own nodes (problems with up to two coordinates)."""
    ref = problem.reference
    if ref is None:
        return None
    ps = panels(problem, resolution)
    data = None
    if evaluable_reference(ref, torch.from_numpy(ps[0].points[:1])) is None:
        node = _node_panel(problem, ref)
        if node is None:
            return None
        ps, data = [node[0]], node[1]
    fig, axes = _figure(len(ref.outputs), len(ps))
    for c, panel in enumerate(ps):
        pts = torch.from_numpy(panel.points)
        pred = solver.predict(pts).numpy()[:, ref.output_index]
        values = data if data is not None else evaluable_reference(ref, pts)
        for r, name in enumerate(ref.outputs):
            _draw(fig, axes[r, c], panel, np.abs(pred[:, r] - values[:, r]),
                  f"|{name} - {name}_ref|", cmap="magma")
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_history(history: list[dict], path: str | Path) -> Path | None:
    """Loss (and relative L2 error, if measured) against the step, log scale."""
    if not history:
        return None
    fig, axes = _figure(1, 1)
    ax = axes[0, 0]
    steps = [r["step"] for r in history]
    ax.semilogy(steps, [r["loss"] for r in history], label="loss", color="C0")
    for prev, cur in zip(history, history[1:]):
        if cur["stage"] != prev["stage"]:
            ax.axvline(prev["step"], color="0.6", lw=0.8, ls="--")
    ax.set_xlabel("step")
    ax.set_ylabel("loss", color="C0")
    if all("rel_l2" in r for r in history):
        ax2 = ax.twinx()
        ax2.semilogy(steps, [r["rel_l2"] for r in history], color="C3", label="rel. L2 error")
        ax2.set_ylabel("relative L2 error", color="C3")
    ax.set_title("training history (dashed: stage changes)")
    fig.savefig(path, dpi=110)
    return Path(path)
