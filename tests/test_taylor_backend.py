"""The forward-mode (Taylor) derivative path against reverse mode, the reference.

Every value, first, second and mixed partial of every output agrees with the autograd backend to
1e-12 in float64, for each activation, Fourier features, input normalisation and hard-constraint
transforms; so do a PINN's loss and its parameter gradient. Requests a jet cannot serve (third
derivatives, derivatives of expressions, new requests) still give reverse mode's numbers.
"""
import itertools
import math

import pytest
import torch
from torch import nn

import physolve as ps
from physolve.config import ConfigError, build, validate
from physolve.geometry import Disk, Interval, Rectangle, TimeInterval
from physolve.pde.autograd import AutogradBackend
from physolve.pde.fields import Fields
from physolve.pde.library import problems

INPUTS = ("x", "y", "t")
KEYS = [()] + [(a,) for a in INPUTS] + list(itertools.combinations_with_replacement(INPUTS, 2))


def _problem(hard: bool, both_on_u: bool = False):
    """Two outputs on a space-time box; hard: u = x y on the boundary, v(x, y, 0) = cos x + y,
    and with `both_on_u` also u's initial value (compatible with its boundary value)."""
    conditions = []
    if hard:
        conditions.append(ps.Dirichlet(lambda x, y: x * y, output="u", hard=True))
        conditions.append(ps.Initial(lambda x, y: torch.cos(x) + y, output="v", hard=True))
        if both_on_u:
            conditions.append(ps.Initial(lambda x, y: x * y, output="u", hard=True))
    return ps.Problem(Rectangle((0.0, -1.0), (1.5, 1.0)) * TimeInterval(0.0, 0.5),
                      lambda f: f.u.t - f.u.xx - f.v.yy, inputs="x y t", outputs="u v",
                      conditions=conditions)


def _solver(problem, derivatives="taylor", **kw):
    solver = ps.PINN(width=7, depth=2, n_interior=37, n_boundary=9, derivatives=derivatives,
                     **kw)
    solver.setup(problem, dtype=torch.float64, seed=4)
    return solver


def _all_derivatives(f):
    return {(out, wrt): f[out].d(*wrt).value for out in ("u", "v") for wrt in KEYS}


def _fast_and_reference(solver, keys_fn=_all_derivatives):
    points = solver.interior
    solver.engine.evaluate("probe", points, keys_fn)  # the recording evaluation
    assert solver.engine.mode("probe") == "taylor"
    fast = solver.engine.evaluate("probe", points, keys_fn)
    reference = keys_fn(Fields(AutogradBackend(solver.forward, points, INPUTS, ("u", "v"),
                                               ("x", "y"))))
    return fast, reference


def _assert_equal(fast, reference, tol=1e-12):
    assert fast.keys() == reference.keys()
    for key in reference:
        scale = max(1.0, float(reference[key].detach().abs().max()))
        err = float((fast[key] - reference[key]).detach().abs().max())
        assert err <= tol * scale, (key, err, scale)


