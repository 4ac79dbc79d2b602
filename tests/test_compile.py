"""PINN(compile=True): the Taylor-path loss terms compiled by torch.compile equal the eager
ones (and so do their gradients), resampled points reuse the graph, and every way compiling
can fail -- torch.compile raising, a graph break, a term on reverse mode -- falls back to
the eager loss with exactly one UserWarning naming the reason; hard constraints compile (their
transform's jets enter the graph as inputs)."""
import warnings

import pytest
import torch

import physolve as ps
from physolve.geometry import Interval, TimeInterval

dynamo_supported = torch._dynamo.is_dynamo_supported()
needs_compile = pytest.mark.skipif(not dynamo_supported,
                                   reason="torch.compile is not supported on this platform")


def _problem(residual=None):
    """Advection-diffusion on [0, 2] x [0, 0.3], u(x, 0) = x (2 - x), u = 0 at both ends."""
    def advection_diffusion(f):
        u = f.u
        return u.t + 0.7 * u * u.x - 0.05 * u.xx + 0.2 * u.x * u.t
    return ps.Problem(Interval(0.0, 2.0) * TimeInterval(0.0, 0.3),
                      residual or advection_diffusion, inputs="x t", outputs="u",
                      conditions=[ps.Initial(lambda x: x * (2 - x)), ps.Dirichlet(0.0, on="x")])


def _pair(dtype, problem=None, **kw):
    """The same PINN compiled and eager."""
    out = []
    for compile in (True, False):
        s = ps.PINN(width=6, depth=2, activation="sin", n_interior=40, n_boundary=6,
                    n_initial=10, compile=compile, **kw)
        s.setup(problem or _problem(), dtype=dtype, seed=3)
        out.append(s)
    return out


def _graphs() -> int:
    from torch._dynamo.utils import counters
    return counters["stats"]["unique_graphs"]


@needs_compile
@pytest.mark.slow
@pytest.mark.parametrize("dtype, rtol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
def test_compiled_terms_and_gradients_equal_eager_and_resampling_reuses_the_graph(dtype, rtol):
    compiled, eager = _pair(dtype)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for round_index in range(3):  # the first loss plans the conditions, eagerly
            if round_index == 2:
                before = _graphs()
                compiled.resample(2), eager.resample(2)
            for s in (compiled, eager):
                for p in s.parameters():
                    p.grad = None
                total, _ = s.loss()
                total.backward()
            a, b = compiled.residual_terms(), eager.residual_terms()
            for key in b:
                torch.testing.assert_close(a[key], b[key], rtol=rtol, atol=0)
            for p, q in zip(compiled.parameters(), eager.parameters()):
                scale = q.grad.abs().max()
                assert float((p.grad - q.grad).abs().max() / scale) < 10 * rtol
    assert compiled._compiled_terms.failure is None  # compiled, no fallback
    assert not [w for w in record if "eagerly" in str(w.message)]
    assert _graphs() == before  # new points of the same counts: no new graph


def _one_warning(record, text):
    ours = [w for w in record if issubclass(w.category, UserWarning) and "eagerly" in str(w.message)]
    assert len(ours) == 1, [str(w.message) for w in record]
    assert text in str(ours[0].message)


def _falls_back_with_one_warning(problem, text):
    """Three steps of the compiled PINN warn once (`text`) and equal the eager one."""
    compiled, eager = _pair(torch.float64, problem)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(3):
            compiled.loss()
    _one_warning(record, text)
    _same_terms(compiled, eager)


def _same_terms(a, b):
    x, y = a.residual_terms(), b.residual_terms()
    for key in y:
        assert x[key].item() == y[key].item()


def test_a_failing_torch_compile_falls_back_to_eager_with_one_warning(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no compiler on this machine")

    monkeypatch.setattr(torch, "compile", broken)
    compiled, eager = _pair(torch.float64)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(3):
            compiled.loss()[0].backward()
    _one_warning(record, "RuntimeError: no compiler on this machine")
    _same_terms(compiled, eager)


@needs_compile
def test_a_graph_break_falls_back_to_eager_with_one_warning():
    def breaking(f):
        torch._dynamo.graph_break()  # stands for any code Dynamo cannot trace
        return f.u.t - 0.05 * f.u.xx

    _falls_back_with_one_warning(_problem(breaking), "torch.compile failed")


def test_a_term_on_reverse_mode_runs_eagerly_with_one_warning():
    def expression(f):  # a derivative of an expression: reverse mode, not in a graph
        return f.u.t - ps.d(0.05 * f.u.x * (1 + f.u), "x")

    _falls_back_with_one_warning(_problem(expression), "term 'pde' needs reverse mode")


def test_compile_needs_the_taylor_path():
    with pytest.raises(ValueError, match="compile=True.*derivatives='autograd'"):
        ps.PINN(compile=True, derivatives="autograd")
    with pytest.raises(ValueError, match="compile must be true or false, got 'yes'"):
        ps.PINN(compile="yes")


@needs_compile
@pytest.mark.slow
def test_hard_constraints_compile_and_equal_eager():
    # the transform's jets (reverse passes, data-dependent branches) are computed outside
    # the graph, once per point set, and enter it as inputs
    hard = ps.Problem(Interval(0.0, 2.0) * TimeInterval(0.0, 0.3),
                      lambda f: f.u.t + f.u * f.u.x - 0.05 * f.u.xx, inputs="x t", outputs="u",
                      conditions=[ps.Dirichlet(0.0, on="x", hard=True),
                                  ps.Initial(lambda x: x * (2 - x), hard=True)])
    compiled, eager = _pair(torch.float64, hard)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(2):  # the first loss plans the terms, eagerly; the second compiles
            for s in (compiled, eager):
                for p in s.parameters():
                    p.grad = None
                s.loss()[0].backward()
    assert not [w for w in record if "eagerly" in str(w.message)]
    assert compiled._compiled_terms.failure is None
    a, b = compiled.residual_terms(), eager.residual_terms()
    assert list(b) == ["pde"]  # no soft condition left
    for key in b:
        torch.testing.assert_close(a[key], b[key], rtol=1e-12, atol=0)
    for p, q in zip(compiled.parameters(), eager.parameters()):
        assert float((p.grad - q.grad).abs().max() / q.grad.abs().max()) < 1e-11
