"""smooth_distance for hard constraints: zero on the selected part, positive inside, smooth,
and normalised (grad = -outward normal on the boundary, also under autograd there)."""
import pytest
import torch
from geometry_cases import DOMAINS

CASES = [("interval", None), ("rectangle", None), ("rectangle", "xmin|ymax"), ("box3", "zmax"),
         ("disk", None), ("sphere", None), ("polygon", None), ("polygon_cw", "edge1|edge3"),
         ("holes", None), ("holes", "outer"), ("holes", "hole"), ("cut_square", None),
         ("cut_square", "cut"), ("quarter_disk", None), ("two_disks", None),
         ("sphere_minus_box", None), ("sphere_minus_box", "box")]


def _grad(y, x, create_graph=False):
    return torch.autograd.grad(y.sum(), x, create_graph=create_graph, retain_graph=True)[0]


@pytest.mark.parametrize("key, on", CASES)
def test_zero_and_normalised_on_the_selected_boundary(key, on):
    domain = DOMAINS[key][0]()
    b = domain.sample_boundary(200, "sobol", seed=0, on=on)
    x = b.points.clone().requires_grad_(True)
    phi = domain.smooth_distance(x, on=on)
    assert float(phi.detach().abs().max()) < 1e-12
    assert torch.allclose(_grad(phi, x), -b.normals, atol=1e-8)
    # First-order normalisation: phi(x - h n) = h + O(h^2).
    h = 1e-6
    inward = domain.smooth_distance(b.points - h * b.normals, on=on)
    assert torch.allclose(inward, torch.full_like(inward, h), rtol=1e-2)


@pytest.mark.parametrize("key, on", CASES)
def test_positive_and_twice_differentiable_inside(key, on):
    domain = DOMAINS[key][0]()
    x = domain.sample_interior(200, "halton", seed=1).requires_grad_(True)
    phi = domain.smooth_distance(x, on=on)
    assert float(phi.detach().min()) > 0
    g = _grad(phi, x, create_graph=True)
    hessian_rows = [_grad(g[:, k], x) for k in range(domain.dim)]
    assert all(bool(torch.isfinite(r).all()) for r in [g, *hessian_rows])


def test_unselected_boundary_stays_positive():
    domain = DOMAINS["holes"][0]()
    on_holes = domain.sample_boundary(200, seed=0, on="hole").points
    assert float(domain.smooth_distance(on_holes, on="outer").min()) > 1e-3
    rect = DOMAINS["rectangle"][0]()  # [0, 2] x [-1, 1]
    xmax = rect.sample_boundary(50, "grid", on="xmax").points  # away from the corners
    assert float(rect.smooth_distance(xmax, on="xmin|ymax").min()) > 0


def test_trimming_keeps_the_carrier_line_positive_inside():
    # Edge 2 of the L runs from (2, 1) to (1, 1); its line y = 1 crosses the interior at x < 1.
    poly = DOMAINS["polygon"][0]()
    inside_on_line = torch.tensor([[0.5, 1.0], [0.2, 1.0]], dtype=torch.float64)
    assert float(poly.faces()[2].face.distance(inside_on_line).min()) > 0.2
    assert float(poly.smooth_distance(inside_on_line, on="edge2").min()) > 0.2
    assert float(poly.smooth_distance(inside_on_line).min()) > 0.1


def test_follows_dtype_and_rejects_predicates():
    domain = DOMAINS["holes"][0]()
    x = domain.sample_interior(10, seed=0).float().requires_grad_(True)
    phi = domain.smooth_distance(x, on="hole")
    assert phi.dtype == torch.float32 and bool(torch.isfinite(_grad(phi, x)).all())
    with pytest.raises(ValueError, match="predicate, which has no smooth distance"):
        domain.smooth_distance(x, on=lambda p: p[:, 0] < 0)


def test_no_nan_gradient_at_corners():
    rect = DOMAINS["rectangle"][0]()
    corners = torch.tensor([[0.0, -1.0], [2.0, 1.0]], dtype=torch.float64, requires_grad=True)
    phi = rect.smooth_distance(corners)
    assert float(phi.detach().abs().max()) == 0 and bool(torch.isfinite(_grad(phi, corners)).all())
