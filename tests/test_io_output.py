"""ParaView output read back with VTK's own XML and XDMF readers: arrays, point counts, cell
types, time steps; meshes of domains with holes have no cells in the holes; plots."""
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
import vtk
from vtk.util.numpy_support import vtk_to_numpy

import physolve as ps
from physolve.geometry import Disk, Interval, Rectangle, TimeInterval
from physolve.io.meshing import output_mesh
from physolve.io.vtk import write_solution

VTK_LINE, VTK_TRIANGLE, VTK_QUAD = 3, 5, 9


def _read_vtu(path):
    reader = vtk.vtkXMLUnstructuredGridReader()
    reader.SetFileName(str(path))
    reader.Update()
    return reader.GetOutput()


def _arrays(grid) -> dict[str, np.ndarray]:
    pd = grid.GetPointData()
    return {pd.GetArrayName(i): vtk_to_numpy(pd.GetArray(i)) for i in range(pd.GetNumberOfArrays())}


def _points(grid) -> np.ndarray:
    return vtk_to_numpy(grid.GetPoints().GetData())


def _cell_types(grid) -> set[int]:
    return {grid.GetCellType(i) for i in range(grid.GetNumberOfCells())}


def _setup(problem, **kw):
    solver = ps.PINN(width=6, depth=1, **kw)
    solver.setup(problem, dtype=torch.float64, device="cpu", seed=0)
    return solver


def _predict(solver, pts):
    return solver.predict(torch.from_numpy(np.ascontiguousarray(pts))).numpy()


def _sine(x, y):
    return torch.sin(math.pi * x) * torch.cos(y)


def test_box_gives_quads_with_solution_reference_and_error(tmp_path):
    problem = ps.Problem(Rectangle((0, 0), (2, 1)), lambda f: f.u.xx + f.u.yy,
                         conditions=[ps.Dirichlet(0.0)],
                         reference=ps.reference.Analytic(_sine))
    solver = _setup(problem)
    files = write_solution(problem, solver, tmp_path / "box.vtu", resolution=21)
    assert [f.name for f in files] == ["box.vtu"]
    grid = _read_vtu(tmp_path / "box.vtu")
    assert grid.GetNumberOfPoints() == 21 * 11 and grid.GetNumberOfCells() == 20 * 10
    assert _cell_types(grid) == {VTK_QUAD}
    arrays, xyz = _arrays(grid), _points(grid)
    assert set(arrays) == {"u", "u_reference", "u_error"}
    x, y = torch.from_numpy(xyz[:, 0]), torch.from_numpy(xyz[:, 1])
    np.testing.assert_allclose(arrays["u_reference"], _sine(x, y).numpy(), atol=1e-14)
    np.testing.assert_allclose(arrays["u"], _predict(solver, xyz[:, :2])[:, 0], atol=1e-14)
    np.testing.assert_allclose(arrays["u_error"], arrays["u"] - arrays["u_reference"], atol=1e-14)


def _plate():
    domain = Rectangle((-0.5, -0.5), (0.5, 0.5), name="outer")
    centers = [(cx, cy) for cx in (-0.3, 0.3) for cy in (-0.3, 0.3)]
    for c in centers:
        domain = domain - Disk(c, 0.1, name="hole")
    return domain, centers


