"""Where hard Dirichlet parts with different data meet: first-order matching of their extensions.

The blended lift A = sum_i w_i E_i / sum_i w_i (hard.py) uses each part's value g_i as a
function of all coordinates, E_i = g_i. Its weights jump from 1 on part i to 0 on part j at a
corner c where the two meet, so near c they are functions of the angle alone and their second
derivatives grow like 1/r^2. The Laplacian of A then grows like |E_i - E_j| / r^2 +
|grad(E_i - E_j)| / r: like 1/r when the data agree at c but their extensions have different
gradients there (the usual case: each face's data written as a function of its own coordinate).
A global fit does not help, because the weights sum to 1 and a common term cancels from the
difference; what must agree are the extensions themselves.

In 2-D the tangential derivatives of g_i along part i and of g_j along part j at c determine
one gradient G (the two tangents are independent unless the parts are collinear there), and each
extension may change its normal derivative freely without changing its values on its part:

    E_i = g_i + sum over corners c of part i of beta_ic * l_i(x) * psi_c(x),

with l_i the signed distance to the carrier of part i's face at c (zero on that face, gradient
the inward normal nu_i) and psi_c a C^2 bump, 1 at c and zero beyond a radius that keeps it off
part i's other faces. beta_ic = (G - grad g_i(c)) . nu_i makes grad E_i(c) = G for both parts,
so E_i - E_j = O(r^2) and the lift's second derivatives stay bounded near c.

Limits, each reported by a UserWarning naming the parts: data that jump at a corner (no lift can
have bounded second derivatives there: they grow like jump / r^2); collinear parts whose data
have different tangential slopes at the junction; and parts meeting along curves (3-D domains,
space-time, meshes), where no matching is done and the Laplacian may grow like 1/r toward them (one
value function for all parts, or the same data object, needs none).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from ..geometry.base import BoundaryPiece, Geometry
from ..geometry.mesh import MeshDomain
from ..geometry.spacetime import SpaceTime

# Parameter samples per face for locating the ends of trimmed (CSG) pieces, then bisection.
_SCAN = 2049
_BISECT = 60
# Ends closer than this (relative to the domain's size) are the same corner.
_SAME_POINT = 1e-6
# Data that differ by more than this at a corner (relative to their size) jump there.
_JUMP_TOL = 1e-8
# Points of one part tested against another part's distance (3-D domains).
_MEET_POINTS = 4096
# sin of the smallest angle between the parts' normals treated as a real corner.
_COLLINEAR = 1e-6
# The bump's radius as a fraction of the distance to the nearest face of the part not at c.
_RADIUS_FRACTION = 0.5


@dataclass
class _Bump:
    """One corner's term beta * l(x) * psi(x) of one part's extension (l: the piece's signed
    carrier distance)."""

    center: Tensor
    radius: float
    beta: float
    piece: BoundaryPiece


def _bump_sum(bumps: list[_Bump], x: Tensor) -> Tensor:
    """sum of beta * l * psi over the bumps, all bumps at once and each carrier once."""
    centers = torch.stack([b.center for b in bumps]).to(x)
    radii = torch.tensor([b.radius for b in bumps], dtype=x.dtype, device=x.device)
    betas = torch.tensor([b.beta for b in bumps], dtype=x.dtype, device=x.device)
    q = ((x[:, None, :] - centers) ** 2).sum(2) / radii**2
    psi = betas * (1 - q).clamp(min=0) ** 3  # C^2 across q = 1, bounded second derivatives
    out = 0
    pieces = list({id(b.piece): b.piece for b in bumps}.values())
    for piece in pieces:
        cols = [k for k, b in enumerate(bumps) if b.piece is piece]
        out = out + _signed_carrier(piece)(x) * psi[:, cols].sum(1)
    return out


def _piece_member(piece: BoundaryPiece, x: Tensor) -> Tensor:
    """Whether points of the piece's face lie on the piece (its trims and keep predicate)."""
    ok = torch.ones(x.shape[0], dtype=torch.bool)
    for s, g in piece.trims:
        ok &= s * g._phi(x) > 0
    if piece.keep is not None:
        ok &= piece.keep(x)
    return ok


