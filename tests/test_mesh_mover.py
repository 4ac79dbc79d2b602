"""Mesh mover: Monge-Ampere residual of a known equidistributing map, inverted-cell check on a
folded mesh, boundary construction, VTU round-trip, one training step lowers the loss."""
import numpy as np
import torch

from physolve.models.mesh_mover import (MeshMover, grid_nodes, inverted_cells, monge_ampere_residual,
                                        moved_mesh, quad_cells)


def test_residual_of_known_map():
    # x1 = xi1 - eps sin(pi xi1) / pi has det J = 1 - eps cos(pi xi1); M(x) = 1 / det J makes
    # M det J constant: residual ~ interpolation error; the identity map leaves a large residual
    eps, n = 0.5, 257
    t = np.linspace(0, 1, n)
    xi_of_x = t.copy()
    for _ in range(50):   # Newton for xi(x)
        xi_of_x -= (xi_of_x - eps * np.sin(np.pi * xi_of_x) / np.pi - t) / (1 - eps * np.cos(np.pi * xi_of_x))
    m1 = 1.0 / (1 - eps * np.cos(np.pi * xi_of_x))
    m = torch.tensor(np.repeat(m1[:, None], n, axis=1))[None]
    xi = grid_nodes(33)[None]
    x = xi.clone()
    x[..., 0] = xi[..., 0] - eps * torch.sin(np.pi * xi[..., 0]) / np.pi
    jac = torch.zeros(1, xi.shape[1], 2, 2, dtype=torch.float64)
    jac[..., 0, 0] = 1 - eps * torch.cos(np.pi * xi[..., 0])
    jac[..., 1, 1] = 1
    good = monge_ampere_residual(m, x, jac).abs().max()
    ident = monge_ampere_residual(m, xi, torch.eye(2, dtype=torch.float64).expand_as(jac)).abs().max()
    assert good < 1e-3 and ident > 0.3, (good, ident)


def test_folded_mesh_is_detected():
    n = 6
    p = grid_nodes(n).numpy()
    cells = quad_cells(n)
    assert inverted_cells(p, cells) == 0
    q = p.copy()
    q[2 * n + 2] = p[3 * n + 3] + 0.05          # push one interior node past its diagonal neighbour
    assert 1 <= inverted_cells(q, cells) <= 4


def test_boundary_kept_and_vtu_round_trip(tmp_path):
    import meshio
    torch.manual_seed(0)
    model = MeshMover(latent=4, hidden=16, depth=2).double()
    with torch.no_grad():
        model.mlp[-1].weight.mul_(100.0)            # a visibly non-trivial map
    u = torch.randn(1, 32, 32, dtype=torch.float64)
    xi = grid_nodes(12)[None]
    x = model.move(u, xi)[0].numpy()
    b0 = xi[0, :, 0].numpy() == 0
    b1 = xi[0, :, 0].numpy() == 1
    assert np.abs(x[b0, 0]).max() < 1e-12 and np.abs(x[b1, 0] - 1).max() < 1e-12
    assert np.abs(x - xi[0].numpy()).max() > 1e-4
    mesh = moved_mesh(x, 12, field=np.arange(144.0))
    path = tmp_path / "m.vtu"
    mesh.write(path)
    back = meshio.read(path)
    assert np.allclose(back.points[:, :2], x) and np.array_equal(back.cells_dict["quad"], quad_cells(12))


def test_training_step_lowers_loss():
    torch.manual_seed(0)
    model = MeshMover(latent=4, hidden=16, depth=2, feature_grid=16, sample_sigma=0.07)
    x = torch.linspace(0, 1, 32)
    X, Y = torch.meshgrid(x, x, indexing="ij")
    u = torch.tanh((X - 0.5) / 0.05)[None]
    xi = grid_nodes(16, dtype=torch.float32)[None]
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model.loss(u, xi).item()
    for _ in range(20):
        opt.zero_grad()
        loss = model.loss(u, xi)
        loss.backward()
        opt.step()
    assert model.loss(u, xi).item() < 0.9 * first


# ------------------------------------------------------------------------- the dmm solver family
import pytest  # noqa: E402

from physolve.models import solvers  # noqa: E402
from physolve.models.mesh_mover import DMM, fourier_eval, interp_error  # noqa: E402
from physolve.pde.library import problems  # noqa: E402


def _small_dmm():
    problem = problems.get("burgers2d_fields")(n=32, steps=40, t_end=0.2)
    solver = DMM(latent=0, hidden=16, depth=2, feature_grid=16, sample_sigma=0.07, base=10,
                 train_fields=2, test_fields=2, batch=2, train_points=8)
    solver.setup(problem, dtype=torch.float64, seed=0)
    return solver


