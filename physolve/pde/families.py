"""Problem families: one PDE statement whose inputs (coefficients, forcings) are random fields.

Operator learning maps a family's random inputs to its solutions. A family states the mathematics
like a Problem -- domain, residual over named fields, boundary conditions -- plus the distribution
of its inputs and a classical solver for ground truth, all on one structured grid. Data sets are
generated from it inside the project and cached (physolve.pde.datasets).
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch

from ..geometry import Grid, Rectangle
from .operators import div
from .random_fields import GaussianRandomField

COEFFICIENTS = ("threshold", "lognormal")


class ProblemFamily(ABC):
    """A PDE with random input fields, discretised on `grid`.

    Attributes a solver reads: `inputs` (coordinate names), `spatial`, `outputs` (solution
    fields), `input_fields` (names of the random inputs), `grid`, `domain`, `boundary` (per
    coordinate: "dirichlet" -- the grid holds interior nodes and the outer ring of nodes carries
    the boundary value --, "periodic" or "one_sided"; see physolve.pde.grid_backend) and
    `boundary_values` (output -> value on the Dirichlet ring).
    `reference` is None and `unknowns` empty: a family is judged on held-out samples, by the
    solver that learns it.
    """

    name = "family"
    inputs: tuple[str, ...] = ("x", "y")
    outputs: tuple[str, ...] = ("u",)
    input_fields: tuple[str, ...] = ()
    reference = None
    time = None

    def __init__(self, grid: Grid, domain, boundary: dict[str, str],
                 boundary_values: dict[str, float] | None = None):
        self.grid, self.domain = grid, domain
        self.spatial = self.inputs
        self.boundary = dict(boundary)
        self.boundary_values = dict(boundary_values or {})
        self.unknowns: dict = {}
        self.conditions: list = []

    @abstractmethod
    def residual(self, f, **input_fields) -> torch.Tensor:
        """The PDE residual for fields `f` and the input fields (tensors on the grid)."""

    @abstractmethod
    def sample_inputs(self, n: int, seed: int) -> dict[str, np.ndarray]:
        """`n` draws of every input field, each an array (n, *grid.shape)."""

    @abstractmethod
    def solve(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Reference solution (one array of grid.shape per output) for one draw of the inputs."""

    @abstractmethod
    def config(self) -> dict:
        """Everything that determines the generated data (hashed by the data set cache)."""

    def dataset(self, n_train: int, n_test: int, seed: int = 0, **options):
        """Train and test samples, generated or read from the cache (see `load_or_generate`)."""
        from .datasets import load_or_generate
        return load_or_generate(self, n_train, n_test, seed, **options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, grid={self.grid.shape})"


class DarcyFamily(ProblemFamily):
    """-div(a grad u) = f on the unit square, u = 0 on the boundary, with a random coefficient.

    a is built from a Gaussian random field g with covariance (-Laplacian + tau^2)^(-alpha)
    (Neumann eigenfunctions, constant mode dropped). coefficient="threshold": a = a_high where
    g >= threshold, a_low elsewhere -- the piecewise-constant coefficients (12 / 3) of the FNO
    and MgNO Darcy benchmarks; coefficient="lognormal": a = exp(g), a smooth coefficient (for
    which the finite-difference residual of the physics-informed loss is consistent). The grid
    is the n x n interior nodes of a uniform mesh of spacing 1 / (n + 1); its outer ring of
    nodes is the boundary where u = 0. `name` names the family's data set files.
    """

    name = "darcy"
    input_fields = ("a",)

    def __init__(self, n: int = 64, alpha: float = 2.0, tau: float = 3.0, a_high: float = 12.0,
                 a_low: float = 3.0, threshold: float = 0.0, forcing: float = 1.0,
                 modes: int | None = None, coefficient: str = "threshold",
                 name: str = "darcy"):
        if not isinstance(n, int) or n < 4:
            raise ValueError(f"darcy: n (grid points per axis) must be an integer >= 4, got {n!r}")
        if coefficient not in COEFFICIENTS:
            raise ValueError(f"darcy: coefficient must be one of {COEFFICIENTS}, "
                             f"got {coefficient!r}")
        if not (a_low > 0 and a_high > 0):
            raise ValueError(f"darcy: a_low and a_high must be > 0, got {a_low}, {a_high}")
        h = 1.0 / (n + 1)
        super().__init__(Grid((h, h), (1 - h, 1 - h), n), Rectangle((0, 0), (1, 1)),
                         boundary={"x": "dirichlet", "y": "dirichlet"},
                         boundary_values={"u": 0.0})
        self.n, self.name = n, name
        self.field = GaussianRandomField(alpha, tau, boundary="neumann",
                                         modes=modes or n, zero_mean_mode=True)
        self.a_high, self.a_low = float(a_high), float(a_low)
        self.threshold, self.forcing = float(threshold), float(forcing)
        self.coefficient = coefficient

    def residual(self, f, a):
        u = f.u
        return -div([a * u.x, a * u.y]) - self.forcing

    def sample_inputs(self, n, seed):
        x = self.grid.axes[0].numpy()
        y = self.grid.axes[1].numpy()
        g = self.field.sample(x, y, n, seed)
        if self.coefficient == "lognormal":
            return {"a": np.exp(g)}
        return {"a": np.where(g >= self.threshold, self.a_high, self.a_low)}

    def solve(self, inputs):
        from .solvers.darcy import solve_darcy
        return {"u": solve_darcy(inputs["a"], self.forcing)}

    def config(self):
        return {"family": "darcy", "n": self.n, "grf": self.field.config(),
                "a_high": self.a_high, "a_low": self.a_low, "threshold": self.threshold,
                "forcing": self.forcing, "coefficient": self.coefficient,
                "scheme": "fd5-harmonic"}



