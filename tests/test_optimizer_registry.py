"""Every registered optimizer lowers a convex quadratic and a tiny PINN loss by a stated factor."""
import warnings

import pytest
import torch

import physolve as ps
from physolve.optim import optimizers, parse_stage
from physolve.pde.library import problems

# Options for the tests: first-order methods at a learning rate that suits these small problems.
OPTIONS = {name: {"lr": 1e-2} for name in optimizers.names() if not optimizers.get(name).closure}
OPTIONS.update({"adagrad": {"lr": 0.1}, "adadagrad": {"lr": 0.1}, "adahessian": {"lr": 0.1},
                "sophia": {"lr": 1.0}})
SECOND_ORDER = [n for n in optimizers.names() if optimizers.get(n).closure]
FIRST_ORDER = [n for n in optimizers.names() if not optimizers.get(n).closure]

# Required factor by which the loss falls (quadratic: f(z0) / f(z); PINN: loss0 / loss).
QUADRATIC_FACTOR = {"first": 5.0, "second": 100.0, "lm": 1e20}
PINN_FACTOR = {"first": 3.0, "second": 100.0}


def quadratic():
    g = torch.Generator().manual_seed(0)
    n = 10
    M = torch.eye(n, dtype=torch.float64) + 0.3 * torch.randn(n, n, generator=g,
                                                             dtype=torch.float64)
    c = torch.randn(n, generator=g, dtype=torch.float64)
    return M, c


@pytest.mark.parametrize("name", optimizers.names())
def test_convex_quadratic(name):
    spec = optimizers.get(name)
    M, c = quadratic()
    z = torch.zeros(len(c), dtype=torch.float64, requires_grad=True)
    opt = spec.create([z], **OPTIONS.get(name, {}))

    def residual():
        return M @ z - c

    def closure():
        opt.zero_grad(set_to_none=True)
        f = residual().square().sum()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f.backward(create_graph=spec.create_graph)
        return f

    f0 = float(residual().detach().square().sum())
    for _ in range(20 if spec.closure else 300):
        if spec.residuals:
            opt.step(residual)
        elif spec.closure:
            opt.step(closure)
        else:
            closure()
            opt.step()
        if getattr(opt, "stop_reason", None):
            break
    factor = f0 / float(residual().detach().square().sum())
    need = QUADRATIC_FACTOR["lm" if spec.residuals else "second" if spec.closure else "first"]
    assert factor >= need, f"{name}: loss fell by {factor:.3g}, need {need:g}"


@pytest.mark.parametrize("name", optimizers.names())
def test_tiny_pinn(name):
    spec = optimizers.get(name)
    steps = 30 if spec.closure else 100
    stage = {"name": name, "steps": steps, **OPTIONS.get(name, {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sol = ps.solve(problems.get("poisson1d")(),
                       model=ps.PINN(width=8, depth=2, n_interior=32, n_boundary=2),
                       optim=[stage], dtype="float64", seed=0, metrics_every=0, progress=False)
    loss0 = 49.4346396383  # the initial loss of this network (seed 0)
    factor = loss0 / sol.stages[0]["loss"]
    need = PINN_FACTOR["second" if spec.closure else "first"]
    assert factor >= need, f"{name}: loss fell by {factor:.3g}, need {need:g}"


def test_initial_loss_of_the_tiny_pinn_and_residual_vector():
    solver = ps.PINN(width=8, depth=2, n_interior=32, n_boundary=2)
    solver.setup(problems.get("poisson1d")(), dtype=torch.float64, device="cpu", seed=0)
    total, terms = solver.loss()
    r = solver.residual_vector()
    assert r.shape == (34,)
    assert abs(float(total) - 49.4346396383) < 1e-8
    torch.testing.assert_close(r.square().sum(), total.detach(), rtol=1e-14, atol=0)


def test_registry_lists_the_seed_optimizers():
    for name in ["adabelief", "adahessian", "adan", "diffgrad", "exadam", "lamb", "lion",
                 "sgdsai", "soap", "sophia", "adadagrad", "lbfgs", "bfgs", "ssbfgs",
                 "ssbroyden", "lm"]:
        assert name in optimizers
    assert optimizers.get("adahessian").create_graph and optimizers.get("lm").residuals
    with pytest.raises(ValueError, match="choose one of: .*ssbroyden"):
        parse_stage("newton:10")


@pytest.mark.parametrize("name", ["adahessian", "sophia"])
def test_hessian_methods_keep_no_graph_from_step_to_step(name):
    """backward(create_graph=True) must not leave a graph alive after the step: the number of
    live tensors that carry a graph is the same after 3 and after 9 steps (it grew by about
    twenty per step when gradients also went into the collocation points)."""
    import gc

    from physolve.train.callbacks import Callback

    counts = {}

    class CountGraphTensors(Callback):
        def on_step_end(self, state, *args, **kwargs):
            if state.step in (3, 9):
                gc.collect()
                counts[state.step] = sum(1 for o in gc.get_objects()
                                         if isinstance(o, torch.Tensor) and o.grad_fn is not None)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ps.solve(problems.get("poisson1d")(),
                 model=ps.PINN(width=8, depth=2, n_interior=32, n_boundary=2),
                 optim=[{"name": name, "steps": 9, **OPTIONS[name]}], dtype="float64", seed=0,
                 metrics_every=0, progress=False, callbacks=[CountGraphTensors()])
    assert counts[9] == counts[3], counts


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_is_fused_unless_the_stage_chooses_and_equals_foreach_to_rounding(name):
    spec = optimizers.get(name)

    def params():
        g = torch.Generator().manual_seed(1)
        return [torch.nn.Parameter(torch.randn(7, 5, generator=g, dtype=torch.float64)),
                torch.nn.Parameter(torch.randn(5, generator=g, dtype=torch.float64))]

    runs = {}
    for key, options in {"fused": {}, "foreach": {"foreach": True}}.items():
        p = params()
        opt = spec.create(p, lr=1e-2, **options)
        runs[key] = p
        assert bool(opt.defaults["fused"]) == (key == "fused")
        for step in range(20):
            opt.zero_grad()
            sum((q.sin() * (1 + step)).square().sum() for q in p).backward()
            opt.step()
    for a, b in zip(runs["fused"], runs["foreach"]):
        assert float((a - b).abs().max()) <= 1e-13
        assert float((a - params()[0 if a.dim() == 2 else 1]).abs().max()) > 1e-2  # it moved
    # parameters fused kernels do not take keep torch's default
    complex_param = [torch.nn.Parameter(torch.randn(3, dtype=torch.complex128))]
    assert not spec.create(complex_param).defaults["fused"]