CASES = {  # id: (activation, Fourier features, normalised inputs, hard conditions)
    "tanh": ("tanh", 0, True, False),
    "sin": ("sin", 0, False, False),
    "gelu": ("gelu", 0, True, True),
    "softplus": ("softplus", 0, True, False),
    "silu": ("silu", 0, False, True),
    "sigmoid": ("sigmoid", 0, True, False),
    "fourier-tanh": ("tanh", 6, True, True),
    "fourier-gelu-raw": ("gelu", 4, False, False),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_partial_to_second_order_equals_reverse_mode(case):
    activation, features, normalize, hard = CASES[case]
    solver = _solver(_problem(hard), activation=activation, fourier_features=features,
                     fourier_sigma=0.7, normalize_inputs=normalize)
    fast, reference = _fast_and_reference(solver)
    _assert_equal(fast, reference)
    # a second derivative that is not identically zero, so the comparison means something
    assert float(reference[("u", ("x", "y"))].detach().abs().max()) > 1e-3


def test_hard_initial_and_boundary_values_on_one_output():
    solver = _solver(_problem(hard=True, both_on_u=True), activation="tanh")
    fast, reference = _fast_and_reference(solver)
    _assert_equal(fast, reference)
    t0 = solver.interior.clone()
    t0[:, 2] = 0.0
    assert torch.allclose(solver.forward(t0)[:, 0], t0[:, 0] * t0[:, 1], atol=1e-12)


def test_gelu_tanh_approximation_and_softplus_linear_region():
    # softplus is the identity above its threshold: a large beta puts many units there
    for act in (nn.GELU(approximate="tanh"), nn.Softplus(beta=30.0, threshold=5.0)):
        net = nn.Sequential(nn.Linear(3, 9), act, nn.Linear(9, 9), act, nn.Linear(9, 2))
        solver = _solver(_problem(hard=False), network=net.double())
        fast, reference = _fast_and_reference(solver)
        _assert_equal(fast, reference)


def test_subset_of_partials_is_planned_from_the_first_evaluation():
    solver = _solver(_problem(hard=True))

    def burgers_like(f):
        return {"r": f.u.t + f.u * f.u.x - 0.1 * f.u.xx + f.v.xy}

    fast, reference = _fast_and_reference(solver, burgers_like)
    _assert_equal(fast, reference)
    plan = solver.engine.plans["probe"]
    assert plan.directions() == ((0, 1, 2), ((0, 0), (0, 1)))
    # values only (a soft condition's usual request): the network's own forward pass
    for _ in range(2):
        values = solver.engine.evaluate("values", solver.interior, lambda f: f.u * f.v)
    out = solver.forward(solver.interior)
    assert torch.allclose(values, out[:, 0] * out[:, 1], rtol=0, atol=1e-12)


def test_loss_and_parameter_gradient_equal_between_taylor_and_autograd():
    problem = ps.Problem(
        Interval(0.0, 2.0) * TimeInterval(0.0, 1.0),
        lambda f: f.u.t + f.u * f.u.x - 0.05 * f.u.xx - torch.sin(f.x) * f.t,
        inputs="x t", outputs="u",
        conditions=[ps.Initial(lambda x: torch.sin(3 * x)), ps.Neumann(0.5, on="x")])
    results = {}
    for mode in ("taylor", "autograd"):
        solver = _solver(problem, mode, activation="tanh", fourier_features=3)
        assert solver.derivative_path == mode
        for _ in range(2):  # the second loss is the first on the fast path
            total, terms = solver.loss()
        results[mode] = total.detach(), torch.autograd.grad(total, solver.parameters())
    (lt, gt), (la, ga) = results["taylor"], results["autograd"]
    assert abs(float(lt - la)) <= 1e-10 * float(la)
    assert float(la) > 1e-2
    for a, b in zip(gt, ga):
        assert float((a - b).abs().max()) <= 1e-10


def _terms_after_adam(solver, steps: int = 3) -> dict[str, float]:
    """The loss terms of the last of `steps` Adam steps (lr 1e-2)."""
    opt = torch.optim.Adam(solver.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        total, terms = solver.loss()
        total.backward()
        opt.step()
    return {k: float(v.detach()) for k, v in terms.items()}


def test_first_partials_of_a_hard_transform_on_a_soft_condition_train_like_reverse_mode():
    # A soft Neumann condition asks for first partials only at points where a hard Dirichlet
    # transform acts: the transform's two columns (A, phi) share one graph, which the first
    # column's reverse pass must not free (it used to, and the first step crashed).
    def exact(x, y):
        return torch.sin(x) * torch.exp(y)

    problem = ps.Problem(Rectangle((0.0, 0.0), (1.0, 1.0)), lambda f: f.u.xx + f.u.yy,
                         inputs="x y", outputs="u",
                         conditions=[ps.Dirichlet(exact, on="x", hard=True),
                                     ps.Neumann(exact, on="y")])
    results = {}
    for mode in ("taylor", "autograd"):
        solver = _solver(problem, mode, activation="tanh")
        results[mode] = _terms_after_adam(solver)
    assert results["taylor"].keys() == results["autograd"].keys() == {"pde", "neumann"}
    for k, v in results["autograd"].items():
        assert abs(results["taylor"][k] - v) <= 1e-10 * v


def _condition_mixes():
    """Problems mixing soft and hard conditions, systems, unknowns and embeddings: each trains
    the same on both paths."""
    square = Rectangle((0.0, 0.0), (1.0, 1.0))
    obs = torch.linspace(0.1, 0.9, 20, dtype=torch.float64)
    return {
        "robin beside hard dirichlet": (ps.Problem(
            square, lambda f: f.u.xx + f.u.yy - 1, inputs="x y", outputs="u",
            conditions=[ps.Dirichlet(0.0, on="x", hard=True),
                        ps.Robin(1.0, 2.0, 0.5, on="y")]), {}),
        "periodic, hard and derivative initial": (ps.Problem(
            Interval(0.0, 2 * math.pi) * TimeInterval(0.0, 1.0), lambda f: f.u.tt - f.u.xx,
            inputs="x t", outputs="u",
            conditions=[ps.Periodic(on="x", derivatives=1),
                        ps.Initial(lambda x: torch.sin(x), hard=True),
                        ps.Initial(0.0, derivative=1)]), {}),
        "system, hard on one output": (ps.Problem(
            square, lambda f: [f.u.xx + f.v, f.v.yy - f.u * f.v.x], inputs="x y",
            outputs="u v", conditions=[ps.Dirichlet(1.0, output="u", hard=True),
                                       ps.Neumann(0.0, output="v")]), {}),
        "inverse with an unknown": (ps.Problem(
            square, lambda f, k: k * (f.u.xx + f.u.yy) + 1, inputs="x y", outputs="u",
            conditions=[ps.Dirichlet(0.0),
                        ps.Observation(torch.stack([obs, obs.flip(0)], 1), torch.zeros(20))],
            unknowns={"k": ps.Unknown(0.5)}), {}),
        "hard disk, fourier features": (ps.Problem(
            Disk((0.0, 0.0), 1.0), lambda f: f.u.xx + f.u.yy + f.u.xy, inputs="x y",
            outputs="u", conditions=[ps.Dirichlet(lambda x, y: x * y, hard=True)]),
            {"fourier_features": 4}),
    }


@pytest.mark.parametrize("name", list(_condition_mixes()))
def test_condition_mixes_train_the_same_on_both_paths(name):
    problem, options = _condition_mixes()[name]
    results = {}
    for mode in ("taylor", "autograd"):
        solver = ps.PINN(width=8, depth=2, n_interior=64, n_boundary=16, n_initial=16,
                         derivatives=mode, **options)
        solver.setup(problem, dtype=torch.float64, seed=1)
        assert solver.derivative_path == mode
        results[mode] = _terms_after_adam(solver)
    for k, v in results["autograd"].items():
        assert abs(results["taylor"][k] - v) <= 1e-12 * max(abs(v), 1e-300), k


def _one_term(solver, fn):
    points = solver.interior
    first = solver.engine.evaluate("term", points, fn)
    second = solver.engine.evaluate("term", points, fn)
    backend = AutogradBackend(solver.forward, points, INPUTS, ("u", "v"), ("x", "y"))
    with backend.active():
        reference = fn(Fields(backend))
    return first, second, reference


def test_third_derivatives_and_expression_derivatives_stay_on_reverse_mode():
    solver = _solver(_problem(hard=True))
    cases = {"third": lambda f: f.u.xxy + f.v.t,
             "expression": lambda f: ps.d(f.x * f.u.x, "x") + f.v.yy}
    for name, fn in cases.items():
        first, second, reference = _one_term(solver, fn)
        assert solver.engine.mode("term") == "autograd", name
        assert torch.allclose(second, reference, rtol=0, atol=1e-12), name
        solver.engine.plans.clear()


def test_a_request_outside_the_plan_extends_it_and_is_answered():
    solver = _solver(_problem(hard=False))
    calls = {"n": 0}

    def branching(f):
        calls["n"] += 1
        return f.u.x if calls["n"] == 1 else f.u.x + f.v.yt

    points = solver.interior
    solver.engine.evaluate("term", points, branching)
    out = solver.engine.evaluate("term", points, branching)
    reference = AutogradBackend(solver.forward, points, INPUTS, ("u", "v"), ("x", "y"))
    expected = reference.derivative("u", ("x",)) + reference.derivative("v", ("y", "t"))
    assert torch.allclose(out, expected, rtol=0, atol=1e-12)
    assert solver.engine.mode("term") == "taylor"
    assert ("v", (1, 2)) in solver.engine.plans["term"].keys


def test_default_is_taylor_where_the_network_allows_it():
    solver = ps.PINN(width=8, depth=1, n_interior=16)
    solver.setup(problems.get("burgers")(), seed=0)
    assert solver.derivative_path == "taylor"

    class Custom(nn.Module):
        def forward(self, x):
            return x[:, :1] * 2.0

    custom = ps.PINN(network=Custom(), n_interior=16)
    custom.setup(problems.get("burgers")(), seed=0)
    assert custom.derivative_path == "autograd"
    with pytest.raises(ValueError, match="derivatives='taylor'.*Custom has none"):
        ps.PINN(network=Custom(), n_interior=16, derivatives="taylor").setup(
            problems.get("burgers")(), seed=0)


def test_families_with_their_own_forward_or_backend_keep_reverse_mode():
    class Shifted(ps.PINN):  # changes u itself: the network's jet alone would be wrong
        def forward(self, X):
            return super().forward(X) + X[:, :1] ** 3

    shifted = Shifted(width=8, depth=1, n_interior=16)
    shifted.setup(problems.get("burgers")(), dtype=torch.float64, seed=0)
    assert shifted.derivative_path == "autograd"
    pig = ps.models.PIG(n_gaussians=8, n_interior=16)
    pig.setup(problems.get("burgers")(), seed=0)
    assert pig.derivative_path == "autograd"
    with pytest.raises(ValueError, match="Shifted: derivatives='taylor'.*Shifted.forward"):
        Shifted(n_interior=16, derivatives="taylor").setup(problems.get("burgers")(), seed=0)


def test_bad_derivatives_value_is_refused_in_python_and_in_a_config():
    with pytest.raises(ValueError, match="derivatives must be 'auto', 'taylor' or 'autograd', "
                                         "got 'forward'"):
        ps.PINN(derivatives="forward")
    config = {"problem": {"name": "poisson1d"},
              "model": {"name": "pinn", "width": 8, "depth": 1, "n_interior": 16,
                        "derivatives": "jet"},
              "optim": {"stages": [{"name": "adam", "steps": 1}]}}
    with pytest.raises(ConfigError) as info:
        validate(config)
    assert info.value.path == "model.derivatives"
    assert "one of 'auto', 'taylor', 'autograd'" in str(info.value)
    config["model"]["derivatives"] = "autograd"
    _, solver, _ = build(validate(config))
    assert solver.derivative_path == "autograd"
