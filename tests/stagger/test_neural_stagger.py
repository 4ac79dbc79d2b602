"""NeuralStagger: decomposition round trip, independent sub-grid networks, data-free residual
training through the trainer lowers the loss and the rollout error against the classical
solver, config validation, and the run's outputs (metrics.json, VTK series, strip PNG)."""
import json

import numpy as np
import pytest
import torch

from physolve.config import ConfigError, build, validate
from physolve.models.neural_stagger import NeuralStagger, StaggeredStepper
from physolve.pde.library import problems
from physolve.pde.solvers import relative_l2
from physolve.train.trainer import Trainer

PROBLEM = {"name": "navier_stokes2d_periodic", "nu": 1e-2, "peak": 2.0}
SMALL = {"name": "neural_stagger", "n": 16, "width": 8, "depth": 1, "batch": 4,
         "baseline_width": 8, "eval_steps": 10, "truth_substeps": 2}


def make(factors=(2, 2, 2), baseline=False, dtype=torch.float64, **kw):
    problem = problems.get("navier_stokes2d_periodic")(nu=1e-2, peak=2.0)
    args = {k: v for k, v in SMALL.items() if k != "name"}
    args.update(kw)
    m = NeuralStagger(factors=factors, baseline=baseline, **args)
    m.setup(problem, dtype=dtype, seed=0)
    return m


def test_split_merge_round_trip_and_staggering():
    s = StaggeredStepper(16, 0.05, (2, 4, 1), 4, 1)
    w = torch.randn(3, 16, 16)
    parts = s.split(w)
    assert parts.shape == (3, 8, 8, 4)
    assert torch.equal(parts[:, 1 * 4 + 3], w[:, 1::2, 3::4])
    assert torch.equal(s.merge(parts), w)


def test_each_subgrid_is_written_by_its_own_network():
    m = make((2, 2, 1))
    for p in m.model.parameters():
        torch.nn.init.normal_(p, std=0.1)
    out = m.model(m.pool[:1])[0, 0]
    g = torch.autograd.grad(out[0::2, 1::2].sum(), m.model.net.proj.weight)[0]  # sub-grid 1
    per_net = g.reshape(4, -1).abs().sum(1)
    assert per_net[1] > 0 and torch.all(per_net[[0, 2, 3]] == 0)


def test_untrained_model_is_identity_and_its_loss_is_the_scheme_residual():
    m = make(baseline=True)
    w = m.pool
    frames = m.model(w)
    assert frames.shape == (2,) + w.shape and torch.equal(frames[1], w)
    expected = m.ns.residual(w, w, m.dt).pow(2).mean()
    total, terms = m.loss()
    assert torch.allclose(terms["residual"], expected)
    assert torch.allclose(total, 2 * expected)  # the baseline starts from the same states


@pytest.mark.parametrize("factors", [(2, 2, 2), (1, 1, 1)])
def test_residual_training_reduces_loss_and_rollout_error(factors):
    m = make(factors)
    truth = m.truth()
    states = m.pool.clone()
    before = relative_l2(m.rollout(4)[-1], truth[4])
    loss_before = float(m.residual_loss(m.model, states).detach())
    Trainer([{"name": "adam", "steps": 150, "lr": 2e-3}], dtype="float64", seed=0, progress=False, metrics_every=0).fit(
        m.problem, m)
    after = relative_l2(m.rollout(4)[-1], truth[4])
    assert float(m.residual_loss(m.model, states).detach()) < 0.7 * loss_before
    assert after < 0.85 * before, (before, after)


def test_predict_interpolates_the_rollout_at_nodes_and_between_time_levels():
    m = make()
    for p in m.model.parameters():
        torch.nn.init.normal_(p, std=0.05)
    frames = m.rollout()
    u, v = m.ns.velocity(frames)
    x, y = m.ns.grid()
    h = m.ns.length / 16
    pts = torch.stack([x.ravel(), y.ravel(), torch.full((256,), 3 * m.dt)], 1)
    got = m.predict(pts)
    assert torch.allclose(got[:, 0], frames[3].ravel().double(), atol=1e-12)
    assert torch.allclose(got[:, 2], v[3].ravel().double(), atol=1e-12)
    mid = m.predict(torch.tensor([[2 * h, 5 * h, 3.5 * m.dt], [16 * h, 0.0, 0.0]]))
    assert torch.allclose(mid[0, 0], 0.5 * (frames[3, 2, 5] + frames[4, 2, 5]).double())
    assert torch.allclose(mid[1, 0], frames[0, 0, 0].double())  # periodic wrap


