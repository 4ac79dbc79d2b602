"""MeshDomain: a mesh file as the domain -- measures, uniform sampling, outward normals, point
location, named boundary parts -- and results written back onto the same mesh."""
import math

import meshio
import numpy as np
import pytest
import torch
import vtk
from vtk.util.numpy_support import vtk_to_numpy

import physolve as ps
from physolve.geometry import MeshDomain
from physolve.io import write_solution
from physolve.pde.library import mesh_file

PLATE = str(mesh_file("plate_with_hole.msh"))  # 2 x 1 plate, hole of radius 0.25 at (1, 0.5)


@pytest.fixture(scope="module")
def plate():
    return MeshDomain(PLATE)


def _cube_tetra(n: int = 3) -> meshio.Mesh:
    """The unit cube as n^3 cubes of 6 tetrahedra each (Kuhn triangulation)."""
    g = np.linspace(0, 1, n + 1)
    pts = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    idx = np.arange(len(pts)).reshape(n + 1, n + 1, n + 1)
    tets = []
    paths = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]
    for i in range(n):
        for j in range(n):
            for k in range(n):
                for path in paths:
                    v = np.array([i, j, k])
                    chain = [idx[tuple(v)]]
                    for axis in path:
                        v = v.copy()
                        v[axis] += 1
                        chain.append(idx[tuple(v)])
                    tets.append(chain)
    return meshio.Mesh(pts, [("tetra", np.array(tets))])


def _edge_lengths(corners):
    return np.linalg.norm(corners[:, 1] - corners[:, 0], axis=1)


def test_measures_match_the_file(plate):
    mesh = meshio.read(PLATE)
    tri = mesh.points[mesh.cells_dict["triangle"]][:, :, :2]
    v0, v1 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    area = 0.5 * np.abs(v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]).sum()
    assert plate.volume() == pytest.approx(area, rel=1e-12)
    assert plate.volume() == pytest.approx(2 - math.pi / 16, rel=5e-3)   # a polygonal hole
    assert plate.labels() == ["mesh.outer", "mesh.hole"]                  # gmsh physical names
    assert plate.boundary_measure("outer") == pytest.approx(6.0, rel=1e-12)
    lines = mesh.points[mesh.cells_dict["line"]][:, :, :2]
    assert plate.boundary_measure() == pytest.approx(_edge_lengths(lines).sum(), rel=1e-12)


def test_interior_samples_are_uniform_and_inside(plate):
    x = plate.sample_interior(20000, method="uniform", seed=0)
    assert plate.contains(x).all()
    # The plate is symmetric about x = 1 and y = 0.5: each half holds half the points.
    for frac in ((x[:, 0] < 1).double().mean(), (x[:, 1] < 0.5).double().mean()):
        assert abs(float(frac) - 0.5) < 3 * math.sqrt(0.25 / 20000)
    # Points per unit area in a box away from the hole match the average density.
    box = ((x[:, 0] < 0.5) & (x[:, 1] < 0.5)).double().mean() * plate.volume() / 0.25
    assert abs(float(box) - 1) < 4 * math.sqrt(1 / (20000 * 0.25 / plate.volume()))
    again = plate.sample_interior(100, method="sobol", seed=3)
    assert torch.equal(again, plate.sample_interior(100, method="sobol", seed=3))


def test_boundary_samples_have_outward_unit_normals(plate):
    b = plate.sample_boundary(4000, method="sobol", seed=1)
    assert plate.on_boundary(b.points, tol=1e-9).all()
    assert torch.allclose(b.normals.norm(dim=1), torch.ones(len(b), dtype=torch.float64),
                          atol=1e-12)
    eps = 1e-4
    assert not plate.contains(b.points + eps * b.normals).any()
    assert plate.contains(b.points - eps * b.normals).all()
    hole = torch.tensor([lab == "mesh.hole" for lab in b.labels])
    toward_center = ((torch.tensor([1.0, 0.5]) - b.points[hole]) * b.normals[hole]).sum(1)
    assert (toward_center > 0).all()   # out of the domain is into the hole
    assert int(hole.sum()) == pytest.approx(4000 * plate.boundary_measure("hole")
                                            / plate.boundary_measure(), abs=1)
    assert torch.allclose(plate.boundary_normal(b.points), b.normals, atol=1e-12)


def test_contains_and_signed_distance(plate):
    pts = torch.tensor([[0.2, 0.2], [1.0, 0.5], [1.0, 0.8], [2.5, 0.5], [1.9, 0.99]],
                       dtype=torch.float64)
    assert plate.contains(pts).tolist() == [True, False, True, False, True]
    sdf = plate.sdf(pts)
    assert sdf[0] == pytest.approx(-0.2, abs=1e-12)        # nearest: the wall y = 0 or x = 0
    assert sdf[3] == pytest.approx(0.5, abs=1e-12)
    assert sdf[1] == pytest.approx(0.25, abs=3e-3)         # the hole's centre
    assert sdf[4] == pytest.approx(-0.01, abs=1e-12)


def test_tetrahedral_cube():
    cube = MeshDomain(_cube_tetra())
    assert cube.dim == 3
    assert cube.volume() == pytest.approx(1.0, rel=1e-12)
    assert cube.boundary_measure() == pytest.approx(6.0, rel=1e-12)
    x = cube.sample_interior(30000, method="sobol", seed=0)
    assert cube.contains(x).all()
    np.testing.assert_allclose(x.mean(0).numpy(), 0.5, atol=5e-3)
    np.testing.assert_allclose(x.var(0).numpy(), 1 / 12, atol=3e-3)  # uniform on [0, 1]
    b = cube.sample_boundary(600, seed=0)
    # Each point's normal is the unit vector of the face it lies on.
    face_axis = torch.argmin(torch.minimum(b.points, 1 - b.points), dim=1)
    expected = torch.zeros_like(b.points)
    rows = torch.arange(len(b))
    expected[rows, face_axis] = torch.where(b.points[rows, face_axis] > 0.5, 1.0, -1.0).double()
    assert torch.allclose(b.normals, expected, atol=1e-12)


def test_solution_is_written_back_on_the_same_mesh(tmp_path):
    problem = ps.problems.get("poisson_mesh")()
    solver = ps.PINN(width=6, depth=1)
    solver.setup(problem, dtype=torch.float64, device="cpu", seed=0)
    path = write_solution(problem, solver, tmp_path / "plate.vtu")[0]
    reader = vtk.vtkXMLUnstructuredGridReader()
    reader.SetFileName(str(path))
    reader.Update()
    grid = reader.GetOutput()
    mesh = meshio.read(PLATE)
    np.testing.assert_array_equal(vtk_to_numpy(grid.GetPoints().GetData())[:, :2],
                                  mesh.points[:, :2])
    cells = vtk_to_numpy(grid.GetCells().GetConnectivityArray()).reshape(-1, 3)
    np.testing.assert_array_equal(cells, mesh.cells_dict["triangle"])
    ref = vtk_to_numpy(grid.GetPointData().GetArray("u_reference"))
    xy = mesh.points[:, :2]
    np.testing.assert_allclose(ref, np.sin(np.pi * xy[:, 0]) * np.sin(np.pi * xy[:, 1]),
                               atol=1e-14)