def _inside_any_triangle(points, corners) -> np.ndarray:
    """For each point, whether it lies in one of the triangles (barycentric test)."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    v0, v1 = b - a, c - a
    det = v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]
    rel = points[:, None, :] - a[None]
    s = (rel[..., 0] * v1[:, 1] - rel[..., 1] * v1[:, 0]) / det
    t = (v0[:, 0] * rel[..., 1] - v0[:, 1] * rel[..., 0]) / det
    return ((s >= 0) & (t >= 0) & (s + t <= 1)).any(1)


def test_domain_with_holes_has_no_cells_inside_the_holes(tmp_path):
    domain, centers = _plate()
    problem = ps.Problem(domain, lambda f: f.u.xx + f.u.yy, conditions=[ps.Dirichlet(0.0)])
    write_solution(problem, _setup(problem), tmp_path / "plate.vtu", resolution=61)
    grid = _read_vtu(tmp_path / "plate.vtu")
    assert _cell_types(grid) == {VTK_TRIANGLE}
    xy = _points(grid)[:, :2]
    cells = vtk_to_numpy(grid.GetCells().GetConnectivityArray()).reshape(-1, 3)
    corners = xy[cells]
    # Points filling each hole up to 0.95 of its radius: none may fall in a cell.
    r, a = np.meshgrid(np.linspace(0, 0.095, 8), np.linspace(0, 2 * np.pi, 24, endpoint=False))
    ring = np.stack([r.ravel() * np.cos(a.ravel()), r.ravel() * np.sin(a.ravel())], 1)
    holes = np.concatenate([ring + np.array(c) for c in centers])
    assert not _inside_any_triangle(holes, corners).any()
    # ... while the cells cover the domain: total area = 1 - 4 pi 0.1^2 up to the chords.
    v0, v1 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    area = 0.5 * np.abs(v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]).sum()
    assert area == pytest.approx(1 - 4 * math.pi * 0.01, rel=2e-3)
    assert area > 1 - 4 * math.pi * 0.01  # the holes are polygons inscribed in their circles


def test_data_reference_is_written_on_its_own_nodes(tmp_path):
    problem = ps.problems.get("poisson2d_c")()
    solver = _setup(problem)
    files = write_solution(problem, solver, tmp_path / "c.vtu", resolution=41)
    assert [f.name for f in files] == ["c.vtu", "c_reference.vtu"]
    assert set(_arrays(_read_vtu(files[0]))) == {"u"}   # nothing to compare on the mesh
    grid = _read_vtu(files[1])
    nodes = problem.reference.points().numpy()
    assert grid.GetNumberOfPoints() == len(nodes)
    np.testing.assert_array_equal(_points(grid)[:, :2], nodes)
    arrays = _arrays(grid)
    np.testing.assert_array_equal(arrays["u_reference"], problem.reference.values().numpy()[:, 0])
    np.testing.assert_allclose(arrays["u_error"], arrays["u"] - arrays["u_reference"], atol=1e-14)
    assert grid.GetNumberOfCells() > len(nodes) and _cell_types(grid) == {VTK_TRIANGLE}


def _heat():
    def exact(x, t):
        return torch.exp(-t) * torch.sin(math.pi * x)

    return ps.Problem(Interval(0, 1) * TimeInterval(0, 2), lambda f: f.u.t - f.u.xx,
                      conditions=[ps.Initial(lambda x: torch.sin(math.pi * x)), ps.Dirichlet(0.0)],
                      reference=ps.reference.Analytic(exact)), exact


def test_time_series_pvd_has_one_vtu_per_output_time(tmp_path):
    problem, exact = _heat()
    solver = _setup(problem)
    files = write_solution(problem, solver, tmp_path / "heat.pvd", resolution=31, times=5)
    assert [f.name for f in files] == ["heat.pvd"] + [f"heat_{i:04d}.vtu" for i in range(5)] \
        + ["heat_xt.vtu"]
    entries = ET.parse(tmp_path / "heat.pvd").getroot().find("Collection").findall("DataSet")
    times = [float(e.get("timestep")) for e in entries]
    assert times == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])
    for t, entry in zip(times, entries):
        grid = _read_vtu(tmp_path / entry.get("file"))
        assert grid.GetNumberOfPoints() == 31 and _cell_types(grid) == {VTK_LINE}
        x = _points(grid)[:, 0]
        arrays = _arrays(grid)
        np.testing.assert_allclose(arrays["u_reference"],
                                   exact(torch.from_numpy(x), torch.tensor(t)).numpy(), atol=1e-14)
        pred = _predict(solver, np.c_[x, np.full_like(x, t)])[:, 0]
        np.testing.assert_allclose(arrays["u"], pred, atol=1e-14)
    plane = _read_vtu(tmp_path / "heat_xt.vtu")   # the x-t plane: quads, t as second axis
    assert _cell_types(plane) == {VTK_QUAD} and _points(plane)[:, 1].max() == 2.0


def test_time_series_xdmf_has_one_step_per_output_time(tmp_path):
    problem, exact = _heat()
    write_solution(problem, _setup(problem), tmp_path / "heat.xdmf", resolution=31, times=4)
    topology = ET.parse(tmp_path / "heat.xdmf").getroot().find(".//Topology")
    assert topology.get("NodesPerElement") == "2"  # ParaView's Xdmf3 readers need it for lines
    from vtkmodules.vtkCommonExecutionModel import vtkStreamingDemandDrivenPipeline as pipeline

    reader = vtk.vtkXdmfReader()
    reader.SetFileName(str(tmp_path / "heat.xdmf"))
    reader.UpdateInformation()
    steps = reader.GetOutputInformation(0).Get(pipeline.TIME_STEPS())
    assert steps == pytest.approx([0, 2 / 3, 4 / 3, 2])
    reader.UpdateTimeStep(steps[2])
    block = reader.GetOutputDataObject(0).GetBlock(0)
    assert block.GetNumberOfPoints() == 31
    x = _points(block)[:, 0]
    np.testing.assert_allclose(_arrays(block)["u_reference"],
                               exact(torch.from_numpy(x), torch.tensor(steps[2])).numpy(),
                               atol=1e-14)


def _flow(outputs="u v p"):
    def exact(x, y):
        return torch.sin(y), -torch.sin(x), x * y

    return ps.Problem(Rectangle((0, 0), (1, 1)), lambda f: [f.u.x + f.v.y, f.p], outputs=outputs,
                      conditions=[ps.Dirichlet(0.0, output="u")],
                      reference=ps.reference.Analytic(exact))


@pytest.mark.parametrize("vectors, name", [(None, "uv"), ({"velocity": ["u", "v"]}, "velocity")])
def test_vector_unknowns_become_vector_arrays(tmp_path, vectors, name):
    problem = _flow()
    solver = _setup(problem)
    write_solution(problem, solver, tmp_path / "flow.vtu", resolution=11, vectors=vectors)
    grid = _read_vtu(tmp_path / "flow.vtu")
    arrays = _arrays(grid)
    assert set(arrays) == {name, "p", f"{name}_reference", "p_reference", f"{name}_error",
                           "p_error"}
    assert grid.GetPointData().GetArray(name).GetNumberOfComponents() == 3
    xy = _points(grid)[:, :2]
    pred = _predict(solver, xy)
    np.testing.assert_allclose(arrays[name][:, :2], pred[:, :2], atol=1e-14)
    assert not arrays[name][:, 2].any()
    np.testing.assert_allclose(arrays[f"{name}_reference"][:, 1], -np.sin(xy[:, 0]), atol=1e-14)


def test_solution_to_vtk_from_the_python_api(tmp_path):
    problem = ps.problems.get("poisson1d")()
    sol = ps.solve(problem, ps.PINN(width=6, depth=1, n_interior=16), optim=["adam:3"],
                   progress=False)
    files = sol.to_vtk(tmp_path / "p.vtu", resolution=11)
    grid = _read_vtu(files[0])
    assert grid.GetNumberOfPoints() == 11
    np.testing.assert_allclose(_arrays(grid)["u_reference"], np.sin(np.pi * _points(grid)[:, 0]),
                               atol=1e-14)


def test_output_mesh_of_a_polygon_keeps_its_notch_empty():
    notch = ps.geometry.Polygon([(0, 0), (1, 0), (1, 1), (0.5, 0.2), (0, 1)])
    mesh = output_mesh(notch, 41)
    corners = mesh.points[mesh.cells[0][1]]
    inside = _inside_any_triangle(np.array([[0.5, 0.6], [0.5, 0.9], [0.3, 0.8]]), corners)
    assert not inside.any()


def test_plots_use_no_pyplot_and_leave_the_backend_alone(tmp_path):
    import subprocess
    import sys

    # The raw rcParams entry: matplotlib.get_backend() would itself import pyplot.
    code = ("import matplotlib, sys, torch, physolve as ps\n"
            "from physolve.io.plots import plot_solution\n"
            "raw = lambda: dict.__getitem__(matplotlib.rcParams, 'backend')\n"
            "before = raw()\n"
            "p = ps.problems.get('helmholtz2d')(); s = ps.PINN(width=4, depth=1)\n"
            "s.setup(p, dtype=torch.float64, device='cpu', seed=0)\n"
            f"plot_solution(p, s, r'{tmp_path / 's.png'}', resolution=11)\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n"
            "assert raw() == before, (raw(), before)\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    from matplotlib.image import imread
    assert imread(tmp_path / "s.png").shape[2] in (3, 4)


def _small_solution(problem, steps=3):
    return ps.solve(problem, ps.PINN(width=6, depth=1, n_interior=16), optim=[f"adam:{steps}"],
                    progress=False)


def test_to_vtk_given_a_directory_writes_a_run_directorys_names(tmp_path):
    # A path without a suffix used to be refused ("must end in one of .vtu, .pvd, .xdmf").
    problem = ps.Problem(Interval(0, 1) * TimeInterval(0, 1), lambda f: f.u.t - f.u.xx,
                         inputs="x t", outputs="u", conditions=[ps.Initial(0.0)])
    files = _small_solution(problem).to_vtk(tmp_path / "runs" / "heat", resolution=9, times=3)
    names = sorted(f.name for f in files)
    assert names == ["solution.pvd", "solution_0000.vtu", "solution_0001.vtu",
                     "solution_0002.vtu", "solution_xt.vtu"]
    assert all(f.parent == tmp_path / "runs" / "heat" for f in files)
    assert _read_vtu(tmp_path / "runs" / "heat" / "solution_0002.vtu").GetNumberOfPoints() == 9


def test_to_vtk_refuses_an_unknown_suffix_naming_the_allowed_ones(tmp_path):
    sol = _small_solution(ps.problems.get("poisson1d")())
    with pytest.raises(ValueError, match=r"'p\.vtk' must end in one of \.vtu, \.pvd, \.xdmf"):
        sol.to_vtk(tmp_path / "p.vtk")


def test_solution_plot_saves_pngs_of_the_solution_error_and_loss(tmp_path):
    from matplotlib.image import imread

    sol = _small_solution(ps.problems.get("poisson1d")(), steps=4)
    for what in ("solution", "error", "loss"):
        path = sol.plot(tmp_path / f"{what}.png", what=what, resolution=21)
        assert path == tmp_path / f"{what}.png"
        image = imread(path)
        assert image.shape[0] > 100 and image.shape[2] in (3, 4)
        assert image[..., :3].std() > 0.05  # something is drawn, not a blank frame
    with pytest.raises(ValueError, match="allowed: solution, error, loss"):
        sol.plot(tmp_path / "x.png", what="residual")
