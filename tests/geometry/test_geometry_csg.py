"""Union, intersection and difference: boundary pieces, holes, shared faces, nesting."""
import math

import pytest
import torch

from physolve.geometry import Box, Difference, Disk, Intersection, Rectangle, SpaceTime, TimeInterval, Union

CENTRES = torch.tensor([[-0.3, -0.3], [-0.3, 0.3], [0.3, -0.3], [0.3, 0.3]], dtype=torch.float64)


def _dist_to_holes(x):
    return torch.cdist(x, CENTRES).min(1).values


def test_no_interior_points_in_the_holes(holes, method):
    x = holes.sample_interior(2000, method, seed=0)
    assert float(_dist_to_holes(x).min()) >= 0.1 - 1e-12
    assert float(x.abs().max()) <= 0.5


def test_hole_normals_point_into_the_holes(holes):
    b = holes.sample_boundary(1000, "halton", seed=0, on="hole")
    assert torch.allclose(_dist_to_holes(b.points), torch.full((1000,), 0.1, dtype=torch.float64))
    # Stepping along the normal leaves the domain into a hole (towards its centre).
    assert bool((_dist_to_holes(b.points + 1e-3 * b.normals) < 0.1).all())
    assert b.face_labels == ["hole.boundary"]


def test_outer_and_hole_selection(holes):
    assert holes.boundary_measure("outer") == pytest.approx(4.0, rel=1e-12)
    assert holes.boundary_measure("hole") == pytest.approx(0.8 * math.pi, rel=1e-3)
    b = holes.sample_boundary(500, seed=1, on="outer")
    assert float(b.points.abs().max(1).values.sub(0.5).abs().max()) < 1e-15


def test_union_with_a_shared_edge_samples_it_once():
    # The L-shape from two overlapping rectangles: the bottom edge y=0, x in [0, 1] lies on
    # both; it must carry the density of the rest of the boundary, not twice as much.
    dom = Rectangle((0, 0), (1, 2), name="A") | Rectangle((0, 0), (2, 1), name="B")
    b = dom.sample_boundary(8000, "sobol", seed=0)
    on_edge = (b.points[:, 1] == 0) & (b.points[:, 0] < 1)
    assert float(on_edge.double().mean()) == pytest.approx(1 / 8, abs=0.005)
    # No points on the parts of the rectangles' faces inside the union.
    inner = (b.points[:, 0] == 1) & (b.points[:, 1] < 1) | (b.points[:, 1] == 1) & (b.points[:, 0] < 1)
    assert not bool(inner.any())


def test_touching_boxes_drop_their_common_face():
    dom = Rectangle((0, 0), (1, 1)) | Rectangle((1, 0), (2, 1))
    b = dom.sample_boundary(600, seed=0)
    assert not bool(((b.points[:, 0] - 1).abs() < 1e-12).any())


def test_nested_csg_in_3d():
    dom = (Box((-1, -1, -1), (1, 1, 1)) - Box((-0.5, -0.5, -2), (0.5, 0.5, 2))) & Box((-2, -2, 0), (2, 2, 2))
    # Half of a square tube: volume (4 - 1) * 1, boundary 2 * 3 (ends) + 4 * 2 + 4 * 1 (walls).
    assert dom.volume() == pytest.approx(3.0, rel=0.01)
    assert dom.boundary_measure() == pytest.approx(18.0, rel=0.01)
    b = dom.sample_boundary(500, "sobol", seed=0)
    assert float(dom.sdf(b.points).abs().max()) < 1e-12


def test_operators_build_composites():
    a, b = Rectangle((0, 0), (2, 2)), Disk((2, 2), 1)
    assert isinstance(a | b, Union) and isinstance(a & b, Intersection)
    assert isinstance(a - b, Difference) and (a - b).a is a and (a - b).b is b
    assert isinstance(Rectangle((0, 0), (1, 1)) * TimeInterval(0, 1), SpaceTime)
    with pytest.raises(TypeError):
        a * Rectangle((0, 0), (1, 1))


def test_estimates_are_deterministic(holes):
    rebuilt = Difference(holes.a, holes.b)
    assert holes.volume() == rebuilt.volume()
    assert holes.boundary_measure() == rebuilt.boundary_measure()


@pytest.mark.parametrize("build, match", [
    (lambda: Rectangle((0, 0), (1, 1)) | Box((0, 0, 0), (1, 1, 1)), "a and b must have the same dim, got 2 and 3"),
    (lambda: Rectangle((0, 0), (1, 1)) & Rectangle((2, 2), (3, 3)), "intersection is empty"),
    (lambda: Union(Rectangle((0, 0), (1, 1)), "disk"), "b must be a spatial Geometry"),
    (lambda: Difference(Rectangle((0, 0), (1, 1)) * TimeInterval(0, 1), Disk((0, 0), 1)), "a must be a spatial"),
])
def test_bad_operands(build, match):
    with pytest.raises(ValueError, match=match):
        build()
