"""Systems whose residual returns a dict of named equations: they train with PINN and PIG,
take loss weights by equation name, refuse unknown names listing the allowed ones, and report
their per-equation losses by name in metrics records, metrics.json and configs."""
import json
import math

import pytest
import torch

import physolve as ps
from physolve.config import ConfigError
from physolve.geometry import Interval, Rectangle
from physolve.models.pig import PIG
from physolve.pde.library import problems

K = 1.5  # u = sin(K x), v = cos(K x)


def oscillator(form: str = "dict", k: float = K) -> ps.Problem:
    """u' = k v, v' = -k u on [0, 2], u(0) = 0, v(0) = 1, as two named equations ("dict") or
    the same two as a list ("list")."""
    def residual(f):
        equations = {"momentum": f.u.x - k * f.v, "continuity": f.v.x + k * f.u}
        return equations if form == "dict" else list(equations.values())

    return ps.Problem(
        Interval(0, 2), residual, outputs="u v",
        conditions=[ps.Dirichlet(0.0, on="xmin", output="u", name="u0"),
                    ps.Dirichlet(1.0, on="xmin", output="v", name="v0")],
        reference=ps.reference.Analytic(lambda x: (torch.sin(k * x), torch.cos(k * x))),
        name="oscillator")


def pinn(**kw):
    return ps.PINN(width=16, depth=2, n_interior=48, **kw)


def pig(**kw):
    return PIG(n_gaussians=40, channels=4, sigma=0.3, width=8, n_interior=48, **kw)


def detached(loss):
    total, terms = loss
    return total.detach(), {k: v.detach() for k, v in terms.items()}


def set_up(problem, model, seed=0):
    model.setup(problem, dtype=torch.float64, device="cpu", seed=seed)
    return model


@pytest.mark.parametrize("make", [pinn, pig], ids=["pinn", "pig"])
def test_dict_system_trains_to_the_exact_solution(make):
    # measured: rel. L2 2.9e-4 (PINN) and 1.1e-4 (PIG), the same as the list form's
    solution = ps.solve(oscillator("dict"), make(), optim=["adam:100:lr=1e-2", "lbfgs:100"],
                        dtype="float64", seed=0, progress=False, metrics_every=0)
    m = solution.metrics()
    assert m["rel_l2"] < 1e-3, m
    assert m["rel_l2_u"] < 1e-3 and m["rel_l2_v"] < 1e-3, m
    last = solution.history[-1]
    assert {"loss_momentum", "loss_continuity", "loss_u0", "loss_v0"} <= set(last)
    assert not any(k.startswith("loss_pde") for k in last)


@pytest.mark.parametrize("make", [pinn, pig], ids=["pinn", "pig"])
def test_dict_and_list_forms_give_the_same_loss(make):
    total_d, terms_d = detached(set_up(oscillator("dict"), make()).loss())
    total_l, terms_l = detached(set_up(oscillator("list"), make()).loss())
    assert float(total_d) == pytest.approx(float(total_l), rel=1e-14)
    assert float(terms_d["momentum"]) == pytest.approx(float(terms_l["pde0"]), rel=1e-14)
    assert float(terms_d["continuity"]) == pytest.approx(float(terms_l["pde1"]), rel=1e-14)
    assert float(terms_d["momentum"]) > 1e-3        # not trivially equal


def test_weight_by_name_scales_that_term_only():
    plain = set_up(oscillator(), pinn())
    weighted = set_up(oscillator(), pinn(weights={"momentum": 10.0, "pde": 3.0, "u0": 0.5}))
    assert weighted.equations == ("momentum", "continuity")
    total_p, terms = detached(plain.loss())
    total_w, terms_w = detached(weighted.loss())
    # same network and points: the unweighted terms agree, the total moves by the factors
    assert float(terms_w["momentum"]) == pytest.approx(float(terms["momentum"]), rel=1e-14)
    expected = (10.0 * terms["momentum"] + 3.0 * terms["continuity"] + 0.5 * terms["u0"]
                + terms["v0"])
    assert float(total_w) == pytest.approx(float(expected), rel=1e-13)
    assert float(total_w - total_p) == pytest.approx(
        float(9.0 * terms["momentum"] + 2.0 * terms["continuity"] - 0.5 * terms["u0"]),
        rel=1e-12)
    # the residual vector of Gauss-Newton optimizers carries the same weights
    assert float(weighted.residual_vector().detach().square().sum()) == pytest.approx(float(total_w),
                                                                           rel=1e-12)


def test_weighting_an_equation_by_name_changes_training():
    # a large weight on one equation drives its residual below the other's: measured ratio
    # continuity / momentum after 150 Adam steps 0.31 unweighted, 5e-4 with weight 100
    sol = ps.solve(oscillator(), pinn(weights={"continuity": 100.0}), optim=["adam:150:lr=1e-2"],
                   dtype="float64", seed=0, progress=False, metrics_every=0)
    last = sol.history[-1]
    assert last["loss_continuity"] < 1e-2 * last["loss_momentum"], last


@pytest.mark.parametrize("make", [pinn, pig], ids=["pinn", "pig"])
def test_unknown_equation_name_is_refused_listing_the_names(make):
    with pytest.raises(ValueError) as info:
        set_up(oscillator(), make(weights={"momentm": 10.0}))
    text = str(info.value)
    assert "loss weights for unknown terms ['momentm']" in text
    for name in ("'momentum'", "'continuity'", "'u0'", "'v0'", "'pde'"):
        assert name in text
    # the list form names its equations pde0, pde1 -- and no others
    set_up(oscillator("list"), pinn(weights={"pde1": 2.0}))
    with pytest.raises(ValueError, match=r"unknown terms \['pde2'\]"):
        set_up(oscillator("list"), pinn(weights={"pde2": 2.0}))
    with pytest.raises(ValueError, match="loss weight of 'momentum' must be a number >= 0"):
        set_up(oscillator(), pinn(weights={"momentum": -1.0}))


