"""Properties every domain must have: samples inside / on the boundary, outward normals,
volumes and boundary measures (exact for primitives, within 1% for CSG)."""
import math

import pytest
import torch
from geometry_cases import CSG


def test_interior_samples_lie_inside(domain_case, method):
    name, domain, _, _ = domain_case
    x = domain.sample_interior(300, method=method, seed=3)
    assert x.dtype == torch.float64 and x.shape[1] == domain.dim
    # "grid" returns about n points (a Cartesian grid clipped to the domain).
    assert x.shape[0] == 300 if method != "grid" else 0.5 * 300 < x.shape[0] < 2.5 * 300
    assert bool(domain.contains(x).all())
    assert float(domain.sdf(x).max()) <= 1e-12
    lo, hi = domain.bbox
    assert bool(((x >= lo) & (x <= hi)).all())


def test_boundary_samples_lie_on_the_boundary(domain_case, method):
    name, domain, _, _ = domain_case
    b = domain.sample_boundary(200, method=method, seed=4)
    # "grid" puts ceil(k^(1/d))^d points on a face whose share is k (fewer where CSG rejects).
    assert len(b) == 200 if method != "grid" else 100 < len(b) < 500
    assert float(domain.sdf(b.points).abs().max()) < 1e-9
    assert bool(domain.on_boundary(b.points).all())
    assert b.face_index.shape == (len(b),) and b.face_index.max() < len(b.face_labels)


def test_normals_are_unit_and_outward(domain_case):
    name, domain, _, _ = domain_case
    b = domain.sample_boundary(400, method="sobol", seed=5)
    assert torch.allclose(b.normals.norm(dim=1), torch.ones(len(b), dtype=torch.float64))
    h = 1e-6
    assert bool((domain.sdf(b.points + h * b.normals) > 0.5 * h).all())
    assert bool((domain.sdf(b.points - h * b.normals) < -0.5 * h).all())
    # boundary_normal recomputes them from the points alone.
    assert torch.allclose(domain.boundary_normal(b.points), b.normals, atol=1e-12)


def test_volume_and_boundary_measure(domain_case):
    name, domain, volume, measure = domain_case
    rel = 1e-2 if name in CSG else 1e-12
    assert domain.volume() == pytest.approx(volume, rel=rel)
    assert domain.boundary_measure() == pytest.approx(measure, rel=rel)


def test_boundary_points_are_spread_by_measure(domain_case):
    # Every face label gets a share of the points proportional to its (estimated) measure.
    name, domain, _, measure = domain_case
    b = domain.sample_boundary(4000, method="sobol", seed=6)
    for label in b.face_labels:
        share = float((b.face_index == b.face_labels.index(label)).double().mean())
        expected = sum(p.measure() for p in domain.select(label)) / domain.boundary_measure()
        assert share == pytest.approx(expected, abs=2e-3)


def test_same_seed_same_points_other_seed_other_points(domain_case):
    name, domain, _, _ = domain_case
    for method in ("uniform", "sobol"):
        a = domain.sample_interior(64, method=method, seed=1)
        assert torch.equal(a, domain.sample_interior(64, method=method, seed=1))
        assert not torch.equal(a, domain.sample_interior(64, method=method, seed=2))
        p = domain.sample_boundary(64, method=method, seed=1).points
        assert torch.equal(p, domain.sample_boundary(64, method=method, seed=1).points)
        if domain.dim > 1:  # a 1-D boundary is two points: nothing to vary
            assert not torch.equal(p, domain.sample_boundary(64, method=method, seed=2).points)


def test_functions_of_points_follow_dtype_and_accept_numpy(domain_case):
    name, domain, _, _ = domain_case
    x = domain.sample_interior(8, seed=0)
    assert domain.sdf(x.float()).dtype == torch.float32
    assert domain.smooth_distance(x.float()).dtype == torch.float32
    assert torch.allclose(domain.sdf(x.numpy()), domain.sdf(x))
    # (..., dim) batches keep their shape.
    assert domain.sdf(x.reshape(2, 4, domain.dim)).shape == (2, 4)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., %d\)" % domain.dim):
        domain.sdf(torch.zeros(3, domain.dim + 1))


def test_mixed_boundary_measure_split_for_square_with_holes(holes):
    b = holes.sample_boundary(5000, method="uniform", seed=0)
    on_circles = float((b.face_index == b.face_labels.index("hole.boundary")).double().mean())
    expected = 8 * math.pi * 0.1 / (4 + 8 * math.pi * 0.1)
    assert on_circles == pytest.approx(expected, abs=0.01)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_functions_of_points_run_on_cuda(domain_case):
    name, domain, _, _ = domain_case
    x = domain.sample_interior(64, seed=0)
    b = domain.sample_boundary(64, "sobol", seed=0)
    xc = x.cuda().requires_grad_(True)
    phi = domain.smooth_distance(xc)
    (grad,) = torch.autograd.grad(phi.sum(), xc)
    assert phi.device.type == "cuda" and grad.device.type == "cuda"
    assert torch.allclose(phi.detach().cpu(), domain.smooth_distance(x))
    assert torch.equal(domain.contains(xc).cpu(), domain.contains(x))
    assert torch.allclose(domain.sdf(b.points.cuda()).cpu(), domain.sdf(b.points))
    assert torch.allclose(domain.boundary_normal(b.points.cuda()).cpu(), b.normals)