class DiffusionSorptionFamily(ProblemFamily):
    """R(u) u_t = D u_xx on x in [0, 1], t in [0, T] (PDEBench's diffusion-sorption), with a
    random initial condition u0.

    R(u) = 1 + (1 - phi) / phi rho_s k_f n_f u^(n_f - 1); u(0, t) = 1, u(1, t) = D u_x(1, t).
    The grid is space-time: nx nodes on [0, 1] (ends included) by nt nodes on [0, T]; both axes
    "one_sided". The input field u0 (values at the x nodes, repeated along t so it is a grid
    field like every family input) is 0.2 * sigmoid(g) with g a random sine/cosine series of
    `modes` terms (coefficients N(0, 1/k)): smooth, in (0, 0.2), the range of PDEBench's data.
    Ground truth: the finite-volume BDF2 solver (physolve.pde.solvers.diffusion_sorption) on 2
    cells per node interval and `steps_per_output` steps per output time.

    In the residual R is evaluated at max(u, u_floor): R is singular at u = 0 and a network's
    prediction may touch or cross 0 (u_floor = 1e-4 there, where R = 1 + 2.16 * 3.2).
    """

    name = "diffusion_sorption"
    inputs = ("x", "t")
    outputs = ("u",)
    input_fields = ("u0",)

    def __init__(self, nx: int = 256, nt: int = 101, t_end: float = 500.0, modes: int = 4,
                 steps_per_output: int = 4, u_floor: float = 1e-4,
                 name: str = "diffusion_sorption"):
        for key, val, low in (("nx", nx, 4), ("nt", nt, 3), ("modes", modes, 1),
                              ("steps_per_output", steps_per_output, 1)):
            if not isinstance(val, int) or val < low:
                raise ValueError(f"diffusion_sorption: {key} must be an integer >= {low}, "
                                 f"got {val!r}")
        if not t_end > 0 or not u_floor > 0:
            raise ValueError(f"diffusion_sorption: t_end and u_floor must be > 0, got "
                             f"{t_end!r}, {u_floor!r}")
        from ..geometry import Interval
        from ..geometry.spacetime import TimeInterval
        from .solvers.diffusion_sorption import SorptionConstants
        super().__init__(Grid((0.0, 0.0), (1.0, float(t_end)), (nx, nt)),
                         Interval(0.0, 1.0) * TimeInterval(0.0, float(t_end)),
                         boundary={"x": "one_sided", "t": "one_sided"})
        self.spatial = ("x",)
        self.nx, self.nt, self.t_end, self.modes = nx, nt, float(t_end), modes
        self.steps_per_output, self.u_floor, self.name = steps_per_output, float(u_floor), name
        self.constants = SorptionConstants()

    def retardation(self, u):
        c = self.constants
        return 1 + c.beta * c.n_f * torch.clamp(u, min=self.u_floor) ** (c.n_f - 1)

    def residual(self, f, u0=None):
        u = f.u
        return self.retardation(u) * u.t - self.constants.D * u.xx

    def sample_inputs(self, n, seed):
        rng = np.random.default_rng(seed)
        x = self.grid.axes[0].numpy()
        k = np.arange(1, self.modes + 1)
        a = rng.normal(size=(n, self.modes)) / k
        b = rng.normal(size=(n, self.modes)) / k
        g = a @ np.sin(np.pi * k[:, None] * x) + b @ np.cos(np.pi * k[:, None] * x)
        u0 = 0.2 / (1 + np.exp(-g))
        return {"u0": np.repeat(u0[:, :, None], self.nt, axis=2)}

    def solve(self, inputs):
        from .solvers.diffusion_sorption import diffusion_sorption_on_nodes
        x = self.grid.axes[0].numpy()
        u0 = inputs["u0"][:, 0]
        u = diffusion_sorption_on_nodes(lambda s: np.interp(s, x, u0), self.nx,
                                        self.grid.axes[1].numpy(), 1, self.steps_per_output)
        return {"u": u}

    def config(self):
        return {"family": "diffusion_sorption", "nx": self.nx, "nt": self.nt,
                "t_end": self.t_end, "modes": self.modes,
                "steps_per_output": self.steps_per_output, "scheme": "fv-bdf2"}
