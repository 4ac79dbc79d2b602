"""Derivatives by name against analytic derivatives, operators, and the derivative cache."""
import math

import pytest
import torch

from physolve.pde import AutogradBackend, Fields, d, div, grad, laplacian
from physolve.pde.fields import parse_derivative

torch.manual_seed(0)


def model(X):
    x, y, t = X[:, 0], X[:, 1], X[:, 2]
    u = torch.sin(2 * x) * torch.exp(y) * t ** 2 + x ** 3 * y
    v = torch.cos(x * y) + t * x
    return torch.stack([u, v], dim=1)


@pytest.fixture
def fields():
    X = torch.rand(64, 3, dtype=torch.float64) * 2 - 1
    return Fields(AutogradBackend(model, X, "x y t".split(), "u v".split(), "x y".split()))


def exact(X):
    x, y, t = X[:, 0], X[:, 1], X[:, 2]
    s, c, e = torch.sin(2 * x), torch.cos(2 * x), torch.exp(y)
    return {
        ("u", "x"): 2 * c * e * t ** 2 + 3 * x ** 2 * y,
        ("u", "xx"): -4 * s * e * t ** 2 + 6 * x * y,
        ("u", "xy"): 2 * c * e * t ** 2 + 3 * x ** 2,
        ("u", "yx"): 2 * c * e * t ** 2 + 3 * x ** 2,
        ("u", "t"): 2 * s * e * t,
        ("u", "tt"): 2 * s * e,
        ("u", "xxt"): -8 * s * e * t,
        ("u", "xxx"): -8 * c * e * t ** 2 + 6 * y,
        ("v", "x"): -y * torch.sin(x * y) + t,
        ("v", "xy"): -torch.sin(x * y) - x * y * torch.cos(x * y),
    }


def test_derivatives_match_analytic_in_float64(fields):
    X = fields.backend.points.detach()
    for (out, name), expected in exact(X).items():
        got = getattr(fields[out], name).value.detach()
        torch.testing.assert_close(got, expected, atol=1e-10, rtol=0), (out, name)


def test_each_derivative_is_computed_once(fields):
    u = fields.u
    u.xx.value
    assert fields.backend.backward_passes == 2      # u -> (u.x, u.y, u.t) -> (u.xx, u.xy, u.xt)
    u.x.value, u.xy.value, u.yx.value, u.xt.value, u.t.value
    assert fields.backend.backward_passes == 2      # all cached
    u.yy.value
    assert fields.backend.backward_passes == 3


def test_fields_behave_like_tensors(fields):
    u, x = fields.u, fields.x
    expr = u.t + u * u.x - 0.1 * u.xx + torch.sin(u) + u ** 2 / (1 + x ** 2)
    assert isinstance(expr, torch.Tensor) and expr.shape == (64,)
    ref = u.value
    torch.testing.assert_close(torch.exp(u), torch.exp(ref))
    torch.testing.assert_close(2 - u, 2 - ref)
    torch.testing.assert_close(-u, -ref)


def test_operators(fields):
    X = fields.backend.points.detach()
    e = exact(X)
    u, v = fields.u, fields.v
    gx, gy = grad(u)
    torch.testing.assert_close(gx.value.detach(), e[("u", "x")])
    lap = laplacian(u).detach()
    x, y, t = X.unbind(1)
    lap_exact = e[("u", "xx")] + torch.sin(2 * x) * torch.exp(y) * t ** 2
    torch.testing.assert_close(lap, lap_exact, atol=1e-10, rtol=0)
    # divergence of (u, v) and of an expression, through the active backend
    with fields.backend.active():
        dv = div([u, v]).detach()
        d_uu = d(u * u, "x").detach()
    v_y = -x * torch.sin(x * y)
    torch.testing.assert_close(dv, e[("u", "x")] + v_y, atol=1e-10, rtol=0)
    torch.testing.assert_close(d_uu, 2 * u.value.detach() * e[("u", "x")], atol=1e-10, rtol=0)


def test_coordinates_and_errors(fields):
    torch.testing.assert_close(fields.t, fields.backend.points[:, 2])
    with pytest.raises(AttributeError, match="named by the inputs"):
        fields.u.q
    with pytest.raises(AttributeError, match="outputs are"):
        fields.w
    with pytest.raises(ValueError, match="not an input"):
        fields.u.d("z")
    with pytest.raises(RuntimeError, match="no derivative backend is active"):
        d(fields.u.value, "x")


def test_derivative_names_parse_uniquely():
    assert parse_derivative("xixi", ("xi", "t")) == ("xi", "xi")
    assert parse_derivative("xt", ("x", "t")) == ("x", "t")
    assert parse_derivative("q", ("x", "t")) is None
    with pytest.raises(AttributeError, match="more than one way"):
        parse_derivative("xxx", ("x", "xx"))
