"""MM-PDE: the message-passing layer is permutation equivariant, the mesh graph is the periodic
8-neighbourhood, shapes, piecewise-linear interpolation between meshes is exact for linear
fields, a few training steps lower the one-step loss, the experiment composes, bad settings
are refused with the key named, the solver trajectories chain step by step."""
import numpy as np
import pytest
import torch

from physolve.models import solvers
from physolve.models.mesh_mover import grid_nodes, linear_interpolate
from physolve.models.mmpde import MMPDE, MeshStepper, MessagePassing, periodic_quad_graph
from physolve.pde.library import problems


def test_message_passing_is_permutation_equivariant():
    torch.manual_seed(0)
    n, hidden = 5, 8
    src, dst = periodic_quad_graph(n)
    layer = MessagePassing(hidden, 4).double()
    h = torch.randn(2, n * n, hidden, dtype=torch.float64)
    e = torch.randn(2, len(src), 4, dtype=torch.float64)
    out = layer(h, e, src, dst)
    perm = torch.randperm(n * n)                       # new node k is old node perm[k]
    inv = torch.argsort(perm)
    order = torch.randperm(len(src))                   # and the edges listed in another order
    out_p = layer(h[:, perm], e[:, order], inv[src[order]], inv[dst[order]])
    assert torch.allclose(out_p, out[:, perm], atol=1e-12)
    assert (out - h).abs().max() > 1e-3                # the layer does something


def test_periodic_graph_and_stepper_shapes():
    n = 6
    src, dst = periodic_quad_graph(n)
    assert len(src) == 8 * n * n
    assert torch.equal(torch.bincount(dst), torch.full((n * n,), 8))
    pairs = set(zip(src.tolist(), dst.tolist()))
    assert len(pairs) == 8 * n * n and all(s != d for s, d in pairs)   # distinct, no self-loops
    # node (0, 0)'s neighbours: index 1 and, across the periodic seam, n - 2 (n - 1 is its image)
    corner = sorted(s for s, d in pairs if d == 0)
    assert corner == sorted(i * n + j for i in (n - 2, 0, 1) for j in (n - 2, 0, 1) if i or j)
    model = MeshStepper(hidden=8, layers=2)
    pos = grid_nodes(n, dtype=torch.float32)[None].expand(3, -1, -1)
    out = model(torch.randn(3, n * n), pos, src, dst, 1.0 / (n - 1))
    assert out.shape == (3, n * n) and torch.isfinite(out).all()
    # translation invariance: a constant shift of every node changes nothing (only differences)
    shifted = model(torch.ones(3, n * n), (pos + 0.3) % 1.0, src, dst, 1.0 / (n - 1))
    assert torch.allclose(shifted, model(torch.ones(3, n * n), pos, src, dst, 1.0 / (n - 1)),
                          atol=1e-5)


def test_interpolation_between_meshes_is_exact_for_linear_fields():
    rng = np.random.default_rng(0)
    old = grid_nodes(9).numpy()
    inner = (old > 0) & (old < 1)
    old = old + inner * rng.uniform(-0.03, 0.03, old.shape)      # a distorted mesh
    new = grid_nodes(13).numpy() ** 1.5                           # another one, graded
    lin = lambda p: 0.3 + 2.0 * p[:, 0] - 1.5 * p[:, 1]  # noqa: E731
    assert np.abs(linear_interpolate(old, lin(old), new) - lin(new)).max() < 1e-12
    quad = lambda p: p[:, 0] ** 2  # noqa: E731       # second order: error ~ h^2
    errs = [np.abs(linear_interpolate(grid_nodes(m).numpy(), quad(grid_nodes(m).numpy()), new)
                   - quad(new)).max() for m in (9, 17)]
    assert 3.0 < errs[0] / errs[1] < 5.0, errs


def _small_mmpde(**kw):
    problem = problems.get("burgers2d_fields")(n=24, steps=40, t_end=0.2)
    opts = dict(hidden=16, layers=2, base=8, frames=4, train_trajectories=2, test_trajectories=1,
                batch=4, latent=0, mover_steps=2, mover_points=6)
    solver = MMPDE(**{**opts, **kw})
    solver.setup(problem, dtype=torch.float64, seed=0)
    return solver


