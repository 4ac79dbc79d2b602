"""Outputs: run directories, metrics logs, VTK files for ParaView, PNG plots.

Nothing here is imported by `import physolve`; load it when writing results:

    from physolve.io import write_solution
    write_solution(problem, solver, "out/solution.pvd")
"""
from .meshing import OutputMesh, output_mesh
from .rundir import MetricsLog, RunDir, write_outputs
from .vtk import write_solution

__all__ = ["MetricsLog", "OutputMesh", "RunDir", "output_mesh", "write_outputs", "write_solution"]
