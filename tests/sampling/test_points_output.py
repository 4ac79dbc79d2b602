"""The points a run trains on are inspectable: VTU point clouds that round-trip through
meshio, PNG scatters, written every K rounds into the run directory; the four
poisson_two_peak experiments build and differ in their sampler only."""
import meshio
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from physolve.config import build, config_dir, validate
from physolve.io.points import plot_points, write_points
from physolve.runner import train_run

SAMPLERS = ("uniform", "rar", "rad", "aas")


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_point_clouds_round_trip_through_meshio(tmp_path, dim):
    rng = np.random.default_rng(0)
    pts = rng.random((57, dim))
    res = rng.random(57)
    path = write_points(tmp_path / "p.vtu", pts, {"residual": res})
    mesh = meshio.read(path)
    assert np.array_equal(mesh.points[:, :dim], pts) and not mesh.points[:, dim:].any()
    assert np.array_equal(mesh.point_data["residual"], res)
    assert mesh.cells[0].type == "vertex" and len(mesh.cells[0].data) == 57


def test_scatter_is_written_for_2d_only(tmp_path):
    assert plot_points(tmp_path / "a.png", np.zeros((5, 2)), np.ones(5)).stat().st_size > 1000
    assert plot_points(tmp_path / "b.png", np.zeros((5, 3))) is None


def test_a_run_writes_its_points_every_k_rounds(tmp_path):
    config = {"problem": {"name": "poisson_two_peak", "a": 10.0, "resolution": 11},
              "model": {"name": "pinn", "width": 4, "depth": 1, "n_interior": 40,
                        "n_boundary": 8, "sampler": "rar",
                        "sampler_options": {"k": 5, "candidates": 100}},
              "optim": {"stages": [{"name": "adam", "steps": 12}]},
              "trainer": {"seed": 0, "progress": False, "resample_every": 2},
              "output": {"formats": [], "plots": False, "points_every": 2}}
    train_run(config, tmp_path)
    names = sorted(p.name for p in (tmp_path / "points").iterdir())
    assert names == ["points_0000.vtu", "points_0002.vtu", "points_0004.vtu"]
    assert (tmp_path / "plots" / "points_0004.png").is_file()
    mesh = meshio.read(tmp_path / "points" / "points_0004.vtu")
    assert len(mesh.points) == 40 + 4 * 5 and (mesh.point_data["residual"] >= 0).all()


def _experiment(name):
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("config", overrides=[f"experiment={name}"])
    return OmegaConf.to_container(cfg, resolve=True)


def test_the_two_peak_experiments_build_and_differ_in_the_sampler_only():
    configs = {s: _experiment(f"poisson_two_peak_{s}") for s in SAMPLERS}
    rest = []
    for s, c in configs.items():
        assert c["model"]["sampler"] == s
        rest.append({**c, "model": {k: v for k, v in c["model"].items()
                                    if k not in ("sampler", "sampler_options")}})
    assert all(r == rest[0] for r in rest)
    assert rest[0]["problem"] == {"name": "poisson_two_peak", "a": 1000.0, "resolution": 301}
    assert rest[0]["trainer"]["clock"] == "process" and rest[0]["trainer"]["time_limit"] > 0
    problem, solver, trainer = build(validate(configs["aas"]))
    assert problem.name == "poisson_two_peak" and solver.sampler.name == "aas"
    assert solver.n_interior == 2000 and trainer.resample_every > 0