def _piece_ends(piece: BoundaryPiece, scale: float) -> list[Tensor]:
    """The end points of a curve piece of a 2-D boundary (none for a closed untrimmed curve)."""
    face = piece.face
    u = torch.linspace(0, 1, _SCAN, dtype=torch.float64)
    closed = bool((face.map(u[:1, None]) - face.map(u[-1:, None])).norm() <= _SAME_POINT * scale)
    member = _piece_member(piece, face.map(u[:, None]))
    ends = [] if closed else [face.map(u[[k], None])[0] for k in (0, -1) if member[k]]
    k = torch.nonzero(member[1:] != member[:-1]).flatten()
    if len(k):
        # Bisect all changes of membership at once: lo keeps the side of the parameter below.
        lo, hi, inside_lo = u[k], u[k + 1], member[k]
        for _ in range(_BISECT):
            mid = 0.5 * (lo + hi)
            same = _piece_member(piece, face.map(mid[:, None])) == inside_lo
            lo, hi = torch.where(same, mid, lo), torch.where(same, hi, mid)
        ends += list(face.map((0.5 * (lo + hi))[:, None]).unbind(0))
    return ends


def _meet(domain: Geometry, on_a, on_b) -> bool:
    """Whether two boundary parts (of a mesh or a 3-D domain) touch: a mesh's facet groups
    share a vertex; otherwise some of many points of one lie within 1 % of the domain's size
    of the other (enough for a warning, which is all this decides)."""
    if isinstance(domain, MeshDomain):
        verts = [torch.cat([p.face._corners.reshape(-1, domain.dim) for p in domain.select(on)])
                 for on in (on_a, on_b)]
        return bool(torch.cdist(*verts).min() <= _SAME_POINT * domain._scale)
    pts = domain.sample_boundary(_MEET_POINTS, method="sobol", seed=0, on=on_a).points
    return bool(domain.smooth_distance(pts, on=on_b).abs().min() < 1e-2 * domain._scale)


def _piece_points(piece: BoundaryPiece) -> Tensor:
    u = torch.linspace(0, 1, _SCAN, dtype=torch.float64)[:, None]
    x = piece.face.map(u)
    return x[_piece_member(piece, x)]


def _value_and_grad(g: Callable[[Tensor], Tensor], c: Tensor) -> tuple[float, Tensor]:
    x = c[None].clone().requires_grad_(True)
    v = g(x).sum()
    grad = torch.autograd.grad(v, x, allow_unused=True)[0] if v.requires_grad else None
    return float(v.detach()), torch.zeros_like(c) if grad is None else grad[0].detach()


def _signed_carrier(piece: BoundaryPiece) -> Callable[[Tensor], Tensor]:
    return lambda x: piece.sign * piece.face.carrier(x)


def _inward_normal(piece: BoundaryPiece, c: Tensor) -> Tensor:
    x = c[None].clone().requires_grad_(True)
    return torch.autograd.grad(_signed_carrier(piece)(x).sum(), x)[0][0]


def _fmt(c: Tensor) -> str:
    return "(" + ", ".join(f"{float(v):.6g}" for v in c) + ")"


