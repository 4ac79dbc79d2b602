"""Exact enforcement of Dirichlet and initial conditions by an output transform.

For an output u with hard conditions, the network's raw output N becomes

    u = A(X) + phi(X) * N(X)

where phi vanishes exactly on the constrained set and A takes the prescribed values there:
- Dirichlet parts i with values g_i and smooth distances phi_i (from the geometry):
  phi_D = prod_i phi_i and A_D = sum_i E_i w_i / sum_i w_i with w_i = prod_{j != i} phi_j^2,
  which equals g_i on part i (the other weights vanish there). E_i extends g_i into the
  domain: on 2-D domains whose parts are straight faces, E_i = F + (g_i - F) o P_i around one
  function F fitted to all parts' data (hard_fit.py), so the extensions, and hence the lift,
  differ little inside; and E_i gets terms that vanish on part i and make E_i and E_j agree to
  first order at 2-D corners where parts i and j meet, without which the Laplacian of A_D
  grows like 1/r toward them (hard_corners.py, which also warns where this cannot be done);
- an initial value u0 at t0: phi_0 = t - t0;
- both: A = u0(x) + A_D(x, t) - A_D(x, t0) and phi = (t - t0) phi_D, which needs the usual
  compatibility u0 = g on the boundary at t0.
Values must be torch expressions of the coordinates, because derivatives of u include theirs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from .conditions import Dirichlet, Initial
from .hard_corners import CornerMatch
from .hard_fit import fitted_lift

if TYPE_CHECKING:
    from .problem import Problem


def _same_data(a, b) -> bool:
    """Whether two parts' values are the same function (then their extensions agree)."""
    return a is b or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b)


class _OutputConstraint:
    def __init__(self, problem: "Problem", dirichlet: list[Dirichlet], initial: Initial | None):
        self.domain = problem.domain
        self.dirichlet = [(c.target_fn, c.selector) for c in dirichlet]
        self.fit = fitted_lift(problem.domain, [c.target_fn for c in dirichlet],
                               [c.selector for c in dirichlet])
        if self.fit is not None:
            # The parts' extensions E_i = F + r_i (hard_fit.py), matched at corners below.
            self.dirichlet = [(self.fit.extension(i), sel)
                              for i, (_, sel) in enumerate(self.dirichlet)]
        names = [f"{c.name} (on={c.on!r})" if c.name else f"on={c.on!r}" for c in dirichlet]
        self.corners = CornerMatch(
            problem.domain, [(n, g, sel) for n, (g, sel) in zip(names, self.dirichlet)],
            lambda i, j: _same_data(dirichlet[i].value, dirichlet[j].value))
        self.initial = initial.target_fn if initial is not None else None
        self.time_axis = problem.inputs.index(problem.time) if problem.time else None
        self.t0 = float(problem.domain.time.bbox[0][0]) if problem.time else None

    def _dirichlet(self, X: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        if not self.dirichlet:
            return None, None
        phis = [self.domain.smooth_distance(X, on=sel) for _, sel in self.dirichlet]
        if self.fit is None:
            values = [g(X) for g, _ in self.dirichlet]
        else:  # F once, not once per part
            f = self.fit.F(X)
            values = [f + self.fit.residual(i, X) for i in range(len(self.dirichlet))]
        for i in range(len(values)):
            extra = self.corners.extension(i, X)
            if extra is not None:
                values[i] = values[i] + extra
        phi = torch.stack(phis).prod(0)
        if len(phis) == 1:
            return values[0], phi
        weights = []
        for i in range(len(phis)):
            others = [p for j, p in enumerate(phis) if j != i]
            weights.append(torch.stack(others).prod(0) ** 2)
        w, v = torch.stack(weights), torch.stack(values)
        total = w.sum(0)
        # Where two parts meet (both distances zero) every weight vanishes: there A_D is the
        # value of the nearest part (they agree for compatible data), not 0 / 0.
        meet = total <= 0
        a = (v * w).sum(0) / torch.where(meet, torch.ones_like(total), total)
        nearest = v.gather(0, torch.stack(phis).abs().argmin(0, keepdim=True))[0]
        return torch.where(meet, nearest, a), phi

    def offset_and_scale(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, phi) of u = A + phi * raw."""
        a_d, phi_d = self._dirichlet(X)
        if self.initial is None:
            return a_d, phi_d
        t = X[:, self.time_axis]
        a = self.initial(X)
        phi = t - self.t0
        if a_d is not None:
            X0 = X.clone()
            X0[:, self.time_axis] = self.t0
            a = a + a_d - self._dirichlet(X0)[0]
            phi = phi * phi_d
        return a, phi

    def __call__(self, X: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        a, phi = self.offset_and_scale(X)
        return a + phi * raw


class HardConstraints:
    """The transform (X, raw outputs) -> outputs for all hard conditions of a problem."""

    def __init__(self, problem: "Problem"):
        self.outputs = problem.outputs
        self.per_output: dict[int, _OutputConstraint] = {}
        for j, out in enumerate(problem.outputs):
            dirichlet = [c for c in problem.conditions
                         if isinstance(c, Dirichlet) and c.hard and c.output == out]
            initial = [c for c in problem.conditions
                       if isinstance(c, Initial) and c.hard and c.output == out]
            if len(initial) > 1:
                raise ValueError(f"output '{out}' has {len(initial)} hard initial conditions")
            if dirichlet or initial:
                self.per_output[j] = _OutputConstraint(problem, dirichlet,
                                                       initial[0] if initial else None)

    def __bool__(self) -> bool:
        return bool(self.per_output)

    def offset_and_scale(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, phi), each (N, outputs), with outputs = A + phi * raw: the transform is affine
        in the raw outputs, column by column (A = 0, phi = 1 for unconstrained outputs), which
        lets a Taylor-mode network compose with it by the product rule."""
        ones = torch.ones(X.shape[0], dtype=X.dtype, device=X.device)
        a_cols, phi_cols = [], []
        for j in range(len(self.outputs)):
            if j in self.per_output:
                a, phi = self.per_output[j].offset_and_scale(X)
                a_cols.append(a * ones)
                phi_cols.append(phi * ones)
            else:
                a_cols.append(ones * 0)
                phi_cols.append(ones)
        return torch.stack(a_cols, dim=1), torch.stack(phi_cols, dim=1)

    def __call__(self, X: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        if not self.per_output:
            return raw
        cols = [self.per_output[j](X, raw[:, j]) if j in self.per_output else raw[:, j]
                for j in range(raw.shape[1])]
        return torch.stack(cols, dim=1)
