"""Regenerate physolve/data/meshes/plate_with_hole.msh, the sample mesh of `poisson_mesh`.

A 2 x 1 plate with a hole of radius 0.25, triangulated by physolve's own output mesher and
written in gmsh's format with the boundary edges as line cells in two physical groups,
"outer" and "hole", so that the MeshDomain read from it has those boundary parts.

    .venv/bin/python tools/make_sample_mesh.py
"""
from pathlib import Path

import meshio
import numpy as np
import torch

from physolve.geometry import Disk, Rectangle
from physolve.io.meshing import output_mesh

OUT = Path(__file__).resolve().parents[1] / "physolve" / "data" / "meshes" / "plate_with_hole.msh"


def main(resolution: int = 33) -> None:
    hole = Disk((1.0, 0.5), 0.25, name="hole")
    domain = Rectangle((0.0, 0.0), (2.0, 1.0), name="outer") - hole
    mesh = output_mesh(domain, resolution)
    triangles = mesh.cells[0][1]
    # Boundary edges: those of exactly one triangle; on the circle or on the rectangle.
    edges = np.sort(triangles[:, [[0, 1], [1, 2], [2, 0]]].reshape(-1, 2), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    boundary = unique[counts == 1]
    mid = torch.from_numpy(mesh.points[boundary].mean(1))
    on_hole = (hole.sdf(mid).abs() < 0.05).numpy()
    lines = np.concatenate([boundary[~on_hole], boundary[on_hole]])
    tags = np.concatenate([np.full((~on_hole).sum(), 1), np.full(on_hole.sum(), 2)])
    points = np.c_[mesh.points, np.zeros(len(mesh.points))]
    out = meshio.Mesh(
        points, [("line", lines), ("triangle", triangles)],
        cell_data={"gmsh:physical": [tags, np.full(len(triangles), 3)],
                   "gmsh:geometrical": [tags, np.full(len(triangles), 3)]},
        field_data={"outer": np.array([1, 1]), "hole": np.array([2, 1]),
                    "plate": np.array([3, 2])},
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    meshio.write(OUT, out, file_format="gmsh22", binary=False)
    print(f"{OUT}: {len(points)} nodes, {len(triangles)} triangles, {len(lines)} boundary edges")


if __name__ == "__main__":
    main()
