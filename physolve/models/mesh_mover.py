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


class MeshMover(nn.Module):
    """phi(u, xi): a small CNN encodes u (B, n, n) to a vector, an MLP maps (s(xi), code) to phi."""

    def __init__(self, latent: int = 32, hidden: int = 64, depth: int = 3, alpha: float = 0.01,
                 convexity_weight: float = 1.0, seed: int = 0):
        super().__init__()
        for key, v in (("latent", latent), ("hidden", hidden), ("depth", depth)):
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{key} must be a positive integer, got {v!r}")
        if alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {alpha}")
        self.alpha, self.convexity_weight = alpha, convexity_weight
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv2d(8, 16, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv2d(16, 16, 5, stride=2, padding=2), nn.GELU(),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(256, latent))
        layers, width = [], 2 + latent
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

    def phi(self, u: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        code = self.encoder(((u - u.mean()) / (u.std() + 1e-12)).unsqueeze(1))  # (B, latent)
        code = code.unsqueeze(1).expand(-1, xi.shape[1], -1)
        return self.mlp(torch.cat([smoothstep(xi), code], dim=-1))[..., 0]

    def map(self, u: torch.Tensor, xi: torch.Tensor, create_graph: bool = True):
        """x = xi + grad phi and J = I + Hess phi at xi (B, P, 2)."""
        xi = xi.detach().requires_grad_(True)
        phi = self.phi(u, xi)
        grad = torch.autograd.grad(phi.sum(), xi, create_graph=True)[0]
        rows = [torch.autograd.grad(grad[..., k].sum(), xi, create_graph=create_graph,
                                    retain_graph=True)[0]
                for k in range(2)]
        hess = torch.stack(rows, dim=-2)
        return xi + grad, torch.eye(2, dtype=xi.dtype) + hess

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
