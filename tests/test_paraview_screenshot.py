"""tools/paraview_screenshot.py chooses what to show without ParaView: the x-t plane of a 1-D
time-dependent run, the last step of other time series, the steady solution."""
import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "paraview_screenshot.py"


@pytest.fixture(scope="module")
def choose_files():
    spec = importlib.util.spec_from_file_location("paraview_screenshot", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imports no ParaView at module level
    return module.choose_files


def _vtk(tmp_path, *names) -> Path:
    for name in names:
        (tmp_path / name).write_text("")
    return tmp_path


def test_a_1d_space_time_run_shows_its_x_t_plane(tmp_path, choose_files):
    d = _vtk(tmp_path, "solution.pvd", "solution_0000.vtu", "solution_0010.vtu",
             "solution_xt.vtu")
    assert choose_files(str(d)) == {"solution": str(d / "solution_xt.vtu"),
                                    "errors": str(d / "solution_xt.vtu"),
                                    "time_series": False, "plane": ("x", "t")}


def test_reference_data_gives_the_error_view(tmp_path, choose_files):
    d = _vtk(tmp_path, "solution.pvd", "solution_xt.vtu", "solution_reference.vtu")
    files = choose_files(str(d))
    assert files["solution"] == str(d / "solution_xt.vtu")
    assert files["errors"] == str(d / "solution_reference.vtu")


def test_other_time_series_show_their_last_step(tmp_path, choose_files):
    d = _vtk(tmp_path, "solution.pvd", "solution_0000.vtu")
    assert choose_files(str(d)) == {"solution": str(d / "solution.pvd"),
                                    "errors": str(d / "solution.pvd"),
                                    "time_series": True, "plane": None}


def test_a_steady_run_shows_its_solution(tmp_path, choose_files):
    d = _vtk(tmp_path, "solution.vtu")
    files = choose_files(str(d))
    assert files["solution"] == str(d / "solution.vtu") and not files["time_series"]


def test_an_empty_directory_is_refused(tmp_path, choose_files):
    with pytest.raises(SystemExit, match="no solution_xt.vtu, solution.pvd or solution.vtu"):
        choose_files(str(tmp_path))
