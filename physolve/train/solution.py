"""The result of training: predictions, metrics, and the run's history."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..pde.functions import as_points
from .metrics import reference_metrics


@dataclass
class Solution:
    problem: object
    solver: object
    history: list[dict] = field(default_factory=list)
    stages: list[dict] = field(default_factory=list)
    wall_time: float = 0.0
    status: str = "completed"

    def predict(self, points=None, **coords) -> np.ndarray:
        """Outputs (N, number of outputs) at points (N, d) or at coordinates given by name."""
        pts = as_points(coords if points is None else points, self.problem.inputs, "predict")
        return self.solver.predict(pts).numpy()

    def metrics(self) -> dict[str, float]:
        """rel_l2 and max_abs_err against the reference, the unknowns, time and steps."""
        out = reference_metrics(self.solver, self.problem)
        out.update({f"unknown_{k}": v for k, v in self.solver.unknown_values().items()})
        out["wall_time_s"] = self.wall_time
        out["steps"] = sum(s["steps"] for s in self.stages)
        return out

    def fields(self, points=None, **coords):
        """Fields and derivatives at given points (solvers with a derivative backend)."""
        pts = as_points(coords if points is None else points, self.problem.inputs, "fields")
        return self.solver.fields(pts)

    @property
    def unknowns(self) -> dict[str, float]:
        return self.solver.unknown_values()

    def final_loss(self) -> float:
        return self.history[-1]["loss"] if self.history else float("nan")

    def to_vtk(self, path, resolution: int | None = None, times: int = 11, vectors=None) -> list:
        """Write the solution, reference and error for ParaView: "<name>.vtu" / ".pvd" (VTU
        files, a PVD index for time series) or "<name>.xdmf"; a directory gets the files of a
        run directory's vtk/ (solution.vtu, or solution.pvd + solution_NNNN.vtu). Returns the
        files written; see physolve.io.vtk.write_solution for the options."""
        from ..io.vtk import write_solution  # the output layer, loaded only when asked for

        return write_solution(self.problem, self.solver, path, resolution, times, vectors)

    def plot(self, path="solution.png", what: str = "solution", resolution: int | None = None):
        """Save a PNG (matplotlib, no window, no pyplot) and return its path: what="solution"
        (every output), "error" (|prediction - reference|; None without a reference) or "loss"
        (the training history). The same pictures as a run directory's plots/."""
        from ..io import plots  # the output layer, loaded only when asked for

        if what == "loss":
            return plots.plot_history(self.history, path)
        draw = {"solution": plots.plot_solution, "error": plots.plot_error}.get(what)
        if draw is None:
            raise ValueError(f"plot: unknown what={what!r}; allowed: solution, error, loss")
        return draw(self.problem, self.solver, path, resolution)


def to_float(x) -> float:
    return float(x.detach()) if torch.is_tensor(x) else float(x)
