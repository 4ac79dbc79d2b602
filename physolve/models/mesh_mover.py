"""Data-free mesh mover (DMM, Hu, Wang and Ma, ICLR 2024): a network maps a field u (sampled on
the reference grid) and a reference coordinate xi in [0, 1]^2 to a potential phi; the moved mesh
is x = xi + grad phi, and training minimises the Monge-Ampere residual

    M(x(xi)) det(I + Hess phi(xi)) - theta,   theta = mean over xi of M(x) det(I + Hess phi),

for the monitor M = 1 + |grad u| / (alpha mean |grad u|) (alpha = 0.01 by default), plus a
convexity penalty relu(-det J) + relu(-trace J) on J = I + Hess phi. No mesh data is used.

Boundary handling is a construction, not a loss: the network sees s(xi) with s(t) = t^2 (3 - 2 t),
s'(0) = s'(1) = 0, so d phi / d xi_1 vanishes on xi_1 = 0, 1 and d phi / d xi_2 on xi_2 = 0, 1:
boundary nodes move only along their edge and the corners stay fixed.

Derivatives of phi (gradient and Hessian) are taken by plain torch autograd (double backward):
the mover's input is a coordinate plus a field encoding, not a `Fields` point set of a PDE, so the
PINN derivative backends do not fit without adaptation.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def smoothstep(t: torch.Tensor) -> torch.Tensor:
    return t * t * (3.0 - 2.0 * t)


def monitor(u: torch.Tensor, alpha: float = 0.01) -> torch.Tensor:
    """M = 1 + |grad u| / (alpha mean |grad u|) on the grid of u ((B, n, n), nodes i / (n - 1))."""
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    n = u.shape[-1]
    gx, gy = torch.gradient(u, spacing=1.0 / (n - 1), dim=(-2, -1))
    g = torch.sqrt(gx * gx + gy * gy)
    return 1.0 + g / (alpha * g.mean(dim=(-2, -1), keepdim=True) + 1e-12)


def sample_grid(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bilinear values of (B, n, n) grid data (x along axis 1, nodes i / (n - 1)) at points
    x (B, P, 2) in [0, 1]^2; differentiable in x."""
    grid = (2.0 * x - 1.0).flip(-1).unsqueeze(1)             # grid_sample wants (y, x) order -> (W, H)
    out = F.grid_sample(values.unsqueeze(1), grid, mode="bilinear", align_corners=True)
    return out[:, 0, 0, :]


def edge_flatten(t: torch.Tensor, delta: float = 0.05) -> torch.Tensor:
    """Identity on [delta, 1 - delta]; within delta of 0 (and mirrored at 1) it is
    delta q(t / delta), q(r) = 3 r^2 - 3 r^3 + r^4, so the map is C^2, increasing, fixes 0 and 1,
    and has zero slope at both ends. Features are sampled at edge_flatten(xi): their normal
    derivative vanishes on the boundary, as that of s(xi) does."""
    def q(r):
        return delta * r * r * (3.0 - 3.0 * r + r * r)
    lo, hi = t / delta, (1.0 - t) / delta
    return torch.where(t < delta, q(lo.clamp(0, 1)),
                       torch.where(t > 1.0 - delta, 1.0 - q(hi.clamp(0, 1)), t))


def gaussian_weights(t: torch.Tensor, n: int, sigma: float) -> torch.Tensor:
    """Normalised Gaussian weights (..., n) of the grid nodes i / (n - 1) at positions t (...)."""
    nodes = torch.linspace(0.0, 1.0, n, dtype=t.dtype, device=t.device)
    w = torch.exp(-0.5 * ((t[..., None] - nodes) / sigma) ** 2)
    return w / w.sum(-1, keepdim=True)