def test_equation_names_are_checked():
    from physolve.pde.problem import equation_terms

    assert list(equation_terms({"a": 1.0, "b": 2.0})) == ["a", "b"]
    assert list(equation_terms([1.0, 2.0])) == ["pde0", "pde1"]
    assert list(equation_terms(torch.zeros(3))) == ["pde"]
    with pytest.raises(ValueError, match="equation name 'x-momentum' is not usable"):
        equation_terms({"x-momentum": 1.0})
    with pytest.raises(ValueError, match="empty dict"):
        equation_terms({})

    def residual(f):
        return {"u0": f.u.x - f.v, "continuity": f.v.x + f.u}

    clash = ps.Problem(Interval(0, 1), residual, outputs="u v",
                       conditions=[ps.Dirichlet(0.0, on="xmin", output="u", name="u0")])
    with pytest.raises(ValueError, match=r"equation names \['u0'\] are also condition names"):
        set_up(clash, pinn())


def test_gp_spectral_takes_named_equations_and_their_weights():
    from physolve.models import solvers

    gp = solvers.get("gp_spectral")
    for weights in ({"momentum": 2.0}, None):
        solver = set_up(oscillator(), gp(grid=24, n_components=4, weights=weights))
        total, terms = detached(solver.loss())
        assert {"momentum", "continuity", "u0", "v0"} <= set(terms)
        assert math.isfinite(float(total))
        assert solver.weight("momentum", 1) == (2.0 if weights else 1.0)
        assert solver.weight("continuity", 1) == 1.0
    with pytest.raises(ValueError, match=r"unknown terms \['momentm'\].*'momentum'"):
        set_up(oscillator(), gp(grid=24, n_components=4, weights={"momentm": 1.0}))


def test_operator_physics_loss_sums_named_equations():
    from physolve.models import MgNO
    from physolve.pde.families import DarcyFamily

    class TwoEquationDarcy(DarcyFamily):
        def residual(self, f, a):
            r = super().residual(f, a)
            return {"flow": r, "flow_twice": 2 * r}

    u = torch.rand(2, 1, 8, 8, dtype=torch.float64)
    x = 1 + torch.rand(2, 1, 8, 8, dtype=torch.float64)
    out = {}
    for family in (DarcyFamily(n=8), TwoEquationDarcy(n=8)):
        solver = MgNO()
        solver.problem = family   # physics_residual needs only the family's grid
        out[type(family).__name__] = solver.physics_residual(u, x)
    one, two = out["DarcyFamily"], out["TwoEquationDarcy"]
    assert set(one) == {"physics"}
    assert set(two) == {"physics", "physics_flow", "physics_flow_twice"}
    assert float(two["physics_flow"]) == pytest.approx(float(one["physics"]), rel=1e-14)
    assert float(two["physics"]) == pytest.approx(5 * float(one["physics"]), rel=1e-14)


def test_config_weights_by_name_reach_metrics_and_log(tmp_path, monkeypatch):
    from physolve.runner import train_run

    monkeypatch.setitem(problems._entries, "named_oscillator", oscillator)
    monkeypatch.setitem(problems._meta, "named_oscillator", {})
    config = {"problem": {"name": "named_oscillator"},
              "model": {"name": "pinn", "width": 12, "depth": 2, "n_interior": 32,
                        "weights": {"momentum": 10.0}},
              "optim": {"stages": [{"name": "adam", "steps": 6}]},
              "trainer": {"dtype": "float64", "seed": 0, "progress": False,
                          "metrics_every": 3},
              "output": {"formats": [], "plots": False}}
    train_run(config, tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {"loss_momentum", "loss_continuity", "loss_u0", "loss_v0"} <= set(metrics)
    records = [json.loads(line)
               for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [3, 6]
    assert all("loss_momentum" in r and "loss_continuity" in r for r in records)
    # the final record's terms are what metrics.json reports, and the weight was applied
    last = records[-1]
    assert metrics["loss_momentum"] == last["loss_momentum"]

    config["model"]["weights"] = {"momentm": 10.0}
    with pytest.raises(ConfigError) as info:
        train_run(config, tmp_path / "bad")
    assert info.value.path == "model.weights"
    assert "'momentum'" in str(info.value) and "'continuity'" in str(info.value)
    assert not (tmp_path / "bad" / "config.yaml").exists()   # refused before training


def test_single_equation_problems_keep_their_names():
    problem = problems.get("poisson1d")()
    solver = set_up(problem, pinn(weights={"pde": 2.0}))
    assert solver.equations == ("pde",)
    _, terms = solver.loss()
    assert "pde" in terms
    # a 2-D pair, coupled through the Laplacian: named equations on a rectangle
    def residual(f):
        return {"heat": f.u.xx + f.u.yy - f.v, "source": f.v}

    square = ps.Problem(Rectangle((0, 0), (1, 1)), residual, outputs="u v",
                        conditions=[ps.Dirichlet(0.0, output="u")])
    _, terms = set_up(square, pinn(weights={"source": 4.0})).loss()
    assert {"heat", "source", "dirichlet"} == set(terms)