def test_dmm_is_registered_and_refuses_bad_settings():
    assert solvers.get("dmm") is DMM
    with pytest.raises(ValueError, match="batch=5 must not exceed train_fields=2"):
        DMM(batch=5, train_fields=2)
    with pytest.raises(ValueError, match="base must be an integer >= 1, got 2.5"):
        DMM(base=2.5)
    with pytest.raises(ValueError, match="feature_grid must be an integer >= 4"):
        DMM(feature_grid=2)
    with pytest.raises(ValueError, match="scales must be positive"):
        DMM(scales=[0.1, -1.0])
    with pytest.raises(TypeError, match="burgers2d_fields"):
        DMM().setup(problems.get("poisson1d")(), dtype=torch.float64, seed=0)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        problems.get("burgers2d_fields")(steps=0)


def test_interp_error_is_second_order():
    # sin(2 pi x) sin(2 pi y) is exact in fourier_eval; linear interpolation error ~ h^2
    n = 32
    t = np.arange(n) / n
    u = np.sin(2 * np.pi * t)[:, None] * np.sin(2 * np.pi * t)[None, :]
    ref = grid_nodes(65).numpy()
    vals = fourier_eval(u, ref)
    assert np.abs(vals - np.sin(2 * np.pi * ref[:, 0]) * np.sin(2 * np.pi * ref[:, 1])).max() < 1e-10
    coarse = interp_error(u, grid_nodes(9).numpy(), ref, vals)
    fine = interp_error(u, grid_nodes(17).numpy(), ref, vals)
    assert 3.3 < coarse / fine < 4.7, coarse / fine


def test_dmm_ratio_vtu_and_png(tmp_path):
    import meshio
    solver = _small_dmm()
    with torch.no_grad():                               # phi = const: the mesh does not move
        solver.model.mlp[-1].weight.zero_()
    m = solver.metrics()
    assert m["interp_error_ratio"] == pytest.approx(1.0, abs=1e-9) and m["inverted_cells"] == 0
    opt = torch.optim.Adam(solver.parameters(), lr=1e-2)
    for _ in range(3):                                  # a moved mesh
        opt.zero_grad()
        solver.loss()[0].backward()
        opt.step()
    e = solver.evaluate()
    base = grid_nodes(10).numpy()
    assert np.abs(e["moved"][0] - base).max() > 1e-4
    m = solver.metrics()
    by_hand = []
    for k, pts in enumerate(e["moved"]):
        spec, vals = solver.spectral[2 + k], solver.on_ref[2 + k].ravel()
        by_hand.append(interp_error(spec, base, solver.ref, vals) / interp_error(spec, pts, solver.ref, vals))
    assert m["interp_error_ratio"] == pytest.approx(np.mean(by_hand), rel=1e-12)
    assert m["inverted_cells"] == sum(inverted_cells(p, quad_cells(10)) for p in e["moved"])
    assert np.isfinite(m["monge_ampere_residual"]) and m["monge_ampere_residual"] >= 0
    files = solver.write_outputs(tmp_path)
    assert (tmp_path / "plots" / "mesh_1.png").stat().st_size > 1000
    back = meshio.read(tmp_path / "vtk" / "moved_mesh_1.vtu")
    assert np.allclose(back.points[:, :2], e["moved"][1])
    assert np.array_equal(back.cells_dict["quad"], quad_cells(10))
    assert np.allclose(back.point_data["u"], fourier_eval(solver.spectral[3], e["moved"][1]))
    assert len(files) == 6


def _compose_dmm(overrides):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from physolve.config import config_dir
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["experiment=dmm_burgers2d", *overrides])
    config = OmegaConf.to_container(cfg, resolve=True)
    config.pop("resume")
    return config


def test_dmm_experiment_validates_builds_and_names_bad_keys():
    from physolve.config import ConfigError, build, validate
    spec = validate(_compose_dmm([]))
    assert (spec.problem, spec.model) == ("burgers2d_fields", "dmm")
    assert spec.model_args["alpha"] == 0.01 and spec.problem_args["n"] == 96
    problem, solver, trainer = build(validate(_compose_dmm(
        ["problem.n=32", "problem.steps=40", "model.train_fields=2", "model.test_fields=1",
         "model.batch=1", "model.base=8"])))
    assert [str(s) for s in trainer.stages] == ["adam:400"] and tuple(solver.u.shape) == (3, 32, 32)
    with pytest.raises(ConfigError) as info:
        validate(_compose_dmm(["+model.alhpa=0.1"]))
    assert info.value.path == "model.alhpa" and "alpha" in str(info.value)
    with pytest.raises(ConfigError) as info:
        build(validate(_compose_dmm(["model.batch=20"])))
    assert info.value.path.startswith("model") and "batch=20 must not exceed train_fields=12" in str(info.value)