def _config(**model):
    return {"problem": PROBLEM, "model": {**SMALL, **model},
            "optim": {"stages": [{"name": "adam", "steps": 3, "lr": 1e-3}]},
            "trainer": {"progress": False, "metrics_every": 0, "dtype": "float32"},
            "output": {"formats": ["vtu"], "resolution": 8, "times": 3, "plots": False,
                       "vectors": {"velocity": ["u", "v"]}}}


@pytest.mark.parametrize("key, value, match", [
    ("factors", [2, 2], "list of 3 values"),
    ("factors", [3, 2, 2], "must divide the grid size 16"),
    ("factors", [2, 2, 3], "must divide 10"),
    ("width", 0, "width must be an integer >= 1"),
    ("scheme", "euler", "scheme must be one of"),
    ("colour", 1, "unknown key; allowed keys:"),
])
def test_bad_settings_fail_early_naming_the_key(key, value, match):
    with pytest.raises(ConfigError, match=match) as err:
        build(validate(_config(**{key: value})))
    assert err.value.path == f"model.{key}"


def test_problem_other_than_a_periodic_flow_is_refused():
    config = _config()
    config["problem"] = {"name": "poisson1d"}
    with pytest.raises(ConfigError, match="navier_stokes2d_periodic"):
        build(validate(config))


def test_run_writes_metrics_vtk_series_and_strip(tmp_path):
    import meshio

    from physolve.runner import train_run

    train_run(_config(), tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("rel_l2", "rel_l2_full", "speedup", "rel_l2_10", "rel_l2_full_10"):
        assert np.isfinite(metrics[key]), key
    assert metrics["speedup"] == pytest.approx(metrics["step_s_full"] / metrics["step_s"])
    assert 0 < metrics["rel_l2"] < 1
    pvd = (tmp_path / "vtk" / "rollout_stagger.pvd").read_text()
    assert pvd.count("<DataSet") == 11 and 'timestep="0.5"' in pvd
    mesh = meshio.read(tmp_path / "vtk" / "rollout_stagger_0010.vtu")
    assert mesh.points.shape == (256, 3)
    assert set(mesh.point_data) == {"vorticity", "velocity", "vorticity_reference"}
    assert mesh.point_data["velocity"].shape == (256, 3)
    ref = mesh.point_data["vorticity_reference"]
    err = np.linalg.norm(mesh.point_data["vorticity"] - ref) / np.linalg.norm(ref)
    assert err == pytest.approx(metrics["rel_l2"], rel=1e-4)
    assert (tmp_path / "vtk" / "rollout_full.pvd").is_file()
    generic = meshio.read(tmp_path / "vtk" / "solution_0002.vtu")  # the project's writer
    assert {"w", "velocity"} <= set(generic.point_data)
    assert (tmp_path / "plots" / "strip.png").read_bytes()[:4] == b"\x89PNG"


def test_rollout_vtk_series_round_trips(tmp_path):
    import meshio

    from physolve.models.neural_stagger import write_rollout_vtk

    m = make()
    frames = m.ns.rollout(m.initial_field(), 0.05, 2)
    pvd = write_rollout_vtk(tmp_path, m.ns, frames, 0.05, reference=frames)
    text = pvd.read_text()
    assert text.count("<DataSet") == 3 and 'timestep="0.1"' in text
    mesh = meshio.read(tmp_path / "rollout_0002.vtu")
    assert abs(mesh.points[:, 0].max() - (2 * np.pi - 2 * np.pi / 16)) < 1e-12
    assert torch.allclose(torch.from_numpy(mesh.point_data["vorticity"]), frames[2].ravel())
    u, v = m.ns.velocity(frames[2])
    assert torch.allclose(torch.from_numpy(mesh.point_data["velocity"][:, 1]), v.ravel())


def test_subgrid_kernel_choice_changes_no_result_and_restores_the_flag(monkeypatch):
    import contextlib

    from physolve.models import neural_stagger as mod

    s = StaggeredStepper(16, 0.05, (2, 2, 2), 4, 1).double()
    for p in s.parameters():
        torch.nn.init.normal_(p, std=0.2)
    w = torch.randn(2, 16, 16, dtype=torch.float64)
    before = torch.backends.mkldnn.enabled
    fast = s(w)
    assert torch.backends.mkldnn.enabled == before
    monkeypatch.setattr(mod, "_onednn", lambda enabled: contextlib.nullcontext())
    assert torch.allclose(s(w), fast, atol=1e-12)
