"""Boxes and balls: exact signed distances, faces, normals and argument checks."""
import math

import numpy as np
import pytest
import torch

from physolve.geometry import (Ball, Box, Disk, Geometry, Interval, Rectangle, Sphere,
                               TimeInterval)

T = lambda *rows: torch.tensor(rows, dtype=torch.float64)  # noqa: E731


def test_box_sdf_is_exact():
    box = Rectangle((0, 0), (2, 1))
    x = T([1, 0.5], [0.2, 0.5], [3, 0.5], [3, 2], [-1, -1], [2, 1])
    expected = torch.tensor([-0.5, -0.2, 1.0, math.sqrt(2), math.sqrt(2), 0.0], dtype=torch.float64)
    assert torch.allclose(box.sdf(x), expected, atol=1e-15)
    assert box.contains(x).tolist() == [True, True, False, False, False, True]


def test_ball_sdf_is_exact():
    s = Sphere((1, 0, 0), 2)
    x = T([1, 0, 0], [1, 0, 3], [4, 4, 0], [1, 1, 0])
    assert torch.allclose(s.sdf(x), T(-2.0, 1.0, 3.0, -1.0).squeeze(), atol=1e-15)


def test_sdf_is_differentiable_everywhere():
    # Also at the ball's centre and inside the box, where naive norms give NaN gradients.
    for g, x in [(Disk((0, 0), 1), T([0.0, 0.0], [0.3, 0.4])), (Box((0, 0), (1, 1)), T([0.5, 0.5], [2.0, 2.0]))]:
        x = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(g.sdf(x).sum(), x)
        assert bool(torch.isfinite(grad).all())
    x = T([0.3, 0.4]).requires_grad_(True)
    (grad,) = torch.autograd.grad(Disk((0, 0), 1).sdf(x).sum(), x)
    assert torch.allclose(grad, T([0.6, 0.8]))


def test_box_faces_names_axes_and_measures():
    box = Box((0, 0, 0, 0), (1, 2, 3, 4), name="b")
    names = [p.face.name for p in box.faces()]
    assert names == ["xmin", "xmax", "ymin", "ymax", "zmin", "zmax", "x3min", "x3max"]
    assert [p.face.axis for p in box.faces()] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert [p.label for p in box.faces()][:2] == ["b.xmin", "b.xmax"]
    assert box.faces()[6].face.measure == pytest.approx(6.0)
    x = box.faces()[3].face.sample(5, "sobol", seed=0)
    assert bool((x[:, 1] == 2).all())
    assert torch.equal(box.faces()[3].face.normal(x), T([0, 1, 0, 0]).expand(5, 4))


def test_interval_faces_are_points():
    iv = Interval(-1, 3)
    b = iv.sample_boundary(10, seed=0)
    assert b.face_labels == ["interval.xmin", "interval.xmax"]
    assert sorted(b.points.flatten().tolist()) == [-1.0] * 5 + [3.0] * 5
    assert torch.equal(b.normals, torch.sign(b.points - 1))
    assert [p.face.measure for p in iv.faces()] == [1.0, 1.0]
    assert [p.face.name for p in TimeInterval(0, 1).faces()] == ["tmin", "tmax"]


def test_sphere_surface_points_are_uniform_by_area():
    # Area-preserving map: equal-area bands z in [-1, -1/3], [-1/3, 1/3], [1/3, 1] get 1/3 each.
    pts = Sphere((0, 0, 0), 1).sample_boundary(3000, "uniform", seed=0).points
    counts = torch.histc(pts[:, 2], bins=3, min=-1, max=1) / 3000
    assert torch.allclose(counts, torch.full((3,), 1 / 3, dtype=counts.dtype), atol=0.03)


def test_disk_interior_is_uniform_by_area():
    pts = Disk((0, 0), 1).sample_interior(4000, "sobol", seed=0)
    inner = float((pts.norm(dim=1) < 1 / math.sqrt(2)).double().mean())
    assert inner == pytest.approx(0.5, abs=0.01)


def test_high_dimensional_ball_points():
    ball = Ball(np.zeros(6), 1.0)
    b = ball.sample_boundary(500, "sobol", seed=0)
    assert float(ball.sdf(b.points).abs().max()) < 1e-12
    assert float(b.points.mean(0).abs().max()) < 0.1  # centred: no direction favoured


def test_boundary_normal_of_nearest_face():
    box = Rectangle((0, 0), (2, 1))
    n = box.boundary_normal(T([0.0, 0.5], [1.0, 1.0], [2.0, 0.2], [1.0, 0.0]))
    assert torch.equal(n, T([-1, 0], [0, 1], [1, 0], [0, -1]))
    assert torch.allclose(Disk((1, 1), 2).boundary_normal(T([3.0, 1.0])), T([1.0, 0.0]))


def test_default_and_custom_names():
    assert Box((0,), (1,)).name == "box" and Interval(0, 1).name == "interval"
    assert Rectangle((0, 0), (1, 1)).name == "rectangle" and Disk((0, 0), 1).name == "disk"
    assert Sphere((0, 0, 0), 1).name == "sphere" and Ball((0,), 1).name == "ball"
    assert Disk((0, 0), 1, name="hole").faces()[0].label == "hole.boundary"


@pytest.mark.parametrize("build, match", [
    (lambda: Box((0, 1), (1, 0)), "lower must be < upper"),
    (lambda: Box((0, 0), (1, 1, 1)), "lower and upper must have the same number"),
    (lambda: Box((0, float("nan")), (1, 1)), "lower must be a non-empty sequence of finite"),
    (lambda: Box("ab", (1, 1)), "lower must be a sequence of numbers"),
    (lambda: Interval(1, 1), "a must be < b"),
    (lambda: Interval(0, float("inf")), "b must be a finite number"),
    (lambda: Rectangle((0, 0, 0), (1, 1, 1)), "Rectangle: lower must have 2 coordinates"),
    (lambda: Ball((0, 0), -1), "radius must be a finite number > 0"),
    (lambda: Ball((0, 0), "r"), "radius must be a number"),
    (lambda: Disk((0, 0, 0), 1), "Disk: center must have 2 coordinates"),
    (lambda: Sphere((0, 0), 1), "Sphere: center must have 3 coordinates"),
    (lambda: Box((0,), (1,), name="a.b"), "name must be a non-empty string"),
    (lambda: TimeInterval(1, 0), "t0 must be < t1"),
])
def test_bad_constructor_arguments_are_named(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_geometry_is_abstract():
    with pytest.raises(TypeError):
        Geometry(2, torch.zeros(2), torch.ones(2), "g")