def test_training_lowers_one_step_loss_and_metrics(tmp_path):
    import meshio
    solver = _small_mmpde(batch=8)
    first = solver.loss()[0].item()
    opt = torch.optim.Adam(solver.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        solver.loss()[0].backward()
        opt.step()
    assert solver.loss()[0].item() < 0.5 * first, first
    m = solver.metrics()
    ratio = m["rollout_rel_l2_fixed"] / m["rollout_rel_l2"]
    assert m["rollout_error_ratio"] == pytest.approx(ratio)
    assert 0 < m["interp_rel_l2_fixed"] < m["rollout_rel_l2_fixed"] < 1
    run = solver.evaluate()[2]["moving"]
    assert run["pos"].shape == (5, 64, 2) and run["ref"].shape == (5, 24 * 24)
    files = solver.write_outputs(tmp_path)
    assert (tmp_path / "plots" / "rollout.png").stat().st_size > 1000
    back = meshio.read(tmp_path / "vtk" / "rollout_moving_0004.vtu")
    assert np.allclose(back.points[:, :2], run["pos"][4])
    assert np.allclose(back.point_data["u"], run["nodes"][4])
    assert "rollout_moving_0004.vtu" in (tmp_path / "vtk" / "rollout_moving.pvd").read_text()
    assert len(files) == 3


def test_mmpde_refuses_bad_settings():
    assert solvers.get("mmpde") is MMPDE
    with pytest.raises(ValueError, match="mmpde: base must be an integer >= 4, got 2"):
        MMPDE(base=2)
    with pytest.raises(ValueError, match="mmpde: hidden must be an integer >= 1, got 3.5"):
        MMPDE(hidden=3.5)
    with pytest.raises(ValueError, match="mmpde: mover_lr must be a number > 0, got 0"):
        MMPDE(mover_lr=0)
    with pytest.raises(ValueError, match="batch=50 must not exceed the training pairs"):
        MMPDE(batch=50, train_trajectories=2, frames=10)
    with pytest.raises(ValueError, match="frames=7 must divide the problem's steps=40"):
        MMPDE(frames=7).setup(problems.get("burgers2d_fields")(n=24, steps=40), seed=0)
    with pytest.raises(TypeError, match="burgers2d_fields"):
        MMPDE().setup(problems.get("poisson1d")(), seed=0)


def _compose(overrides):
    from physolve.bench import compose_experiment
    return compose_experiment("mmpde_burgers2d", overrides)


def test_mmpde_experiment_composes_and_names_bad_keys():
    from physolve.config import ConfigError, build, validate
    spec = validate(_compose([]))
    assert (spec.problem, spec.model) == ("burgers2d_fields", "mmpde")
    assert spec.problem_args["n"] == 96 and spec.model_args["base"] == 32
    with pytest.raises(ConfigError) as info:
        validate(_compose(["+model.hiden=8"]))
    assert info.value.path == "model.hiden" and "hidden" in str(info.value)
    with pytest.raises(ConfigError) as info:
        build(validate(_compose(["model.layers=0"])))
    assert info.value.path.startswith("model")
    assert "layers must be an integer >= 1, got 0" in str(info.value)


def test_trajectories_chain_to_the_one_call_states():
    from physolve.pde.solvers.burgers2d import random_burgers_fields, random_burgers_trajectories
    traj = random_burgers_trajectories(2, n=16, t_end=0.1, steps=20, frames=4)
    final = random_burgers_fields(2, n=16, t_end=0.1, steps=20)
    assert traj.shape == (2, 5, 16, 16) and np.abs(traj[:, 0]).max() == pytest.approx(1.0)
    assert np.abs(traj[:, -1] - final).max() < 1e-12            # 4 x 5 steps = 20 steps
    assert np.abs(traj[:, 2] - traj[:, 0]).max() > 1e-3          # the states do evolve
    with pytest.raises(ValueError, match="frames must be an integer >= 1 that divides steps=20"):
        random_burgers_trajectories(1, n=16, steps=20, frames=3)
