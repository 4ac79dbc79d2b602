"""Boundary, initial and data conditions.

Each condition samples its own points (on the boundary part it names, at the initial time, or at
given observation points) and returns a residual there that is zero exactly when the condition
holds. Dirichlet and initial conditions can instead be enforced exactly (`hard=True`) through a
distance-function output transform (see hard.py); then they contribute no loss term.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch

from .fields import Fields
from .functions import as_points, coordinate_function

if TYPE_CHECKING:
    from .problem import Problem


@dataclass
class ConditionBatch:
    """Points of one condition plus what its residual needs there (normals, target values)."""

    points: torch.Tensor
    normals: torch.Tensor | None = None
    target: torch.Tensor | None = None
    extra: dict = field(default_factory=dict)

    def to(self, dtype: torch.dtype, device) -> "ConditionBatch":
        move = lambda t: None if t is None else t.to(dtype=dtype, device=device)  # noqa: E731
        return ConditionBatch(move(self.points), move(self.normals), move(self.target),
                              {k: move(v) for k, v in self.extra.items()})


class Condition(ABC):
    """A condition on one output (or on several, for Periodic)."""

    kind: str = "condition"
    #: which count of points a solver uses by default: "boundary", "initial" or "data"
    points_kind: str = "boundary"
    hard: bool = False

    def __init__(self, output: str | None = None, weight: float = 1.0, n: int | None = None,
                 name: str | None = None):
        if not (isinstance(weight, (int, float)) and weight >= 0):
            raise ValueError(f"{self.kind}: weight must be a number >= 0, got {weight!r}")
        if n is not None and (not isinstance(n, int) or n <= 0):
            raise ValueError(f"{self.kind}: n must be a positive integer, got {n!r}")
        self.output = output
        self.weight = float(weight)
        self.n = n
        self.name = name
        self.problem: Problem | None = None

    def bind(self, problem: "Problem") -> None:
        """Attach to a problem: check the output name, resolve selectors and values."""
        self.problem = problem
        self.output = problem.resolve_output(self.output, self.kind)

    @abstractmethod
    def sample(self, n: int, method: str, seed: int | None) -> ConditionBatch:
        """Points (float64, CPU) and whatever the residual needs at them."""

    @abstractmethod
    def residual(self, f: Fields, batch: ConditionBatch) -> torch.Tensor:
        """Zero at every point exactly when the condition holds."""

    def at(self, points: torch.Tensor, normals: torch.Tensor | None = None) -> ConditionBatch:
        """The batch at points a solver chose itself (e.g. a grid's boundary nodes), with the
        outward normals there; `sample` draws the points and calls this."""
        raise NotImplementedError(f"{self.kind}: its points are fixed; use sample()")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, output={self.output!r})"


class _BoundaryCondition(Condition):
    """Shared by conditions that live on a selected part of the spatial boundary."""

    def __init__(self, value, on=None, output=None, **kw):
        super().__init__(output, **kw)
        self.value = value
        self.on = on

    def bind(self, problem):
        super().bind(problem)
        self.selector = problem.boundary_selector(self.on, self.kind)
        self.target_fn = coordinate_function(self.value, problem.inputs, f"{self.kind} value")

    def sample(self, n, method, seed):
        bs = self.problem.domain.sample_boundary(n, method=method, seed=seed, on=self.selector)
        return self.at(bs.points, bs.normals)

    def at(self, points, normals=None):
        return ConditionBatch(points, normals=normals, target=self.target_fn(points))

    def normal_derivative(self, f: Fields, batch: ConditionBatch) -> torch.Tensor:
        u = f[self.output]
        spatial = self.problem.spatial
        return sum(batch.normals[:, self.problem.inputs.index(s)] * u.d(s).value for s in spatial)


class Dirichlet(_BoundaryCondition):
    """u = g on the selected boundary part. `hard=True` enforces it exactly."""

    kind = "dirichlet"

    def __init__(self, value=0.0, on=None, output=None, hard: bool = False, **kw):
        super().__init__(value, on, output, **kw)
        self.hard = bool(hard)

    def residual(self, f, batch):
        return f[self.output].value - batch.target


class Neumann(_BoundaryCondition):
    """du/dn = g (outward normal derivative) on the selected boundary part."""

    kind = "neumann"

    def residual(self, f, batch):
        return self.normal_derivative(f, batch) - batch.target


class Robin(_BoundaryCondition):
    """alpha u + beta du/dn = g on the selected boundary part."""

    kind = "robin"

    def __init__(self, alpha, beta, value=0.0, on=None, output=None, **kw):
        super().__init__(value, on, output, **kw)
        self.alpha, self.beta = alpha, beta

    def bind(self, problem):
        super().bind(problem)
        self.alpha_fn = coordinate_function(self.alpha, problem.inputs, "robin alpha")
        self.beta_fn = coordinate_function(self.beta, problem.inputs, "robin beta")

    def at(self, points, normals=None):
        batch = super().at(points, normals)
        batch.extra = {"alpha": self.alpha_fn(points), "beta": self.beta_fn(points)}
        return batch

    def residual(self, f, batch):
        u = f[self.output].value
        dudn = self.normal_derivative(f, batch)
        return batch.extra["alpha"] * u + batch.extra["beta"] * dudn - batch.target


class Periodic(Condition):
    """Periodicity along one input: u and its first `derivatives` derivatives along that input
    agree on the two opposite faces. Applies to every output unless `output` names one."""

    kind = "periodic"

    def __init__(self, on: str, output: str | Sequence[str] | None = None, derivatives: int = 1,
                 **kw):
        super().__init__(None, **kw)
        if derivatives not in (0, 1, 2):
            raise ValueError(f"periodic: derivatives must be 0, 1 or 2, got {derivatives!r}")
        self.on, self.derivatives, self._outputs = on, derivatives, output

    def bind(self, problem):
        self.problem = problem
        if self.on not in problem.spatial:
            raise ValueError(f"periodic: on must name a spatial input, one of {problem.spatial}; "
                             f"got {self.on!r}")
        self.axis = problem.inputs.index(self.on)
        outs = self._outputs
        outs = problem.outputs if outs is None else ((outs,) if isinstance(outs, str) else outs)
        self.outputs = tuple(problem.resolve_output(o, self.kind) for o in outs)
        self.output = self.outputs[0]

    def sample(self, n, method, seed):
        lo, hi = self.problem.domain.periodic_pair(self.axis, n, method=method, seed=seed)
        return self.at(torch.cat([lo, hi]))

    def at(self, points, normals=None):
        """`points`: the lower-face points followed by their images on the upper face."""
        return ConditionBatch(points)

    def residual(self, f, batch):
        n = batch.points.shape[0] // 2
        terms = []
        for out in self.outputs:
            u = f[out]
            for k in range(self.derivatives + 1):
                v = u.d(*([self.on] * k)).value
                terms.append(v[:n] - v[n:])
        return torch.cat(terms)


class Initial(Condition):
    """u(x, t0) = g(x), or with `derivative=1` the initial rate u_t(x, t0) = g(x)."""

    kind = "initial"
    points_kind = "initial"

    def __init__(self, value, output=None, derivative: int = 0, hard: bool = False, **kw):
        super().__init__(output, **kw)
        if derivative not in (0, 1):
            raise ValueError(f"initial: derivative must be 0 (value) or 1 (rate), got {derivative!r}")
        if hard and derivative:
            raise ValueError("initial: hard=True is available for the value (derivative=0) only")
        self.value, self.derivative, self.hard = value, derivative, bool(hard)

    def bind(self, problem):
        super().bind(problem)
        if problem.time is None:
            raise ValueError("initial: the problem has no time input; build the domain as "
                             "space * TimeInterval(t0, t1)")
        self.target_fn = coordinate_function(self.value, problem.inputs, "initial value",
                                             allowed=problem.spatial)

    def sample(self, n, method, seed):
        return self.at(self.problem.domain.sample_initial(n, method=method, seed=seed))

    def at(self, points, normals=None):
        return ConditionBatch(points, target=self.target_fn(points))

    def residual(self, f, batch):
        u = f[self.output]
        v = u.d(self.problem.time).value if self.derivative else u.value
        return v - batch.target


class Observation(Condition):
    """Measured values of one output at given points (data for inverse problems)."""

    kind = "observation"
    points_kind = "data"

    def __init__(self, points, values, output=None, **kw):
        super().__init__(output, **kw)
        self._raw_points = points
        self.values = torch.as_tensor(np.asarray(values, dtype=np.float64)).reshape(-1)
        if not torch.isfinite(self.values).all():
            raise ValueError("observation: values contain NaN or inf")

    def bind(self, problem):
        super().bind(problem)
        self.points = as_points(self._raw_points, problem.inputs, "observation points")
        if self.points.shape[0] != self.values.shape[0]:
            raise ValueError(f"observation: {self.points.shape[0]} points but "
                             f"{self.values.shape[0]} values")
        outside = ~self.problem.domain.contains(self.points, tol=1e-9)
        if outside.any():
            raise ValueError(f"observation: {int(outside.sum())} points lie outside the domain, "
                             f"e.g. {self.points[outside][0].tolist()}")

    def sample(self, n, method, seed):
        return ConditionBatch(self.points, target=self.values)

    def residual(self, f, batch):
        return f[self.output].value - batch.target


class PointResidual(Condition):
    """A general boundary operator: `fn(f, normals)` must vanish on the selected boundary part.

    For conditions the named classes do not cover (e.g. a traction condition on a system).
    """

    kind = "boundary_residual"

    def __init__(self, fn: Callable, on=None, **kw):
        super().__init__(None, **kw)
        self.fn, self.on = fn, on

    def bind(self, problem):
        self.problem = problem
        self.output = problem.outputs[0]
        self.selector = problem.boundary_selector(self.on, self.kind)

    def sample(self, n, method, seed):
        bs = self.problem.domain.sample_boundary(n, method=method, seed=seed, on=self.selector)
        return self.at(bs.points, bs.normals)

    def at(self, points, normals=None):
        return ConditionBatch(points, normals=normals)

    def residual(self, f, batch):
        return self.fn(f, batch.normals)
