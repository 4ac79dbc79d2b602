"""NeuralStagger: decomposition round trip, independent sub-grid networks, data-free residual
training lowers the loss and the rollout error against the classical solver."""
import pytest
import torch

from physolve.models.neural_stagger import NeuralStagger
from physolve.pde.solvers import NavierStokes2D, relative_l2


def make(factors=(2, 2, 2), n=16, **kw):
    m = NeuralStagger(n=n, nu=1e-2, dt=0.05, factors=factors, width=8, depth=1, batch=4,
                      peak=2.0, **kw)
    m.setup(seed=0, dtype=torch.float64)
    return m


def test_split_merge_round_trip_and_staggering():
    m = make((2, 4, 1))
    w = torch.randn(3, 16, 16, dtype=torch.float64)
    parts = m.split(w)
    assert parts.shape == (3, 8, 8, 4)
    assert torch.equal(parts[:, 1 * 4 + 3], w[:, 1::2, 3::4])
    assert torch.equal(m.merge(parts), w)


def test_each_subgrid_is_written_by_its_own_network():
    m = make((2, 2, 1))
    w = m.pool[:1]
    for p in m.net.parameters():
        torch.nn.init.normal_(p, std=0.1)
    out = m.forward(w)[0, 0]
    g = torch.autograd.grad(out[0::2, 1::2].sum(), m.net.proj.weight)[0]  # sub-grid 1
    per_net = g.reshape(4, -1).abs().sum(1)
    assert per_net[1] > 0 and torch.all(per_net[[0, 2, 3]] == 0)


def test_untrained_model_is_identity_and_its_loss_is_the_scheme_residual():
    m = make()
    w = m.pool
    frames = m.forward(w)
    assert frames.shape == (2,) + w.shape and torch.equal(frames[1], w)
    expected = m.ns.residual(w, w, m.dt).pow(2).mean()
    assert torch.allclose(m.loss()[0], expected)


@pytest.mark.parametrize("factors", [(2, 2, 2), (1, 1, 1)])
def test_residual_training_reduces_loss_and_rollout_error(factors):
    torch.manual_seed(0)
    m = make(factors)
    ns = NavierStokes2D(16, 1e-2)
    w0 = ns.decaying_turbulence(seed=99, peak=2.0)
    ref = ns.rollout(w0, 0.05, 4, substeps=2)
    before = relative_l2(m.rollout(w0, 4)[-1], ref[-1])
    history = m.train(150)
    after = relative_l2(m.rollout(w0, 4)[-1], ref[-1])
    assert history[-1] < 0.3 * history[0]
    assert after < 0.85 * before, (before, after)


def test_bad_factors_fail_early():
    with pytest.raises(ValueError, match="factors"):
        NeuralStagger(n=16, factors=(3, 2, 1))
    with pytest.raises(ValueError, match="width"):
        NeuralStagger(n=16, width=0)


def test_rollout_vtk_series_round_trips_and_strip_is_written(tmp_path):
    import meshio

    from physolve.models.neural_stagger import plot_strip, write_rollout_vtk

    m = make()
    w0 = m.ns.decaying_turbulence(seed=4, peak=2.0)
    frames = m.ns.rollout(w0, 0.05, 2)
    pvd = write_rollout_vtk(tmp_path, m.ns, frames, 0.05, reference=frames)
    text = pvd.read_text()
    assert text.count("<DataSet") == 3 and 'timestep="0.1"' in text
    mesh = meshio.read(tmp_path / "rollout_0002.vtu")
    assert mesh.points.shape == (256, 3)
    assert abs(mesh.points[:, 0].max() - (2 * torch.pi - 2 * torch.pi / 16)) < 1e-12
    assert torch.allclose(torch.from_numpy(mesh.point_data["vorticity"]), frames[2].ravel())
    u, v = m.ns.velocity(frames[2])
    assert torch.allclose(torch.from_numpy(mesh.point_data["velocity"][:, 1]), v.ravel())
    plot_strip(tmp_path / "strip.png", {"model": m.rollout(w0, 2)}, frames, (0, 2))
    assert (tmp_path / "strip.png").read_bytes()[:4] == b"\x89PNG"
