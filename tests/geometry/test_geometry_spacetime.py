"""Space-time products, structured grids and periodic pairs."""
import pytest
import torch
from geometry_cases import square_with_holes

from physolve.geometry import Box, Disk, Grid, Interval, Rectangle, SpaceTime, TimeInterval


@pytest.fixture
def tube():
    return square_with_holes() * TimeInterval(0.5, 2.0)


def test_product_structure(tube):
    assert isinstance(tube, SpaceTime) and tube.dim == 3
    assert tube.time.t0 == 0.5 and tube.spatial.name == "difference"
    lo, hi = tube.bbox
    assert lo.tolist() == [-0.5, -0.5, 0.5] and hi.tolist() == [0.5, 0.5, 2.0]
    assert tube.volume() == pytest.approx(1.5 * tube.spatial.volume())
    assert tube.labels() == tube.spatial.labels()


def test_interior_and_initial_points(tube, method):
    x = tube.sample_interior(300, method, seed=0)
    assert bool(tube.contains(x).all()) and bool(tube.spatial.contains(x[:, :2]).all())
    assert float(x[:, 2].min()) >= 0.5 and float(x[:, 2].max()) <= 2.0
    x0 = tube.sample_initial(100, method, seed=0)
    assert bool((x0[:, 2] == 0.5).all()) and bool(tube.spatial.contains(x0[:, :2]).all())
    assert torch.allclose(tube.time_distance(x), x[:, 2] - 0.5)


def test_lateral_boundary(tube):
    b = tube.sample_boundary(500, "sobol", seed=0, on="hole")
    assert bool((b.normals[:, 2] == 0).all())
    assert float(tube.spatial.sdf(b.points[:, :2]).abs().max()) < 1e-12
    assert bool(tube.on_boundary(b.points).all())
    assert b.face_labels == ["hole.boundary"]
    # Uniform in time as well.
    assert float(b.points[:, 2].mean()) == pytest.approx(1.25, abs=0.02)
    assert tube.boundary_measure() == pytest.approx(1.5 * tube.spatial.boundary_measure())


def test_smooth_distance_is_the_spatial_one(tube):
    x = tube.sample_interior(50, seed=1)
    assert torch.equal(tube.smooth_distance(x, on="outer"),
                       tube.spatial.smooth_distance(x[:, :2], on="outer"))


def test_interval_times_time_selects_faces_by_name():
    dom = Interval(-1, 1) * TimeInterval(0, 1)
    b = dom.sample_boundary(10, seed=0, on="xmin|xmax")
    assert sorted(set(b.points[:, 0].tolist())) == [-1.0, 1.0]
    assert bool((b.normals[:, 1] == 0).all()) and torch.equal(b.normals[:, 0], b.points[:, 0])


def test_periodic_pairs():
    box = Box((0, 0, 0), (1, 2, 3))
    lo, hi = box.periodic_pair(1, 64, "sobol", seed=0)
    assert bool((lo[:, 1] == 0).all()) and bool((hi[:, 1] == 2).all())
    assert torch.equal(lo[:, [0, 2]], hi[:, [0, 2]]) and bool(box.contains(lo).all())
    st = Rectangle((0, 0), (1, 1)) * TimeInterval(0, 5)
    lo, hi = st.periodic_pair(0, 10, seed=0)
    assert torch.equal(lo[:, 1:], hi[:, 1:]) and float(lo[:, 2].max()) > 1
    for dom in (Disk((0, 0), 1), Rectangle((0, 0), (1, 1)) - Disk((0, 0), 0.2),
                Disk((0, 0), 1) * TimeInterval(0, 1)):
        with pytest.raises(ValueError, match="not box-like"):
            dom.periodic_pair(0, 10)
    with pytest.raises(ValueError, match="axis must be an integer in \\[0, 3\\)"):
        box.periodic_pair(3, 10)


def test_structured_grid():
    g = Grid((0, -1), (1, 1), (3, 5))
    assert g.shape == (3, 5) and len(g) == 15
    assert torch.allclose(g.spacing, torch.tensor([0.5, 0.5], dtype=torch.float64))
    assert g.axes[1].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    p = g.points
    assert p[0].tolist() == [0.0, -1.0] and p[1].tolist() == [0.0, -0.5] and p[-1].tolist() == [1.0, 1.0]
    values = p[:, 0] * 10 + p[:, 1]
    X, Y = torch.meshgrid(*g.axes, indexing="ij")
    assert torch.equal(g.reshape(values), X * 10 + Y)
    assert g.reshape(p).shape == (3, 5, 2)
    grid, inside = Disk((0, 0), 1).grid(5)
    assert grid.shape == (5, 5) and int(inside.sum()) == 13
    with pytest.raises(ValueError, match="shape must be 2 integers >= 2"):
        Grid((0, 0), (1, 1), (1, 4))
    with pytest.raises(ValueError, match="must have 15 rows"):
        g.reshape(torch.zeros(14))


def test_bad_space_time_arguments():
    with pytest.raises(ValueError, match="time must be a TimeInterval"):
        SpaceTime(Disk((0, 0), 1), Interval(0, 1))
    with pytest.raises(ValueError, match="spatial must be a spatial Geometry"):
        SpaceTime(Disk((0, 0), 1) * TimeInterval(0, 1), TimeInterval(0, 1))
