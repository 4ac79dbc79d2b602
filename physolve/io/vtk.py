"""ParaView output through meshio: VTU files, PVD time series and XDMF.

What is written for a problem and a trained solver:
- the solution on a mesh of the domain (see meshing.py), with the reference and the pointwise
  error (prediction - reference) where the reference can be evaluated anywhere (`Analytic`);
- time-dependent problems as a time series: one VTU per output time indexed by a PVD file, or
  one XDMF file with its HDF5 data; ParaView animates either. With one space dimension the
  x-t plane is written as well (`<name>_xt.vtu`);
- reference data known only at its own nodes (`ReferenceData`) on those nodes, with the
  prediction and the error there (`<name>_reference.vtu`);
- outputs that form a vector (u, v[, w] with as many space dimensions, or declared with
  `vectors={"velocity": ["u", "v"]}`) as one 3-component vector array.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence
from xml.sax.saxutils import quoteattr

import numpy as np
import torch

from .meshing import OutputMesh, node_mesh, output_mesh, output_times, spatial_domain

FORMATS = ("vtu", "xdmf")
_SUFFIXES = {".vtu": "vtu", ".pvd": "vtu", ".xdmf": "xdmf"}
_AUTO_VECTOR = ("u", "v", "w")


def vector_groups(outputs: Sequence[str], n_space: int,
                  declared: Mapping[str, Sequence[str]] | None = None) -> dict[str, list[str]]:
    """Vector arrays to write: the declared ones, or u, v[, w] when they match the space."""
    if declared:
        groups = {name: list(comps) for name, comps in declared.items()}
        for name, comps in groups.items():
            bad = [c for c in comps if c not in outputs]
            if bad or not 2 <= len(comps) <= 3:
                raise ValueError(f"vectors: {name!r} must list 2 or 3 of the outputs "
                                 f"{list(outputs)}, got {comps}")
        return groups
    comps = list(_AUTO_VECTOR[:n_space])
    if n_space >= 2 and all(c in outputs for c in comps):
        return {"".join(comps): comps}
    return {}


def named_arrays(values: np.ndarray, names: Sequence[str], vectors: Mapping[str, list[str]],
                 suffix: str = "") -> dict[str, np.ndarray]:
    """Columns of `values` by output name, vector groups stacked into (N, 3) arrays."""
    out, used = {}, set()
    for group, comps in vectors.items():
        if all(c in names for c in comps):
            vec = np.zeros((values.shape[0], 3))
            vec[:, :len(comps)] = values[:, [names.index(c) for c in comps]]
            out[group + suffix] = vec
            used.update(comps)
    for j, name in enumerate(names):
        if name not in used:
            out[name + suffix] = np.ascontiguousarray(values[:, j])
    return out


def point_arrays(problem, solver, points: np.ndarray, vectors: Mapping[str, list[str]]
                 ) -> dict[str, np.ndarray]:
    """Prediction, and reference and error where the reference is evaluable, at `points`."""
    pts = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float64))
    pred = solver.predict(pts).numpy()
    arrays = named_arrays(pred, problem.outputs, vectors)
    ref = problem.reference
    values = evaluable_reference(ref, pts)
    if values is not None:
        names = list(ref.outputs)
        arrays.update(named_arrays(values, names, vectors, "_reference"))
        arrays.update(named_arrays(pred[:, ref.output_index] - values, names, vectors, "_error"))
    return arrays


def evaluable_reference(ref, points: torch.Tensor) -> np.ndarray | None:
    """Reference values at arbitrary points, or None when it has values only at its nodes."""
    if ref is None:
        return None
    try:
        return ref(points).numpy()
    except NotImplementedError:
        return None


def _with_time(points: np.ndarray, t: float) -> np.ndarray:
    return np.concatenate([points, np.full((points.shape[0], 1), t)], 1)


def _points3(points: np.ndarray) -> np.ndarray:
    """VTK points are 3-D: pad 1- and 2-D coordinates with zeros."""
    out = np.zeros((points.shape[0], 3))
    out[:, :points.shape[1]] = points
    return out


def write_vtu(path: Path, mesh: OutputMesh, arrays: Mapping[str, np.ndarray]) -> Path:
    import meshio

    meshio.write(path, meshio.Mesh(_points3(mesh.points), mesh.cells, point_data=dict(arrays)),
                 file_format="vtu")
    return path


def write_pvd(path: Path, files: Sequence[tuple[float, Path]]) -> Path:
    """A ParaView collection: one dataset per time, files given relative to the PVD."""
    rows = "".join(f'    <DataSet timestep="{t!r}" group="" part="0" '
                   f'file={quoteattr(f.name)}/>\n' for t, f in files)
    path.write_text('<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1" '
                    'byte_order="LittleEndian">\n  <Collection>\n' + rows +
                    '  </Collection>\n</VTKFile>\n', encoding="utf-8")
    return path


def solution_path(path: str | Path, fmt: str = "vtu") -> Path:
    """The file to write for `path`: a name ending in .vtu, .pvd or .xdmf as it is; a
    directory (an existing one, or a path without a suffix) gets "solution.vtu" or
    "solution.xdmf" inside it, the names of a run directory's vtk/ files."""
    path = Path(path)
    if path.suffix in _SUFFIXES:
        return path
    if path.suffix and not path.is_dir():
        raise ValueError(f"write_solution: {path.name!r} must end in one of "
                         f"{', '.join(_SUFFIXES)}, or name a directory")
    if fmt not in FORMATS:
        raise ValueError(f"write_solution: unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    return path / f"solution.{fmt}"


def write_solution(problem, solver, path: str | Path, resolution: int | None = None,
                   times: int = 11, vectors: Mapping[str, Sequence[str]] | None = None
                   ) -> list[Path]:
    """Write a trained solver's solution for ParaView; returns the files written.

    path: "<name>.vtu" or "<name>.pvd" (VTU files; a PVD index for time series) or
        "<name>.xdmf" (XDMF with HDF5 data, one step per output time); or a directory, which
        gets solution.vtu (solution.pvd + solution_NNNN.vtu for time series) as in a run
        directory (see solution_path).
    resolution: points along the longest side of the domain (MeshDomain: its own mesh).
    times: number of output times for time-dependent problems.
    vectors: vector arrays by name, e.g. {"velocity": ["u", "v"]} (default: u, v[, w]).
    """
    path = solution_path(path)
    fmt = _SUFFIXES[path.suffix]
    path.parent.mkdir(parents=True, exist_ok=True)
    space = spatial_domain(problem.domain)
    mesh = output_mesh(space, resolution)
    groups = vector_groups(problem.outputs, len(problem.spatial), vectors)
    stamps = output_times(problem, times)
    frames = ([(None, point_arrays(problem, solver, mesh.points, groups))] if stamps is None else
              [(float(t), point_arrays(problem, solver, _with_time(mesh.points, t), groups))
               for t in stamps])
    written = (_write_xdmf(path, mesh, frames) if fmt == "xdmf"
               else _write_vtu_frames(path, mesh, frames))
    if stamps is not None and space.dim == 1:  # the x-t plane, the usual picture in 1-D
        plane = output_mesh(problem.domain, resolution)
        written.append(write_vtu(path.with_name(f"{path.stem}_xt.vtu"), plane,
                                 point_arrays(problem, solver, plane.points, groups)))
    ref = problem.reference
    if ref is not None and evaluable_reference(ref, ref.points()[:1]) is None:
        written.append(write_reference_nodes(problem, solver,
                                             path.with_name(f"{path.stem}_reference.vtu"),
                                             groups))
    return written


def _write_vtu_frames(path: Path, mesh: OutputMesh, frames) -> list[Path]:
    if frames[0][0] is None:
        return [write_vtu(path.with_suffix(".vtu"), mesh, frames[0][1])]
    files = [(t, write_vtu(path.with_name(f"{path.stem}_{i:04d}.vtu"), mesh, arrays))
             for i, (t, arrays) in enumerate(frames)]
    return [write_pvd(path.with_suffix(".pvd"), files)] + [f for _, f in files]


def _write_xdmf(path: Path, mesh: OutputMesh, frames) -> list[Path]:
    import meshio
    from meshio.xdmf import TimeSeriesWriter

    points = _points3(mesh.points)
    if frames[0][0] is None:
        meshio.write(path, meshio.Mesh(points, mesh.cells, point_data=frames[0][1]),
                     file_format="xdmf")
    else:
        # meshio's TimeSeriesWriter puts the HDF5 file in the working directory, whatever the
        # path of the XDMF file: write from the target directory.
        cwd = os.getcwd()
        os.chdir(path.parent)
        try:
            with TimeSeriesWriter(path.name) as writer:
                writer.write_points_cells(points, mesh.cells)
                for t, arrays in frames:
                    writer.write_data(t, point_data=arrays)
        finally:
            os.chdir(cwd)
    # ParaView's Xdmf3 readers abort on a Polyline topology (meshio's line cells) that does not
    # say how many nodes an element has.
    text = path.read_text(encoding="utf-8")
    if 'TopologyType="Polyline"' in text and "NodesPerElement" not in text:
        path.write_text(text.replace('TopologyType="Polyline"',
                                     'TopologyType="Polyline" NodesPerElement="2"'),
                        encoding="utf-8")
    return [path, path.with_suffix(".h5")]


def write_reference_nodes(problem, solver, path: Path, vectors: Mapping[str, list[str]]
                          ) -> Path:
    """Reference data on its own nodes, with the prediction and the error there."""
    ref = problem.reference
    pts = ref.points().numpy()
    pred = solver.predict(ref.points()).numpy()[:, ref.output_index]
    values = ref.values().numpy()
    names = list(ref.outputs)
    arrays = {**named_arrays(pred, names, vectors), **named_arrays(values, names, vectors,
                                                                 "_reference"),
              **named_arrays(pred - values, names, vectors, "_error")}
    return write_vtu(path, node_mesh(problem.domain, pts), arrays)
