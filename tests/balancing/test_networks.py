"""Network options: the modified MLP and weight factorisation compute their definitions, a
factorised layer starts as its unfactorised weight, the periodic embedding is periodic to
rounding in value and derivatives, and every option's derivatives on physolve's Taylor path
equal reverse mode's to 1e-12 in float64."""
import itertools

import pytest
import torch
from torch import nn

import physolve as ps
from physolve.geometry import Interval, TimeInterval
from physolve.models.networks import (INITIALIZERS, MLP, FactorizedLinear, ModifiedMLP,
                                      PeriodicEmbedding, PirateNet)
from physolve.pde.autograd import AutogradBackend
from physolve.pde.fields import Fields


def test_modified_mlp_is_its_definition():
    torch.manual_seed(0)
    net = ModifiedMLP(3, 2, width=5, depth=3).double()
    x = torch.randn(11, 3, dtype=torch.float64)
    s = torch.tanh
    U, V = s(net.encoder_u(x)), s(net.encoder_v(x))
    H = x
    for layer in net.hidden:
        Z = s(H @ layer.weight.T + layer.bias)
        H = (1 - Z) * V + Z * U
    expected = H @ net.output.weight.T + net.output.bias
    assert torch.allclose(net(x), expected, rtol=0, atol=1e-14)
    assert len(net.hidden) == 3 and net.hidden[0].in_features == 3


def test_factorised_layer_starts_as_its_unfactorised_weight_and_computes_exp_s_v():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        layer = FactorizedLinear(4, 6, mean=1.0, std=0.1)
        torch.manual_seed(5)
        layer.reset(INITIALIZERS["xavier_normal"])
        torch.manual_seed(5)
        w0 = torch.empty(6, 4)
        nn.init.xavier_normal_(w0)
    finally:
        torch.set_default_dtype(old)
    assert torch.allclose(layer.weight, w0, rtol=1e-15, atol=0)
    s = layer.s.detach()
    assert float(s.std()) > 0.01 and abs(float(s.mean()) - 1.0) < 0.2
    x = torch.randn(7, 4, dtype=torch.float64)
    expected = x @ (torch.exp(layer.s)[:, None] * layer.v).T + layer.bias
    assert torch.equal(layer(x), expected) or torch.allclose(layer(x), expected, atol=1e-15)
    # a factorised MLP has s, v per layer and trains them both
    net = MLP(2, 1, width=5, depth=2, weight_fact={"mean": 0.5, "std": 0.1})
    names = [n for n, _ in net.named_parameters()]
    assert sum(n.endswith(".s") for n in names) == 3 and sum(n.endswith(".v") for n in names) == 3


def test_periodic_embedding_is_periodic_in_value_and_derivatives():
    problem = ps.Problem(Interval(-1, 1) * TimeInterval(0, 1), lambda f: f.u.t - f.u.xx,
                         inputs="x t", outputs="u")
    solver = ps.PINN(width=8, depth=2, n_interior=16, periodic=["x"],
                     architecture="modified_mlp")
    solver.setup(problem, dtype=torch.float64, seed=0)
    assert isinstance(solver.net.embedding, PeriodicEmbedding)
    t = torch.linspace(0, 1, 9, dtype=torch.float64)
    for x0 in (-1.0, -0.3, 0.4):
        a = torch.stack([torch.full_like(t, x0), t], 1)
        b = torch.stack([torch.full_like(t, x0 + 2.0), t], 1)   # one period on
        fa, fb = solver.fields(a), solver.fields(b)
        for get in (lambda f: f.u, lambda f: f.u.x, lambda f: f.u.xx, lambda f: f.u.t):
            va, vb = get(fa).value.detach(), get(fb).value.detach()
            assert torch.allclose(va, vb, rtol=0, atol=1e-13), float((va - vb).abs().max())
    # not trivially periodic: the field does vary in x
    x = torch.stack([torch.linspace(-1, 1, 7, dtype=torch.float64), torch.zeros(7,
                     dtype=torch.float64)], 1)
    assert float(solver.predict(x).std()) > 1e-4


INPUTS = ("x", "t")
KEYS = [()] + [(a,) for a in INPUTS] + list(itertools.combinations_with_replacement(INPUTS, 2))
OPTIONS = {
    "modified_mlp": dict(architecture="modified_mlp"),
    "weight_fact": dict(weight_fact={"mean": 1.0, "std": 0.1}),
    "periodic": dict(periodic=["x"]),
    "modified+fact+periodic+fourier": dict(architecture="modified_mlp", periodic=["x"],
                                            weight_fact={"mean": 0.5, "std": 0.2},
                                            fourier_features=3, activation="sin"),
    "modified_raw_inputs": dict(architecture="modified_mlp", periodic=["x"],
                                normalize_inputs=False, activation="gelu"),
}


