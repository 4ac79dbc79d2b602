"""The built-in problem library: benchmark problems by name (`problems.get("burgers")()`).

Each factory returns a fresh Problem; keyword arguments select variants (viscosity, wave
numbers, hard or soft conditions). Configs refer to problems by these names only. One module
per topic registers its problems on import.
"""
from . import classic, families, gp_cases, meshes, pig_cases  # noqa: F401  (register their problems)
from .registry import pinnacle_file, problems

__all__ = ["pinnacle_file", "problems"]
