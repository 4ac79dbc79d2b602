"""The sampler registry: configs name samplers (`model.sampler=rad`), never import paths."""
from ..registry import Registry

samplers = Registry("sampler", entry_points="physolve.samplers")