@pytest.mark.parametrize("case", list(OPTIONS))
def test_taylor_path_equals_reverse_mode(case):
    problem = ps.Problem(Interval(0, 2.5) * TimeInterval(0, 1),
                         lambda f: f.u.t + f.u * f.u.x - 0.1 * f.u.xx + f.u.xt, inputs="x t",
                         outputs="u", conditions=[ps.Initial(lambda x: torch.sin(x),
                                                             hard=True)])
    solver = ps.PINN(width=7, depth=2, n_interior=37, derivatives="taylor", **OPTIONS[case])
    solver.setup(problem, dtype=torch.float64, seed=4)
    assert solver.derivative_path == "taylor"

    def every(f):
        return {wrt: f.u.d(*wrt).value for wrt in KEYS}

    pts = solver.interior
    solver.engine.evaluate("probe", pts, every)
    fast = solver.engine.evaluate("probe", pts, every)
    ref = every(Fields(AutogradBackend(solver.forward, pts, INPUTS, ("u",), ("x",))))
    for key in KEYS:
        scale = max(1.0, float(ref[key].detach().abs().max()))
        assert float((fast[key] - ref[key]).detach().abs().max()) <= 1e-12 * scale, key
    assert float(ref[("x", "t")].detach().abs().max()) > 1e-3
    # the parameter gradient of the loss too
    g = {}
    for mode in ("taylor", "autograd"):
        s = ps.PINN(width=7, depth=2, n_interior=37, derivatives=mode, **OPTIONS[case])
        s.setup(problem, dtype=torch.float64, seed=4)
        total, _ = s.loss()
        g[mode] = torch.cat([x.reshape(-1) for x in torch.autograd.grad(total, s.parameters())])
    assert torch.allclose(g["taylor"], g["autograd"], rtol=1e-10, atol=1e-12)


def test_pirate_net_is_its_definition_and_starts_linear_in_its_embedding():
    torch.manual_seed(0)
    net = PirateNet(3, 2, width=5, depth=2).double()
    x = torch.randn(11, 3, dtype=torch.float64)
    # gates at 0: every block passes its input through, the network is its output layer
    assert torch.allclose(net(x), net.output(x), rtol=0, atol=1e-15)
    with torch.no_grad():
        net.alpha.copy_(torch.tensor([0.3, -0.8], dtype=torch.float64))
    s = torch.tanh
    U, V = s(net.encoder_u(x)), s(net.encoder_v(x))
    H = x
    for (a, b, c), alpha in zip(net.blocks, (0.3, -0.8)):
        F = s(H @ a.weight.T + a.bias)
        Z = F * U + (1 - F) * V
        G = s(Z @ b.weight.T + b.bias)
        Z = G * U + (1 - G) * V
        H = alpha * s(Z @ c.weight.T + c.bias) + (1 - alpha) * H
    expected = H @ net.output.weight.T + net.output.bias
    assert torch.allclose(net(x), expected, rtol=0, atol=1e-12)
    assert not torch.allclose(net(x), net.output(x), atol=1e-3)
    assert len(net.blocks) == 2 and net.blocks[0][2].out_features == 3


@pytest.mark.parametrize("options", [dict(fourier_features=4),
                                     dict(periodic=["x"], weight_fact={"mean": 0.5, "std": 0.2},
                                          activation="sin")],
                         ids=["fourier", "periodic+fact+sin"])
def test_pirate_taylor_path_equals_reverse_mode_with_open_gates(options):
    problem = ps.Problem(Interval(0, 2.5) * TimeInterval(0, 1),
                         lambda f: f.u.t + f.u * f.u.x - 0.1 * f.u.xx + f.u.xt, inputs="x t",
                         outputs="u")
    solvers = {}
    for mode in ("taylor", "autograd"):
        s = ps.PINN(width=6, depth=2, n_interior=29, n_boundary=6, derivatives=mode,
                    architecture="pirate", **options)
        s.setup(problem, dtype=torch.float64, seed=4)
        with torch.no_grad():  # gates open, so that every block takes part
            s.net.alpha.copy_(torch.tensor([0.4, 0.7]))
        solvers[mode] = s
    assert solvers["taylor"].derivative_path == "taylor"

    def every(f):
        return {wrt: f.u.d(*wrt).value for wrt in KEYS}

    pts = solvers["taylor"].interior
    engine = solvers["taylor"].engine
    engine.evaluate("probe", pts, every)
    fast = engine.evaluate("probe", pts, every)
    ref = every(Fields(AutogradBackend(solvers["autograd"].forward, pts, INPUTS, ("u",),
                                       ("x",))))
    for key in KEYS:
        scale = max(1.0, float(ref[key].detach().abs().max()))
        assert float((fast[key] - ref[key]).detach().abs().max()) <= 1e-12 * scale, key
    grads = {}
    for mode, s in solvers.items():
        total, _ = s.loss()
        grads[mode] = torch.cat([g.reshape(-1) for g in torch.autograd.grad(total,
                                                                            s.parameters())])
    assert torch.allclose(grads["taylor"], grads["autograd"], rtol=1e-10, atol=1e-12)
    # the gates are trained: they get a gradient
    alpha = solvers["taylor"].net.alpha
    total, _ = solvers["taylor"].loss()
    assert float(torch.autograd.grad(total, alpha)[0].abs().min()) > 0


def test_bad_network_options_are_refused_naming_the_key():
    with pytest.raises(ValueError, match="architecture must be one of mlp, modified_mlp, "
                                         "pirate"):
        ps.PINN(architecture="resnet")
    with pytest.raises(ValueError, match=r"weight_fact.sd: unknown key; allowed: mean, std"):
        ps.PINN(weight_fact={"sd": 0.1})
    with pytest.raises(ValueError, match=r"weight_fact.std: must be a number >= 0"):
        ps.PINN(weight_fact={"std": -1.0})
    with pytest.raises(ValueError, match=r"periodic names \['z'\], not inputs"):
        ps.PINN(periodic=["z"]).setup(ps.problems.get("poisson1d")(), dtype=torch.float64,
                                      seed=0)
