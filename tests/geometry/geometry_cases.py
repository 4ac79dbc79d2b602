"""Domains with known volumes and boundary measures, shared by the geometry tests.

(A module with a unique name rather than conftest.py: test modules import from it.)
"""
import math

from physolve.geometry import Ball, Box, Disk, Interval, Polygon, Rectangle, Sphere


def square_with_holes():
    """Benchmark Poisson2d-C: [-0.5, 0.5]^2 minus disks of radius 0.1 at (+-0.3, +-0.3)."""
    domain = Rectangle((-0.5, -0.5), (0.5, 0.5), name="outer")
    for cx in (-0.3, 0.3):
        for cy in (-0.3, 0.3):
            domain = domain - Disk((cx, cy), 0.1, name="hole")
    return domain


# An L-shaped hexagon (notch at the top right), counter-clockwise.
L_VERTICES = [(0.0, 0.0), (2.0, 0.0), (2.0, 1.0), (1.0, 1.0), (1.0, 2.0), (0.0, 2.0)]
PI = math.pi

# name: (builder, volume, boundary measure); CSG values are exact, their estimates are not.
DOMAINS = {
    "interval": (lambda: Interval(-1, 2), 3.0, 2.0),
    "rectangle": (lambda: Rectangle((0, -1), (2, 1)), 4.0, 8.0),
    "box3": (lambda: Box((0, 0, 0), (1, 2, 3)), 6.0, 22.0),
    "box4": (lambda: Box([0, 0, 0, 0], [1, 1, 1, 2]), 2.0, 14.0),
    "ball1": (lambda: Ball([0.5], 2.0), 4.0, 2.0),
    "disk": (lambda: Disk((0.5, -0.5), 0.7), PI * 0.49, 2 * PI * 0.7),
    "sphere": (lambda: Sphere((0, 0, 1), 0.5), 4 / 3 * PI / 8, PI),
    "ball4": (lambda: Ball([0, 0, 0, 0], 1.5), PI**2 / 2 * 1.5**4, 2 * PI**2 * 1.5**3),
    "polygon": (lambda: Polygon(L_VERTICES, name="poly"), 3.0, 8.0),
    "polygon_cw": (lambda: Polygon(L_VERTICES[::-1], name="poly"), 3.0, 8.0),
    "holes": (square_with_holes, 1 - 4 * PI * 0.01, 4 + 8 * PI * 0.1),
    "cut_square": (lambda: Rectangle((0, 0), (2, 2)) - Rectangle((1, 1), (3, 3), name="cut"),
                   3.0, 8.0),
    "l_union": (lambda: Rectangle((0, 0), (1, 2), name="A") | Rectangle((0, 0), (2, 1), name="B"),
                3.0, 8.0),
    "touching": (lambda: Rectangle((0, 0), (1, 1)) | Rectangle((1, 0), (2, 1)), 2.0, 6.0),
    "quarter_disk": (lambda: Disk((0, 0), 1) & Rectangle((0, 0), (2, 2)), PI / 4, PI / 2 + 2),
    "two_disks": (lambda: Disk((0, 0), 1) | Disk((1, 0), 1), 4 * PI / 3 + 3**0.5 / 2, 8 * PI / 3),
    "sphere_minus_box": (lambda: Sphere((0, 0, 0), 1) - Box((0, 0, 0), (1, 1, 1)),
                         7 / 8 * 4 / 3 * PI, 7 / 8 * 4 * PI + 3 * PI / 4),
}
CSG = ["holes", "cut_square", "l_union", "touching", "quarter_disk", "two_disks",
       "sphere_minus_box"]
