"""Polygons: non-convex shapes of either orientation, exact sdf, validation of the vertices."""
import math

import pytest
import torch
from geometry_cases import L_VERTICES

from physolve.geometry import Polygon

T = lambda *rows: torch.tensor(rows, dtype=torch.float64)  # noqa: E731


@pytest.mark.parametrize("clockwise", [False, True])
def test_non_convex_polygon_either_orientation(clockwise, method):
    poly = Polygon(L_VERTICES[::-1] if clockwise else L_VERTICES, name="poly")
    assert poly.orientation == (-1.0 if clockwise else 1.0)
    x = poly.sample_interior(400, method, seed=0)
    # Nothing in the notch [1, 2] x [1, 2].
    assert not bool(((x[:, 0] > 1 + 1e-12) & (x[:, 1] > 1 + 1e-12)).any())
    b = poly.sample_boundary(400, "sobol", seed=0)
    h = 1e-6
    assert bool((poly.sdf(b.points + h * b.normals) > 0).all())
    assert bool((poly.sdf(b.points - h * b.normals) < 0).all())


def test_edges_follow_the_vertex_order():
    poly = Polygon(L_VERTICES, name="poly")
    assert [p.label for p in poly.faces()] == [f"poly.edge{i}" for i in range(6)]
    edge3 = poly.faces()[3].face  # from (1, 1) to (1, 2): outward normal +x (into the notch)
    assert edge3.measure == 1.0
    x = edge3.sample(4, "grid")
    assert torch.allclose(x, T([1, 1.125], [1, 1.375], [1, 1.625], [1, 1.875]))
    assert torch.equal(edge3.normal(x), T([1.0, 0.0]).expand(4, 2))
    cw = Polygon(L_VERTICES[::-1])  # its edge1 runs from (1, 2) to (1, 1)
    assert torch.equal(cw.faces()[1].face.normal(T([1.0, 1.5])), T([1.0, 0.0]))


def test_polygon_sdf_is_exact():
    poly = Polygon(L_VERTICES)
    x = T([0.5, 0.5], [1.5, 1.5], [3, 0.5], [-1, -1], [0.5, 1.9], [2.0, 0.3])
    expected = T(-0.5, 0.5, 1.0, math.sqrt(2), -0.1, 0.0).squeeze()
    assert torch.allclose(poly.sdf(x), expected, atol=1e-14)
    assert poly.volume() == 3.0 and poly.boundary_measure() == 8.0


def test_closing_vertex_may_be_repeated():
    assert len(Polygon(L_VERTICES + [L_VERTICES[0]]).faces()) == 6


@pytest.mark.parametrize("vertices, match", [
    ([(0, 0), (1, 1), (1, 0), (0, 1)], "edges 0 and 2 intersect"),          # bow tie
    ([(0, 0), (2, 2), (2, 0), (0, 1)], "edges 0 and 2 intersect"),
    ([(0, 0), (2, 0), (2, 2), (1, 0), (0, 2)], "intersect"),                 # vertex on an edge
    ([(0, 0), (1, 0), (2, 0)], "overlap"),                                   # collinear
    ([(0, 0), (1, 0), (1, 0), (0, 1)], "vertices 1 and 2 coincide"),
    ([(0, 0), (2, 0), (1, 0), (1, 1)], "overlap"),                           # folds back
    ([(0, 0), (1, 0)], "at least 3 points"),
    ([(0, 0, 0), (1, 0, 0), (0, 1, 0)], r"\(m, 2\) array"),
    ([(0, 0), (1, float("nan")), (0, 1)], "finite"),
])
def test_bad_vertices_are_rejected(vertices, match):
    with pytest.raises(ValueError, match="Polygon: .*" + match):
        Polygon(vertices)
