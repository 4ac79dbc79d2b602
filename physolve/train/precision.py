"""dtype and device settings; they live in physolve.precision, below the solver families that
resolve a dtype too. This path keeps working for code that imported them from here."""
from ..precision import DTYPES, resolve_device, resolve_dtype

__all__ = ["DTYPES", "resolve_device", "resolve_dtype"]
