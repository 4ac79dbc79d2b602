"""The hc_moe / hc / soft families on a small diffusion-sorption grid: the experts' solves
satisfy their constraints, gradients reach the backbone, training lowers the residual, and bad
options are refused with the key named."""
import pytest
import torch

from physolve.models import solvers
from physolve.models.hc_moe import _expert_rows
from physolve.pde.library import problems


@pytest.fixture(scope="module")
def family():
    return problems.get("diffusion_sorption")(nx=16, nt=9)


def make(family, tmp_path, name, **options):
    s = solvers.get(name)(n_train=4, n_test=2, batch_size=2, progress=False,
                          cache_dir=str(tmp_path), width=8, depth=2, code=4, **options)
    s.setup(family, dtype=torch.float64, device="cpu", seed=0)
    return s


def test_expert_rows_partition_the_grid():
    rows = _expert_rows(16, 9, 4, "x")
    assert rows["pde"].shape == (4, 4 * 8)
    assert sorted(rows["pde"].ravel().tolist()) == sorted(
        i * 9 + j for i in range(16) for j in range(1, 9))
    assert rows["left_mask"].sum() == 8 and rows["left_mask"][0].all()
    assert rows["right_mask"][-1].all() and not rows["right_mask"][:-1].any()
    t_rows = _expert_rows(16, 9, 4, "t")
    assert t_rows["ic_mask"][0].all() and not t_rows["ic_mask"][1:].any()
    with pytest.raises(ValueError, match="divisible by experts"):
        _expert_rows(15, 9, 4, "x")


@pytest.mark.parametrize("name,options", [("hc_moe", {"experts": 4}), ("hc", {}),
                                          ("hc_moe", {"experts": 2, "split": "t"})])
def test_solves_converge_and_gradients_reach_the_backbone(family, tmp_path, name, options):
    s = make(family, tmp_path, name, max_iter=100, **options)
    loss, terms = s.loss()
    sol = s.last_solution
    assert bool(sol.converged.all())
    assert sol.w.shape == (2 * s.experts, 16)
    # at the optimum the gradient of |r|^2 in w vanishes (to the solve's tolerance)
    loss.backward()
    grads = [p.grad for p in s.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_gradient_is_the_implicit_one(family, tmp_path):
    """With the exact adjoint, d loss / d theta through the layer matches a finite difference of the loss along a
    random direction of the backbone's parameters (the solve re-run at each point)."""
    s = make(family, tmp_path, "hc_moe", experts=2, max_iter=200, gtol=1e-13, xtol=1e-13,
             adjoint="exact")
    u0 = s.x_train[:1]

    def loss():
        pred, per_node = s.fields(u0, train=False)
        t = s.physics_terms(u0, pred, per_node)
        return t["pde"] + t["ic"] + t["bc"]

    params = s.parameters()
    g = torch.autograd.grad(loss(), params)
    gen = torch.Generator().manual_seed(0)
    direction = [torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in params]
    analytic = sum(float((a * d).sum()) for a, d in zip(g, direction))
    # each side re-runs the solve, which stops at its own tolerance: a step much below 1e-4
    # lets that stopping noise dominate the difference, a larger one its truncation error
    eps = 1e-4
    with torch.no_grad():
        for p, d in zip(params, direction):
            p.add_(eps * d)
        plus = float(loss())
        for p, d in zip(params, direction):
            p.sub_(2 * eps * d)
        minus = float(loss())
        for p, d in zip(params, direction):
            p.add_(eps * d)
    numeric = (plus - minus) / (2 * eps)
    assert analytic == pytest.approx(numeric, rel=1e-4)


def test_training_lowers_the_residual_and_metrics(family, tmp_path):
    for name in ("soft", "hc_moe"):
        s = make(family, tmp_path, name, **({} if name == "soft" else {"experts": 2}))
        opt = torch.optim.Adam(s.parameters(), lr=1e-2)
        first = None
        for _ in range(15):
            opt.zero_grad()
            loss, _ = s.loss()
            loss.backward()
            opt.step()
            first = float(loss) if first is None else first
        assert float(loss) < first
        m = s.metrics()
        assert 0 < m["rel_l2"] < 10
        assert ("lm_unconverged_fraction" in m) == (name != "soft")


def test_bad_options_named(family, tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        solvers.get("hc_moe")(split="xy")
    with pytest.raises(ValueError, match="hc: experts must be 1"):
        solvers.get("hc")(experts=4)
    with pytest.raises(ValueError, match="soft: basis is an option of hc"):
        solvers.get("soft")(basis=8)
    with pytest.raises(ValueError, match="points = 1000 exceeds"):
        make(family, tmp_path, "hc_moe", points=1000)
    with pytest.raises(TypeError, match="diffusion-sorption family"):
        solvers.get("hc_moe")(progress=False).setup(problems.get("darcy")(n=8),
                                                    dtype=torch.float64)


def test_checkpoint_round_trip_resumes_the_same_points(family, tmp_path):
    a = make(family, tmp_path, "hc_moe", experts=2, points=20)
    a.loss()
    state = a.state_dict()
    b = make(family, tmp_path, "hc_moe", experts=2, points=20)
    b.load_state_dict(state)
    torch.testing.assert_close(a.loss()[0], b.loss()[0])
