"""MgNO: neural operators whose linear maps between channels are multigrid V-cycles
(He, Liu & Xu, ICLR 2024).

A layer is u <- act(W_mg u + W_1x1 u + b): W_mg is a V-cycle built from learned convolutions,
W_1x1 a pointwise channel map with the bias b. The V-cycle mapping f (c_in channels) to u (c_out
channels) on levels l = 0 (finest) .. L-1 is

    level 0:  u_0 = S f_0, then nu_0 - 1 smoothing steps  u <- u + S (f - A u)
    level l:  f_l = R f_{l-1},  u_l = Pi u_{l-1}  (3x3 convolutions of stride 2), then nu_l
              smoothing steps
    upwards:  u_l <- u_l + P u_{l+1}  (transposed convolution of stride 2)

with every S, A, R, Pi a bias-free 3x3 convolution (S: f -> u channels, A: u -> f channels).
There is no lifting layer; a final pointwise map takes the channels to the outputs.

Boundary conditions enter through the padding of every convolution: "zeros" makes each one see
zero values on the ring of nodes just outside the grid -- the homogeneous Dirichlet ghost ring
of physolve's grid convention, the same one the grid derivative backend uses -- and "circular"
makes them periodic. The prolongation pads its coarse input the same way before its transposed
convolution, so a circular network commutes with periodic shifts by multiples of 2^(levels-1)
nodes on grids whose sizes that number divides. Odd and even grid sizes both work: a stride-2
convolution takes n nodes to ceil(n / 2), and the prolongation's 4x4 kernel covers both the
cell-centred (even n) and the vertex-centred (odd n) interpolation stencils; its output is
cropped to the finer grid's size.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .base import solvers
from .operator import OperatorSolver

PADDING_MODES = ("zeros", "circular")
ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU}


def _conv3(c_in: int, c_out: int, padding_mode: str, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False,
                     padding_mode=padding_mode)


class Prolongation(nn.Module):
    """Transposed 4x4 convolution of stride 2 from a coarse grid to a finer one of given size."""

    def __init__(self, channels: int, padding_mode: str):
        super().__init__()
        self.padding_mode = padding_mode
        self.up = nn.ConvTranspose2d(channels, channels, 4, stride=2, bias=False)

    def forward(self, coarse: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        mode = "circular" if self.padding_mode == "circular" else "constant"
        # Coarse node i sits on fine node 2i; padding by one coarse node and cropping 3 fine
        # nodes aligns the kernel taps at fine offsets -1..2 around 2i on both kinds of grid.
        out = self.up(F.pad(coarse, (1, 1, 1, 1), mode=mode))
        return out[..., 3:3 + size[0], 3:3 + size[1]]


class VCycle(nn.Module):
    """The multigrid linear operator W_mg from c_in to c_out channels (see the module doc).

    smoothing: smoothing steps per level, finest first; its length is the number of levels.
    """

    def __init__(self, c_in: int, c_out: int, smoothing: Sequence[int],
                 padding_mode: str = "zeros"):
        super().__init__()
        if not smoothing or any(not isinstance(s, int) or s < 1 for s in smoothing):
            raise ValueError(f"VCycle: smoothing must list integers >= 1 per level, "
                             f"got {smoothing!r}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"VCycle: padding_mode must be one of {PADDING_MODES}, "
                             f"got {padding_mode!r}")
        self.smoothing = list(smoothing)
        self.S = nn.ModuleList([nn.ModuleList([_conv3(c_in, c_out, padding_mode) for _ in range(s)])
                                for s in smoothing])
        # level 0 starts from u = 0, so its first step needs no A
        self.A = nn.ModuleList([nn.ModuleList([_conv3(c_out, c_in, padding_mode)
                                               for _ in range(s - (level == 0))])
                                for level, s in enumerate(smoothing)])
        self.R = nn.ModuleList([_conv3(c_in, c_in, padding_mode, stride=2) for _ in smoothing[1:]])
        self.Pi = nn.ModuleList([_conv3(c_out, c_out, padding_mode, stride=2)
                                 for _ in smoothing[1:]])
        self.P = nn.ModuleList([Prolongation(c_out, padding_mode) for _ in smoothing[1:]])

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        us = []
        u = None
        for level in range(len(self.smoothing)):
            if level > 0:
                f, u = self.R[level - 1](f), self.Pi[level - 1](u)
            S, A = self.S[level], self.A[level]
            if level == 0:
                u = S[0](f)
                S = S[1:]
            for smooth, residual in zip(S, A):
                u = u + smooth(f - residual(u))
            us.append(u)
        for level in range(len(us) - 2, -1, -1):
            us[level] = us[level] + self.P[level](us[level + 1], us[level].shape[-2:])
        return us[0]


class MgNONet(nn.Module):
    """Layers u <- act(W_mg u + W_1x1 u + b), then a pointwise map to `out_channels`."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, channels: int = 24,
                 layers: int = 5, smoothing: Sequence[int] = (1, 1, 1, 2, 2),
                 padding_mode: str = "zeros", activation: str = "gelu"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"MgNO: activation must be one of {sorted(ACTIVATIONS)}, "
                             f"got {activation!r}")
        for key, val in {"in_channels": in_channels, "out_channels": out_channels,
                         "channels": channels, "layers": layers}.items():
            if not isinstance(val, int) or val < 1:
                raise ValueError(f"MgNO: {key} must be an integer >= 1, got {val!r}")
        widths = [in_channels] + [channels] * layers
        self.cycles = nn.ModuleList([VCycle(a, b, list(smoothing), padding_mode)
                                     for a, b in zip(widths, widths[1:])])
        self.pointwise = nn.ModuleList([nn.Conv2d(a, b, 1) for a, b in zip(widths, widths[1:])])
        self.act = ACTIVATIONS[activation]()
        self.head = nn.Conv2d(channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for cycle, pointwise in zip(self.cycles, self.pointwise):
            x = self.act(cycle(x) + pointwise(x))
        return self.head(x)


@solvers.register("mgno")
class MgNO(OperatorSolver):
    """The MgNO solver: an `MgNONet` trained on a problem family (see OperatorSolver for the
    data, loss and batching options).

    channels, layers, smoothing, activation: the network (authors' Darcy setting: 24 channels,
        5 layers, smoothing (1, 1, 1, 2, 2) on 5 levels, GELU).
    padding_mode: "zeros" or "circular"; default from the family's boundary: zeros when every
        axis is Dirichlet, circular when every axis is periodic.
    """

    name = "mgno"

    def __init__(self, channels: int = 24, layers: int = 5,
                 smoothing: Sequence[int] = (1, 1, 1, 2, 2), padding_mode: str | None = None,
                 activation: str = "gelu", **options):
        super().__init__(**options)
        if padding_mode is not None and padding_mode not in PADDING_MODES:
            raise ValueError(f"mgno: padding_mode must be one of {PADDING_MODES} or None, "
                             f"got {padding_mode!r}")
        self.channels, self.layers, self.smoothing = channels, layers, list(smoothing)
        self.padding_mode, self.activation = padding_mode, activation

    def boundary_padding(self, problem) -> str:
        if self.padding_mode is not None:
            return self.padding_mode
        kinds = set(problem.boundary.get(n, "one_sided") for n in problem.spatial)
        if kinds == {"dirichlet"}:
            return "zeros"
        if kinds == {"periodic"}:
            return "circular"
        raise ValueError(f"mgno: the family's boundary {problem.boundary} is neither all "
                         "Dirichlet nor all periodic; choose padding_mode='zeros' or 'circular'")

    def build_network(self, in_channels, out_channels):
        if self.network is not None:
            return self.network
        return MgNONet(in_channels, out_channels, self.channels, self.layers, self.smoothing,
                       self.boundary_padding(self.problem), self.activation)