def smooth_sample(values: torch.Tensor, x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian-kernel (separable, Shepard-normalised) interpolant of grid data (B, C, n, n),
    nodes i / (n - 1), at points x (B, P, 2), returned as (B, P, C). Unlike bilinear sampling it
    is smooth in x, so the Hessian of a function of it is well defined. Only the nodes within
    4 sigma of a point enter (their weights are above exp(-8) of the largest)."""
    b, c, n, _ = values.shape
    h = 1.0 / (n - 1)
    r = max(1, int(math.ceil(4.0 * sigma / h)))
    offs = torch.arange(-r, r + 1, device=x.device)

    def axis(t):                                            # (B, P) -> indices, weights (B, P, K)
        idx = torch.round(t.detach() / h).long()[..., None] + offs
        inside = (idx >= 0) & (idx < n)
        idx = idx.clamp(0, n - 1)
        w = torch.exp(-0.5 * ((t[..., None] - idx.to(t.dtype) * h) / sigma) ** 2) * inside
        return idx, w

    ix, wx = axis(x[..., 0])
    iy, wy = axis(x[..., 1])
    bi = torch.arange(b, device=x.device)[:, None, None, None]
    local = values.permute(0, 2, 3, 1)[bi, ix[..., :, None], iy[..., None, :]]   # (B, P, K, K, C)
    out = torch.einsum("bpk,bpl,bpklc->bpc", wx, wy, local)
    norm = wx.sum(-1) * wy.sum(-1)
    return out / norm[..., None]


def blur(values: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur (normalised rows, so no boundary darkening) of (..., n, n) data."""
    n = values.shape[-1]
    k = gaussian_weights(torch.linspace(0.0, 1.0, n, dtype=values.dtype, device=values.device),
                         n, sigma)                                     # (n, n)
    return k @ values @ k.T


def field_features(u: torch.Tensor, alpha: float, scales=(0.05, 0.15), grid: int = 32
                   ) -> torch.Tensor:
    """Feature maps (B, C, grid, grid) of fields u (B, n, n) that the potential network samples
    at xi: the field, log M lightly blurred, and at each scale s the Gaussian blur of log M and its
    gradient (which points to where the monitor is large at that scale), resampled to a
    grid x grid node grid (cheap to sample) and scaled to unit standard deviation per field."""
    n = u.shape[-1]
    logm = torch.log(monitor(u, alpha))
    chans = [u - u.mean(dim=(-2, -1), keepdim=True), blur(logm, 0.5 / (grid - 1))]
    for s in scales:
        b = blur(logm, s)
        gx, gy = torch.gradient(b, spacing=1.0 / (n - 1), dim=(-2, -1))
        chans += [b, gx, gy]
    f = torch.stack(chans, 1)
    if grid != n:
        f = F.interpolate(f, size=(grid, grid), mode="bilinear", align_corners=True)
    return f / (f.std(dim=(-2, -1), keepdim=True) + 1e-12)


class MeshMover(nn.Module):
    """phi(u, xi) = MLP(s(xi), local features of u at xi, global code of u).

    The local features (`field_features`: the field, log M and multi-scale blurs of log M with
    their gradients) are sampled at xi by a smooth Gaussian-kernel interpolant, so each node sees
    where the monitor is large around it; a small CNN adds a `latent`-vector code of the whole
    field (latent=0 drops it)."""

    def __init__(self, latent: int = 16, hidden: int = 64, depth: int = 3, alpha: float = 0.01,
                 convexity_weight: float = 1.0, scales=(0.05, 0.15), feature_grid: int = 32,
                 sample_sigma: float = 0.03,
                 seed: int = 0):
        super().__init__()
        for key, v in (("hidden", hidden), ("depth", depth)):
            if isinstance(v, bool) or not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{key} must be a positive integer, got {v!r}")
        if isinstance(latent, bool) or not (isinstance(latent, int) and latent >= 0):
            raise ValueError(f"latent must be an integer >= 0, got {latent!r}")
        if not alpha > 0:
            raise ValueError(f"alpha must be > 0, got {alpha!r}")
        if not sample_sigma > 0:
            raise ValueError(f"sample_sigma must be > 0, got {sample_sigma!r}")
        if (isinstance(feature_grid, bool) or not isinstance(feature_grid, int)
                or feature_grid < 4):
            raise ValueError(f"feature_grid must be an integer >= 4, got {feature_grid!r}")
        scales = tuple(float(s) for s in scales)
        if any(not s > 0 for s in scales):
            raise ValueError(f"scales must be positive numbers, got {scales!r}")
        self.alpha, self.convexity_weight = alpha, convexity_weight
        self.scales, self.sample_sigma, self.latent = scales, sample_sigma, latent
        self.feature_grid = feature_grid
        channels = 2 + 3 * len(scales)
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv2d(8, 16, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv2d(16, 16, 5, stride=2, padding=2), nn.GELU(),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(256, latent)) if latent else None
        layers, width = [], 2 + latent + channels
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.Tanh()]
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for module in self.modules():
                if isinstance(module, (nn.Linear, nn.Conv2d)):
                    module.reset_parameters()
        with torch.no_grad():
            self.mlp[-1].weight.mul_(0.01)

    def features(self, u: torch.Tensor):
        """What phi needs of u (B, n, n): the feature maps and the global code (or None)."""
        maps = field_features(u, self.alpha, self.scales, self.feature_grid)
        code = None
        if self.encoder is not None:
            norm = (u - u.mean(dim=(-2, -1), keepdim=True)) / (u.std(dim=(-2, -1), keepdim=True)
                                                              + 1e-12)
            code = self.encoder(norm.unsqueeze(1))
        return maps, code

    def phi(self, u: torch.Tensor, xi: torch.Tensor, feats=None) -> torch.Tensor:
        maps, code = self.features(u) if feats is None else feats
        parts = [smoothstep(xi), smooth_sample(maps, edge_flatten(xi), self.sample_sigma)]
        if code is not None:
            parts.append(code.unsqueeze(1).expand(-1, xi.shape[1], -1))
        return self.mlp(torch.cat(parts, dim=-1))[..., 0]

    def map(self, u: torch.Tensor, xi: torch.Tensor, create_graph: bool = True):
        """x = xi + grad phi and J = I + Hess phi at xi (B, P, 2), the derivatives taken by the
        project's autograd derivative backend over the B * P points (each point's phi depends
        only on its own coordinate, so one backward pass per derivative order serves all)."""
        from ..pde.autograd import AutogradBackend

        b, p, _ = xi.shape
        feats = self.features(u)
        backend = AutogradBackend(lambda pts: self.phi(u, pts.view(b, p, 2), feats).reshape(-1, 1),
                                  xi.detach().reshape(-1, 2), inputs=("x", "y"), outputs=("phi",),
                                  spatial=("x", "y"), create_graph=True)
        d = lambda *wrt: backend.derivative("phi", wrt).view(b, p)  # noqa: E731
        grad = torch.stack([d("x"), d("y")], -1)
        hxx, hxy, hyy = d("x", "x"), d("x", "y"), d("y", "y")
        hess = torch.stack([torch.stack([hxx, hxy], -1), torch.stack([hxy, hyy], -1)], -2)
        if not create_graph:
            grad, hess = grad.detach(), hess.detach()
        return backend.points.view(b, p, 2) + grad, torch.eye(2, dtype=xi.dtype) + hess

    def loss(self, u: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        x, jac = self.map(u, xi)
        res = monge_ampere_residual(monitor(u, self.alpha), x, jac)
        det = torch.linalg.det(jac)
        tr = jac.diagonal(dim1=-2, dim2=-1).sum(-1)
        return res.pow(2).mean() + self.convexity_weight * (F.relu(-det) + F.relu(-tr)).mean()

    def move(self, u: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        """Moved nodes for fields u (one forward pass plus one gradient)."""
        with torch.enable_grad():
            xi = xi.detach().requires_grad_(True)
            grad = torch.autograd.grad(self.phi(u, xi).sum(), xi)[0]
        return (xi + grad).detach().clamp(0.0, 1.0)


def monge_ampere_residual(m_grid: torch.Tensor, x: torch.Tensor, jac: torch.Tensor) -> torch.Tensor:
    """(M(x) det J - theta) / theta per point, theta the mean of M(x) det J (equidistribution)."""
    md = sample_grid(m_grid, x) * torch.linalg.det(jac)
    theta = md.mean(dim=-1, keepdim=True)
    return md / theta - 1.0


def grid_nodes(n: int, dtype=torch.float64) -> torch.Tensor:
    """(n * n, 2) nodes of the uniform n x n grid on [0, 1]^2, x along axis 0 (C order)."""
    t = torch.linspace(0.0, 1.0, n, dtype=dtype)
    X, Y = torch.meshgrid(t, t, indexing="ij")
    return torch.stack([X.ravel(), Y.ravel()], dim=-1)


def quad_cells(n: int) -> np.ndarray:
    """Counter-clockwise quads of the n x n node grid (node index i * n + j)."""
    i, j = np.meshgrid(np.arange(n - 1), np.arange(n - 1), indexing="ij")
    a = (i * n + j).ravel()
    return np.stack([a, a + n, a + n + 1, a + 1], axis=1)


def inverted_cells(points: np.ndarray, cells: np.ndarray) -> int:
    """Number of quads with a non-positive corner Jacobian (signed area of a corner triangle)."""
    p = np.asarray(points)[:, :2][cells]                         # (C, 4, 2)
    bad = np.zeros(len(cells), dtype=bool)
    for k in range(4):
        a, b, c = p[:, k - 1], p[:, k], p[:, (k + 1) % 4]
        cross = (c[:, 0] - b[:, 0]) * (a[:, 1] - b[:, 1]) - (c[:, 1] - b[:, 1]) * (a[:, 0] - b[:, 0])
        bad |= cross <= 0
    return int(bad.sum())


def moved_mesh(points: np.ndarray, n: int, field: np.ndarray | None = None):
    """A meshio quad mesh with the reference n x n connectivity at the moved points."""
    import meshio
    pts = np.column_stack([np.asarray(points, dtype=np.float64), np.zeros(len(points))])
    data = {} if field is None else {"u": np.asarray(field, dtype=np.float64).ravel()}
    return meshio.Mesh(pts, [("quad", quad_cells(n))], point_data=data)


# --------------------------------------------------------------------------------- evaluation
def fourier_eval(u: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """The periodic trigonometric interpolant of grid data u (n, n) (nodes i / n) at points
    (P, 2): the exact value of a pseudo-spectral field anywhere in the square."""
    n = u.shape[0]
    uh = np.fft.fft2(u) / (n * n)
    k = np.fft.fftfreq(n, d=1.0 / n)
    ex = np.exp(2j * np.pi * np.outer(pts[:, 0], k))
    ey = np.exp(2j * np.pi * np.outer(pts[:, 1], k))
    return ((ex @ uh) * ey).sum(-1).real                   # a matrix product, not P n^2 loops


def linear_interpolate(nodes: np.ndarray, values: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The piecewise-linear interpolant (Delaunay triangulation of nodes (N, 2)) of values
    (N,) or (N, C) at points (P, 2): exact for linear fields. A point outside the nodes' hull
    (round-off at the edge of a moved mesh) takes the nearest node's value."""
    from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

    out = LinearNDInterpolator(nodes, values)(points)
    bad = np.isnan(out)
    if bad.any():
        rows = bad.reshape(len(points), -1).any(-1)
        out[rows] = NearestNDInterpolator(nodes, values)(points[rows])
    return out


def interp_error(u_spectral: np.ndarray, nodes: np.ndarray, ref_pts: np.ndarray,
                 ref_vals: np.ndarray) -> float:
    """RMS error on ref_pts of the piecewise-linear interpolant (Delaunay triangulation of
    nodes) of the field's exact values at the nodes."""
    f = linear_interpolate(nodes, fourier_eval(u_spectral, nodes), ref_pts)
    return float(np.sqrt(np.mean((f - ref_vals) ** 2)))


def plot_mesh(path, points: np.ndarray, n: int, field: np.ndarray, grid: int, title: str = ""):
    """PNG of a moved n x n quad mesh over the field on the reference grid x grid."""
    from pathlib import Path

    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.imshow(np.asarray(field).reshape(grid, grid).T, origin="lower", extent=(0, 1, 0, 1),
              cmap="RdBu_r")
    p = np.asarray(points).reshape(n, n, 2)
    ax.plot(p[..., 0], p[..., 1], "k-", lw=0.4)
    ax.plot(p[..., 0].T, p[..., 1].T, "k-", lw=0.4)
    ax.set_xlim(0, 1), ax.set_ylim(0, 1), ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return Path(path)


from .base import Solver, derived_seed, fresh_seed, solvers  # noqa: E402


def field_family(problem, what: str) -> dict:
    """The settings of a problem's family of fields (`problem.fields`, as `burgers2d_fields`
    has them); a problem without them is refused, `what` saying what needs them."""
    if not hasattr(problem, "fields"):
        raise TypeError(f"{what} a family of fields such as 'burgers2d_fields', "
                        f"got {getattr(problem, 'name', problem)!r}")
    return problem.fields


@solvers.register("dmm")
class DMM(Solver):
    """The data-free mesh mover as a solver family on `burgers2d_fields`.

    Parameters
    ----------
    latent, hidden, depth, alpha, convexity_weight, scales, feature_grid, sample_sigma: the
        `MeshMover` network and loss.
    base: nodes per side of the mesh that is moved (base x base quads' nodes).
    train_fields, test_fields: fields drawn from the problem's family for training and for the
        held-out evaluation (fields 0 .. train_fields - 1 train, the next test_fields test).
    batch: fields per training step; train_points: a jittered train_points x train_points
        grid of reference coordinates per field and step.
    """

    name = "dmm"

    def __init__(self, latent: int = 16, hidden: int = 64, depth: int = 3, alpha: float = 0.01,
                 convexity_weight: float = 1.0, scales=(0.05, 0.15), feature_grid: int = 32,
                 sample_sigma: float = 0.03, base: int = 48, train_fields: int = 12,
                 test_fields: int = 4, batch: int = 4, train_points: int = 24):
        for key, value in (("base", base), ("train_fields", train_fields),
                           ("test_fields", test_fields), ("batch", batch),
                           ("train_points", train_points)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"dmm: {key} must be an integer >= 1, got {value!r}")
        if base < 3 or train_points < 3:
            raise ValueError(f"dmm: base and train_points must be >= 3, got base={base}, "
                             f"train_points={train_points}")
        if batch > train_fields:
            raise ValueError(f"dmm: batch={batch} must not exceed train_fields={train_fields}")
        if isinstance(convexity_weight, bool) or not convexity_weight >= 0:
            raise ValueError(f"dmm: convexity_weight must be a number >= 0, got "
                             f"{convexity_weight!r}")
        self.net_options = dict(latent=latent, hidden=hidden, depth=depth, alpha=alpha,
                                convexity_weight=convexity_weight, scales=tuple(scales),
                                feature_grid=feature_grid, sample_sigma=sample_sigma)
        MeshMover(**self.net_options)          # the network's own checks, before any data
        self.base, self.train_fields, self.test_fields = base, train_fields, test_fields
        self.batch, self.train_points = batch, train_points

    def setup(self, problem, *, dtype: torch.dtype = torch.float32, device="cpu",
              seed: int | None = 0) -> None:
        fam = field_family(problem, "dmm moves meshes for")
        from ..pde.solvers.burgers2d import random_burgers_fields

        self.problem, self.dtype, self.device = problem, dtype, torch.device(device)
        self.seed = fresh_seed() if seed is None else int(seed)
        self.n = fam["n"]
        self.spectral = random_burgers_fields(self.train_fields + self.test_fields, n=self.n,
                                              t_end=fam["t_end"], nu=fam["nu"],
                                              modes=fam["modes"], steps=fam["steps"],
                                              seed=fam["seed"])
        self.ref = grid_nodes(self.n).numpy()
        self.on_ref = np.stack([fourier_eval(f, self.ref).reshape(self.n, self.n)
                                for f in self.spectral])
        self.u = torch.tensor(self.on_ref, dtype=dtype, device=self.device)
        with torch.random.fork_rng(devices=[]):
            model = MeshMover(**self.net_options, seed=derived_seed(self.seed, 1) % 2 ** 31)
            self.model = model.to(dtype).to(self.device)
        self.generator = torch.Generator().manual_seed(derived_seed(self.seed, 2) % 2 ** 63)
        self.xi_train = grid_nodes(self.train_points, dtype=dtype).to(self.device)
        self._eval = None

    def parameters(self) -> list[nn.Parameter]:
        return list(self.model.parameters())

    def loss(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        self._eval = None
        g = self.generator
        idx = torch.randperm(self.train_fields, generator=g)[: self.batch]
        h = 1.0 / (self.train_points - 1)
        jitter = (torch.rand(self.xi_train.shape, generator=g, dtype=self.dtype) - 0.5) * 0.9 * h
        xi = (self.xi_train + jitter.to(self.device)).clamp(0, 1)[None].expand(self.batch, -1, -1)
        value = self.model.loss(self.u[idx], xi)
        return value, {"monge_ampere": value.detach()}

    # ----------------------------------------------------------------------------- evaluation
    def evaluate(self) -> dict:
        """Moved meshes of the held-out fields and their figures (cached until the next step)."""
        if self._eval is not None:
            return self._eval
        base = grid_nodes(self.base, dtype=self.dtype).to(self.device)
        cells = quad_cells(self.base)
        out = {"moved": [], "ratios": [], "inverted": [], "residuals": [], "forward_s": []}
        for c in range(self.train_fields, self.train_fields + self.test_fields):
            u = self.u[c:c + 1]
            t0 = time.process_time()
            moved = self.model.move(u, base[None])[0]
            out["forward_s"].append(time.process_time() - t0)
            x, jac = self.model.map(u, base[None], create_graph=False)
            res = monge_ampere_residual(monitor(u, self.model.alpha), x.detach(), jac.detach())
            out["residuals"].append(float(res.abs().mean()))
            pts = moved.to(torch.float64).cpu().numpy()
            out["moved"].append(pts)
            out["inverted"].append(inverted_cells(pts, cells))
            vals = self.on_ref[c].ravel()
            e_uni = interp_error(self.spectral[c], base.to(torch.float64).cpu().numpy(), self.ref,
                                 vals)
            e_mov = interp_error(self.spectral[c], pts, self.ref, vals)
            out["ratios"].append(e_uni / e_mov)
        self._eval = out
        return out

    def metrics(self) -> dict[str, float]:
        """interp_error_ratio: mean over the held-out fields of (error of the uniform base mesh)
        / (error of the moved mesh), piecewise-linear interpolation measured on the reference
        grid; inverted_cells: total over those meshes; monge_ampere_residual: mean |r| at the
        base nodes; forward_pass_s: process seconds to move one mesh."""
        e = self.evaluate()
        return {"interp_error_ratio": float(np.mean(e["ratios"])),
                "interp_error_ratio_min": float(np.min(e["ratios"])),
                "inverted_cells": int(np.sum(e["inverted"])),
                "monge_ampere_residual": float(np.mean(e["residuals"])),
                "forward_pass_s": float(np.mean(e["forward_s"]))}

    def predict(self, points: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("dmm moves meshes and predicts no solution; its outputs are "
                                  "the moved meshes (set output.formats=[] and output.plots=false)")

    def write_outputs(self, folder) -> list:
        """vtk/moved_mesh_<k>.vtu (the moved base mesh with point array u, the held-out field
        k), vtk/uniform_mesh_<k>.vtu (the uniform one), plots/mesh_<k>.png."""
        from pathlib import Path

        folder = Path(folder)
        (folder / "vtk").mkdir(parents=True, exist_ok=True)
        (folder / "plots").mkdir(parents=True, exist_ok=True)
        e = self.evaluate()
        base = grid_nodes(self.base).numpy()
        files = []
        for k, pts in enumerate(e["moved"]):
            spec = self.spectral[self.train_fields + k]
            for name, p in (("moved", pts), ("uniform", base)):
                path = folder / "vtk" / f"{name}_mesh_{k}.vtu"
                moved_mesh(p, self.base, fourier_eval(spec, p)).write(path)
                files.append(path)
            files.append(plot_mesh(folder / "plots" / f"mesh_{k}.png", pts, self.base,
                                   self.on_ref[self.train_fields + k], self.n,
                                   f"held-out field {k}: error ratio {e['ratios'][k]:.2f}"))
        return files

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.generator.set_state(state["generator"])
        self._eval = None
