"""MgNO: shapes on odd and even grids, boundary behaviour of the padding modes, training."""
import math

import pytest
import torch
import torch.nn.functional as F

import physolve as ps
from physolve.geometry import Grid
from physolve.models import MgNO, MgNONet
from physolve.models.mgno import Prolongation, VCycle
from physolve.pde.fields import Fields
from physolve.pde.grid_backend import GridBackend

T = torch.float64


def net(padding_mode, seed=0, **kw):
    torch.manual_seed(seed)
    return MgNONet(1, 1, channels=4, layers=2, smoothing=kw.pop("smoothing", [1, 1, 2]),
                   padding_mode=padding_mode, **kw).to(T)


@pytest.mark.parametrize("padding_mode", ["zeros", "circular"])
@pytest.mark.parametrize("size", [(16, 16), (17, 17), (23, 20), (9, 12)])
def test_forward_shapes_on_odd_and_even_grids(padding_mode, size):
    x = torch.randn(2, 1, *size, dtype=T)
    out = net(padding_mode)(x)
    assert out.shape == (2, 1, *size)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("size", [16, 17])
def test_prolongation_shapes_and_vertex_interpolation(size):
    coarse = torch.randn(1, 1, math.ceil(size / 2), math.ceil(size / 2), dtype=T)
    p = Prolongation(1, "zeros").to(T)
    assert p(coarse, (size, size)).shape == (1, 1, size, size)
    # the 4x4 kernel holds the vertex-centred bilinear stencil (1/2, 1, 1/2) at taps 0..2:
    # then fine node 2i takes coarse node i and odd nodes average their two neighbours
    w = torch.tensor([0.5, 1.0, 0.5, 0.0], dtype=T)
    with torch.no_grad():
        p.up.weight.copy_((w[:, None] * w[None, :])[None, None])
    fine = p(coarse, (size, size))
    assert torch.allclose(fine[..., ::2, ::2], coarse)
    if size % 2:   # odd grids: coarse nodes sit on both ends, every odd node is interior
        mid = 0.5 * (coarse[..., :-1, :] + coarse[..., 1:, :])
        assert torch.allclose(fine[..., 1::2, ::2], mid)


def test_circular_padding_commutes_with_periodic_shifts():
    # three levels: the stride-2 convolutions see the same sub-grid after shifts by 4 nodes
    model = net("circular")
    x = torch.randn(1, 1, 16, 16, dtype=T)
    shift = lambda v: torch.roll(v, shifts=(4, 8), dims=(-2, -1))  # noqa: E731
    assert torch.allclose(model(shift(x)), shift(model(x)), atol=1e-12)
    # zero padding sees the boundary: the same weights are not shift-equivariant
    zeros = net("zeros")
    assert (zeros(shift(x)) - shift(zeros(x))).abs().max() > 1e-3


def test_padding_changes_only_the_boundary_band_of_a_local_cycle():
    # one level, two smoothing steps (S, then A and S): receptive radius 3 nodes
    torch.manual_seed(0)
    zeros = VCycle(2, 3, [2], "zeros").to(T)
    circ = VCycle(2, 3, [2], "circular").to(T)
    circ.load_state_dict(zeros.state_dict())
    x = torch.randn(1, 2, 14, 14, dtype=T)
    a, b = zeros(x), circ(x)
    assert torch.allclose(a[..., 3:-3, 3:-3], b[..., 3:-3, 3:-3], atol=1e-13)
    assert (a[..., 0, :] - b[..., 0, :]).abs().min() > 0


