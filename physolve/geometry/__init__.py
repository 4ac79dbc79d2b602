"""Domains for physics-informed solvers: primitives, CSG, space-time products and grids.

    from physolve.geometry import Rectangle, Disk, TimeInterval
    domain = Rectangle((-0.5, -0.5), (0.5, 0.5), name="outer") - Disk((0.3, 0.3), 0.1, name="hole")
    x = domain.sample_interior(1000, method="sobol", seed=0)
    b = domain.sample_boundary(200, seed=0, on="hole")      # points, normals, face labels
    phi = domain.smooth_distance(x, on="outer")             # for hard Dirichlet constraints
"""
from .base import BoundaryPiece, BoundarySample, Face, Geometry
from .csg import Difference, Intersection, Union
from .grid import Grid
from .mesh import MeshDomain
from .polygon import Polygon
from .primitives import Ball, Box, Disk, Interval, Rectangle, Sphere
from .sampling import SAMPLING_METHODS, unit_cube
from .spacetime import SpaceTime, TimeInterval

__all__ = [
    "Geometry", "Face", "BoundaryPiece", "BoundarySample", "Box", "Interval", "Rectangle",
    "Ball", "Disk", "Sphere", "Polygon", "Union", "Intersection", "Difference", "TimeInterval",
    "SpaceTime", "Grid", "MeshDomain", "SAMPLING_METHODS", "unit_cube",
]
