"""Accuracy metrics against a problem's reference solution."""
from __future__ import annotations

import torch


def error_metrics(prediction: torch.Tensor, reference: torch.Tensor,
                  names: tuple[str, ...] = ()) -> dict[str, float]:
    """Relative L2 error ||pred - ref|| / ||ref|| and max absolute error, over all outputs and,
    when there are several, per output (`rel_l2_u`, `max_abs_err_u`, ...)."""
    prediction = prediction.to(torch.float64).reshape(reference.shape)
    err = prediction - reference
    out = {"rel_l2": float(err.norm() / reference.norm().clamp_min(1e-300)),
           "max_abs_err": float(err.abs().max())}
    if len(names) > 1:
        for j, name in enumerate(names):
            out[f"rel_l2_{name}"] = float(err[:, j].norm() / reference[:, j].norm().clamp_min(1e-300))
            out[f"max_abs_err_{name}"] = float(err[:, j].abs().max())
    return out


def reference_metrics(solver, problem) -> dict[str, float]:
    """Metrics of a solver's prediction on the reference's test points ({} without reference),
    or the solver's own metrics where it computes them (operator learning: held-out samples)."""
    own = solver.metrics() if hasattr(solver, "metrics") else None
    if own is not None:
        return own
    ref = problem.reference
    if ref is None:
        return {}
    pred = solver.predict(ref.points())[:, ref.output_index]
    return error_metrics(pred, ref.values(), ref.outputs)
