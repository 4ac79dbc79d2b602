"""Boundary selectors: names, labels, predicates, unions, and errors that list the labels."""
import pytest
import torch

from physolve.geometry import Disk, Rectangle


@pytest.fixture
def plate():
    return Rectangle((0, 0), (2, 1), name="plate") - Disk((1, 0.5), 0.25, name="hole")


def test_by_primitive_face_name_and_label(plate):
    assert [p.label for p in plate.select("hole")] == ["hole.boundary"]
    assert [p.label for p in plate.select("xmin")] == ["plate.xmin"]
    assert [p.label for p in plate.select("plate.ymax")] == ["plate.ymax"]
    assert len(plate.select("plate")) == 4 and len(plate.select(None)) == 5
    assert [p.label for p in plate.select("xmin | hole")] == ["plate.xmin", "hole.boundary"]


def test_samples_stay_on_the_selected_part(plate):
    b = plate.sample_boundary(300, "sobol", seed=0, on="xmax|ymin")
    assert bool(((b.points[:, 0] == 2) | (b.points[:, 1] == 0)).all())
    assert b.face_labels == ["plate.xmax", "plate.ymin"]
    assert int((b.face_index == 1).sum()) == 200  # ymin is twice as long as xmax
    assert plate.boundary_measure("xmax|ymin") == pytest.approx(3.0)


def test_predicate_selector(plate):
    left = lambda x: x[:, 0] < 0.5  # noqa: E731
    b = plate.sample_boundary(400, "uniform", seed=0, on=left)
    assert bool((b.points[:, 0] < 0.5).all())
    # xmin (1) + half of ymin and ymax (0.5 each); the hole is out of reach.
    assert plate.boundary_measure(left) == pytest.approx(2.0, rel=1e-3)
    assert set(b.face_labels) >= {"plate.xmin", "plate.ymin", "plate.ymax"}
    assert b.face_labels.count("hole.boundary") <= 1 and "hole.boundary" not in b.labels


def test_list_is_a_union(plate):
    on = ["hole", lambda x: x[:, 1] > 0.99]
    b = plate.sample_boundary(500, "sobol", seed=0, on=on)
    is_hole = ((b.points - torch.tensor([1.0, 0.5], dtype=torch.float64)).norm(dim=1) - 0.25).abs() < 1e-12
    assert bool((is_hole | (b.points[:, 1] > 0.99)).all()) and bool(is_hole.any())
    # ymax, the top 0.01 of xmin and xmax, and the hole.
    assert plate.boundary_measure(on) == pytest.approx(2.02 + 0.5 * torch.pi, rel=1e-3)


def test_unknown_selector_names_itself_and_lists_labels(plate):
    with pytest.raises(ValueError, match=r"'outer' matches no boundary face of 'difference'; "
                                         r"available labels: \['plate.xmin'.*'hole.boundary'\]"):
        plate.select("xmin|outer")
    with pytest.raises(ValueError, match="on must be None, a string, a callable"):
        plate.select(3)
    with pytest.raises(ValueError, match="one bool per point"):
        plate.sample_boundary(10, on=lambda x: torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="nearly\\) empty|zero measure"):
        plate.sample_boundary(10, on=lambda x: x[:, 0] > 5)
