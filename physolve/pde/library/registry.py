"""The problem registry and the data files the library ships."""
from importlib import resources

from ...registry import Registry

problems = Registry("problem", entry_points="physolve.problems")  # installed packages' too


def pinnacle_file(name: str):
    """Path of a PINNacle reference file shipped with physolve."""
    return resources.files("physolve") / "data" / "pinnacle" / name


def mesh_file(name: str):
    """Path of a mesh shipped with physolve (physolve/data/meshes)."""
    return resources.files("physolve") / "data" / "meshes" / name