class CornerMatch:
    """The corner terms of each Dirichlet part's extension (empty where none are needed).

    parts: (name, value function, selector) per hard Dirichlet part of one output, in the order
    of the lift's weights. `extension(i, x)` is the correction added to g_i(x).
    """

    def __init__(self, domain: Geometry, parts: list[tuple[str, Callable, object]],
                 same_data: Callable[[int, int], bool]):
        self.bumps: list[list[_Bump]] = [[] for _ in parts]
        if len(parts) < 2:
            return
        spatial = domain.spatial if isinstance(domain, SpaceTime) else domain
        if spatial.dim < 2:
            return  # the points of a 1-D boundary never meet
        if spatial.dim > 2 or isinstance(spatial, MeshDomain):
            # Facet groups of a mesh have neither ordered ends nor smooth carriers.
            pairs = [(i, j) for i in range(len(parts)) for j in range(i + 1, len(parts))
                     if not same_data(i, j) and _meet(spatial, parts[i][2], parts[j][2])]
            where = "meshes" if isinstance(spatial, MeshDomain) else f"{spatial.dim}-D domains"
            self._warn_unmatched(where, parts, pairs)
            return
        self._scale = scale = spatial._scale
        pieces = [spatial.select(sel) for _, _, sel in parts]
        self._ends = {id(p): _piece_ends(p, scale) for ps in pieces for p in ps}
        junctions = list(self._junctions(pieces))
        if isinstance(domain, SpaceTime):
            # Corners of the spatial domain are lines in space-time; data may change along
            # them, which the constant coefficients here cannot follow.
            pairs = list(dict.fromkeys((i, j) for i, j, *_ in junctions if not same_data(i, j)))
            self._warn_unmatched("space-time domains", parts, pairs)
            return
        for i, j, p, q, c in junctions:
            self._match(parts, i, j, p, q, c, pieces, scale)

    # ---- corners --------------------------------------------------------------------------
    def _junctions(self, pieces: list[list[BoundaryPiece]]):
        """(i, j, piece of i, piece of j, point) where a piece of part i ends on one of part j."""
        ends = [[(p, e) for p in ps for e in self._ends[id(p)]] for ps in pieces]
        for i in range(len(pieces)):
            for j in range(i + 1, len(pieces)):
                for p, e in ends[i]:
                    for q, f in ends[j]:
                        if float((e - f).norm()) <= _SAME_POINT * self._scale:
                            yield i, j, p, q, 0.5 * (e + f)

    def _radius(self, pieces: list[BoundaryPiece], own: BoundaryPiece, c: Tensor, scale: float
                ) -> float:
        """Keeps the bump off the part's faces other than `own` (where its term must vanish)
        and off own's far end."""
        gaps = [scale]
        for p in pieces:
            if p is own:
                far = [e for e in self._ends[id(p)] if float((e - c).norm()) > _SAME_POINT * scale]
                gaps += [float((e - c).norm()) for e in far]
            else:
                pts = _piece_points(p)
                if len(pts):
                    gaps.append(float((pts - c).norm(dim=1).min()))
        return _RADIUS_FRACTION * min(gaps)

    def _match(self, parts, i, j, p, q, c, pieces, scale) -> None:
        (name_i, g_i, _), (name_j, g_j, _) = parts[i], parts[j]
        v_i, grad_i = _value_and_grad(g_i, c)
        v_j, grad_j = _value_and_grad(g_j, c)
        jump = v_j - v_i
        if abs(jump) > _JUMP_TOL * max(1.0, abs(v_i), abs(v_j)):
            warnings.warn(
                f"hard Dirichlet data jump by {jump:.3g} at the corner {_fmt(c)} where '{name_i}' "
                f"({v_i:.6g}) meets '{name_j}' ({v_j:.6g}): the lift's second derivatives grow "
                "like jump / r^2 there and no lift can bound them; make the data agree at the "
                "corner or give one of the parts as a soft condition", UserWarning, stacklevel=4)
            return
        n_i, n_j = _inward_normal(p, c), _inward_normal(q, c)
        det = float(n_i[0] * n_j[1] - n_i[1] * n_j[0])
        d = grad_j - grad_i
        if abs(det) < _COLLINEAR:
            slope = float(d[0] * n_i[1] - d[1] * n_i[0])  # tangential component of d
            if abs(slope) > _JUMP_TOL * max(1.0, float(grad_i.norm()), float(grad_j.norm())):
                warnings.warn(
                    f"hard Dirichlet parts '{name_i}' and '{name_j}' meet in a straight line at "
                    f"{_fmt(c)} with slopes differing by {slope:.3g}: the lift's second "
                    "derivatives grow like 1/r there", UserWarning, stacklevel=4)
            return
        # beta_i n_i - beta_j n_j = grad_j - grad_i (Cramer's rule on the 2x2 system).
        beta_i = float(d[0] * (-n_j[1]) - d[1] * (-n_j[0])) / -det
        beta_j = float(n_i[0] * d[1] - n_i[1] * d[0]) / -det
        for k, piece, beta in ((i, p, beta_i), (j, q, beta_j)):
            if beta != 0.0:
                self.bumps[k].append(_Bump(c, self._radius(pieces[k], piece, c, scale), beta,
                                           piece))

    @staticmethod
    def _warn_unmatched(where: str, parts, pairs: list[tuple[int, int]]) -> None:
        if not pairs:
            return
        names = ", ".join(f"'{parts[i][0]}' and '{parts[j][0]}'" for i, j in pairs)
        warnings.warn(
            f"hard Dirichlet parts with different data may meet ({names}): their extensions "
            f"are matched at corners of 2-D domains only, not on {where}, so where these parts "
            "meet the lift's second derivatives may grow like 1/r and limit interior accuracy; "
            "give all parts one value function, or make some of them soft conditions",
            UserWarning, stacklevel=4)

    def extension(self, i: int, x: Tensor) -> Tensor | None:
        if not self.bumps[i]:
            return None
        return _bump_sum(self.bumps[i], x)