@pytest.mark.parametrize("padding_mode, kind", [("zeros", "dirichlet"), ("circular", "periodic")])
def test_padding_is_the_grid_backends_boundary_ring(padding_mode, kind):
    # A smoother holding the 5-point Laplacian stencil computes exactly the grid backend's
    # u_xx + u_yy with the boundary kind its padding claims: zero ghost values (homogeneous
    # Dirichlet on the interior-node grid) or wrap-around (periodic).
    n = 10
    h = 1 / (n + 1) if kind == "dirichlet" else 1 / n
    grid = Grid((h, h), (1 - h, 1 - h), n) if kind == "dirichlet" else Grid((0, 0), (1 - h,) * 2, n)
    X, Y = (c.reshape(grid.shape) for c in grid.points.T)
    u = torch.exp(X) * torch.cos(3 * Y) + X * Y
    cycle = VCycle(1, 1, [1], padding_mode).to(T)
    stencil = torch.tensor([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=T) / h ** 2
    with torch.no_grad():
        cycle.S[0][0].weight.copy_(stencil[None, None])
    conv = cycle(u[None, None])[0, 0]
    fd = ps.laplacian(Fields(GridBackend({"u": u}, grid, "x y", kind)).u)
    assert torch.allclose(conv, fd, atol=1e-9)
    assert (conv[0] - fd[0]).abs().max() < 1e-9      # the boundary rows too


def test_bad_settings_fail_early():
    with pytest.raises(ValueError, match="padding_mode"):
        MgNONet(padding_mode="reflect")
    with pytest.raises(ValueError, match="smoothing"):
        MgNONet(smoothing=[1, 0])
    with pytest.raises(ValueError, match="activation"):
        MgNONet(activation="swish")
    with pytest.raises(ValueError, match="loss"):
        MgNO(loss="l1")


# --- the solver on a small Darcy family --------------------------------------------------------

@pytest.fixture(scope="module")
def darcy16(tmp_path_factory):
    return ps.problems.get("darcy")(n=16), tmp_path_factory.mktemp("cache")


def small_solver(cache, **kw):
    options = dict(channels=6, layers=2, smoothing=[1, 1, 2], n_train=48, n_test=8,
                   batch_size=8, cache_dir=cache, progress=False)
    return MgNO(**{**options, **kw})


def test_training_lowers_held_out_error_and_reports_it(darcy16):
    family, cache = darcy16
    solver = small_solver(cache)
    stages = [{"name": "adam", "steps": 120, "lr": 5e-3, "schedule": "onecycle"}]
    solution = ps.Trainer(stages, metrics_every=0, progress=False, seed=1).fit(family, solver)
    first = solution.history[0]
    with torch.no_grad():
        initial = small_solver(cache)
        initial.setup(family, dtype=torch.float32, device="cpu", seed=1)
        start = initial.metrics()["rel_l2"]
    m = solution.metrics()
    assert m["rel_l2"] < 0.5 * start and m["rel_l2"] < 0.15, (start, m)
    assert first["rel_l2"] == m["rel_l2"] and {"rel_h1", "max_abs_err"} <= set(m)
    # rel_l2 is the mean over test samples of ||pred - ref|| / ||ref||
    pred = solver.predict_fields(solver.x_test)
    per_sample = ((pred - solver.y_test).flatten(1).norm(dim=1)
                  / solver.y_test.flatten(1).norm(dim=1))
    assert m["rel_l2"] == pytest.approx(float(per_sample.mean()), rel=1e-6)
    # predict(points) interpolates the first test sample; u = 0 on the boundary ring
    pts = torch.stack([family.grid.points[37], torch.tensor([0.0, 0.4], dtype=T)])
    out = solution.predict(pts)
    assert out[0, 0] == pytest.approx(float(pred[0, 0].reshape(-1)[37]), rel=1e-5)
    assert out[1, 0] == 0.0


def test_batches_cover_each_epoch_and_resume_exactly(darcy16):
    family, cache = darcy16
    a, b = small_solver(cache, batch_size=16), small_solver(cache, batch_size=16)
    a.setup(family, dtype=T, device="cpu", seed=3)
    b.setup(family, dtype=T, device="cpu", seed=3)
    epoch = torch.cat([a.next_batch() for _ in range(3)])
    assert sorted(epoch.tolist()) == list(range(48))
    a.next_batch()
    b.load_state_dict(a.state_dict())
    resumed = [b.next_batch().tolist() for _ in range(4)]
    assert [a.next_batch().tolist() for _ in range(4)] == resumed


def test_physics_residual_of_the_reference_is_small(darcy16):
    family, cache = darcy16
    smooth = ps.problems.get("darcy")(n=16, a_high=1.0, a_low=1.0)  # a = 1: Poisson
    solver = small_solver(cache, physics_weight=1.0)
    solver.setup(smooth, dtype=T, device="cpu", seed=0)
    exact = solver.physics_residual(solver.y_train[:4], solver.x_train[:4])["physics"]
    zero = solver.physics_residual(torch.zeros_like(solver.y_train[:4]), solver.x_train[:4])
    assert float(zero["physics"]) == pytest.approx(1.0)          # -div(a grad 0) - 1
    assert float(exact) < 1e-2
    total, terms = solver.loss()
    assert set(terms) == {"h1", "physics"}
    assert float(total.detach()) == pytest.approx(float((terms["h1"] + terms["physics"]).detach()))


def test_h1_loss_weighs_gradients(darcy16):
    family, cache = darcy16
    solver = small_solver(cache)
    solver.setup(family, dtype=T, device="cpu", seed=0)
    y = solver.y_test[:2]
    wiggle = 1e-3 * torch.sin(math.pi * 7 * torch.arange(16, dtype=T) / 17)[None, None, :, None]
    l2 = solver.relative_errors(y + wiggle, y, "l2")
    h1 = solver.relative_errors(y + wiggle, y, "h1")
    assert torch.all(h1 > 2 * l2)          # an oscillating error costs more in H1
    assert torch.all(solver.relative_errors(y, y, "h1") == 0)


def test_needs_a_family():
    with pytest.raises(TypeError, match="problem family"):
        MgNO().setup(ps.problems.get("poisson1d")(), dtype=T, device="cpu", seed=0)
