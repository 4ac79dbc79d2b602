"""Dense quasi-Newton methods for small networks: BFGS and the self-scaled Broyden family.

The inverse Hessian approximation H (n x n, n = number of parameters) is kept in full, so every
curvature pair ever seen shapes the step, unlike L-BFGS's last m pairs. For PINNs of a few
thousand parameters this is affordable and reaches far lower losses (Urban, Stefanou & Pons
2024; Kiyani et al. 2025).

With s = x+ - x, y = g+ - g, rho = 1 / y's and Hy = H y, the self-scaled Broyden update is
    H+ = (H - Hy Hy' / y'Hy + phi (y'Hy) v v') / tau + rho s s',   v = rho s - Hy / y'Hy,
where phi selects the member of the Broyden class (phi = 1: BFGS, phi = 0: DFP) and tau scales
H before the update (tau = 1: no scaling). The parameters follow Al-Baali's self-scaling rules
(Al-Baali 1998; Al-Baali & Khalfan 2005; as used by Urban et al.), with
    b = s'B s / s'y = -t s'g / s'y   (B = H^-1, t the step length, g the old gradient),
    h = y'Hy / s'y,   a = b h - 1 >= 0  (Cauchy-Schwarz).
- ssbroyden: the Broyden parameter theta (in the Hessian form; phi = (1 - theta)/(1 + a theta))
    theta = max(theta-, min(theta+, (1 - b)/b)),  theta- = (rho- - 1)/a,  theta+ = 1/rho-,
    rho- = min(1, h (1 - c)),  c = sqrt(a / (1 + a)),
  and tau = h / (1 + a theta) on the first update, afterwards with sigma = 1 + theta a and
  rho_k = min(1, 1/b):  tau = min(rho_k sigma^(1/(1-n)), sigma) if theta <= 0, else
  tau = rho_k min(sigma^(1/(1-n)), 1/theta).
- ssbfgs: theta = 0 (phi = 1) with the same tau (so tau = h first, then min(1, 1/b)).
- bfgs: theta = 0, tau = 1, and H0 scaled by s'y / y'y before the first update
  (Nocedal & Wright eq. 6.20).
A pair with s'y <= 1e-10 |y|^2 (no positive curvature) is skipped so H stays positive definite.

Memory: one n x n matrix of the parameters' dtype (8 n^2 bytes in float64) plus O(n) vectors;
each step costs O(n^2) besides the loss evaluations. `max_memory` (bytes, default 2 GiB) is
checked before allocating: 2 GiB holds n up to about 16,000 parameters in float64.
"""
from __future__ import annotations

import math

import torch

from .flat import check_memory
from .quasi_newton import QuasiNewton

METHODS = ("bfgs", "ssbfgs", "ssbroyden")
DEFAULT_MAX_MEMORY = 2 * 2**30


class DenseQuasiNewton(QuasiNewton):
    """BFGS, self-scaled BFGS or self-scaled Broyden with a dense inverse Hessian.

    Parameters
    ----------
    method: "bfgs", "ssbfgs" or "ssbroyden" (see the module docstring for the formulas).
    max_memory: bytes the n x n matrix may take; larger networks are refused.
    lr, c1, c2, tolerance_grad, tolerance_change, max_ls, approx_wolfe: as for LBFGS.
    """

    def __init__(self, params, method: str = "ssbroyden", lr: float = 1.0, c1: float = 1e-4,
                 c2: float = 0.9, tolerance_grad: float = 0.0, tolerance_change: float = 0.0,
                 max_ls: int = 25, approx_wolfe: float = 1e-10,
                 max_memory: float = DEFAULT_MAX_MEMORY):
        if method not in METHODS:
            raise ValueError(f"unknown dense quasi-Newton method {method!r}; choose one of: "
                             f"{', '.join(METHODS)}")
        super().__init__(params, lr=lr, c1=c1, c2=c2, tolerance_grad=tolerance_grad,
                         tolerance_change=tolerance_change, max_ls=max_ls,
                         approx_wolfe=approx_wolfe, method=method)
        n = self.numel
        p0 = self._params[0]
        check_memory(method, n, n * n * p0.element_size(), max_memory)
        state = self._flat_state()
        if "H" not in state:
            state["H"] = torch.eye(n, dtype=p0.dtype, device=p0.device)
            state["updates"] = 0
        self.method = method

    def _has_curvature(self) -> bool:
        return self._flat_state()["updates"] > 0

    def _reset(self) -> None:
        state = self._flat_state()
        H = state["H"]
        H.zero_()
        H.diagonal().fill_(1.0)
        state["updates"] = 0

    def _direction(self, g: torch.Tensor) -> torch.Tensor:
        return -(self._flat_state()["H"] @ g)

    def _update(self, s, y, g, t) -> None:
        state = self._flat_state()
        H = state["H"]
        sy = float(s @ y)
        yy = float(y @ y)
        if not (sy > 1e-10 * yy and math.isfinite(sy)):
            return
        rho = 1.0 / sy
        first = state["updates"] == 0
        if first and self.method == "bfgs":
            H.mul_(sy / yy)
        Hy = H @ y
        yHy = float(y @ Hy)
        if not yHy > 0:
            return
        phi, tau = self._scaling(rho, yHy, float(s @ g), t, first, s.numel())
        if not (math.isfinite(phi) and math.isfinite(tau) and tau > 0):
            return
        v = s * rho - Hy / yHy
        H.addr_(Hy, Hy, alpha=-1.0 / yHy)
        if phi != 0:
            H.addr_(v, v, alpha=phi * yHy)
        if tau != 1:
            H.div_(tau)
        H.addr_(s, s, alpha=rho)
        state["updates"] += 1

    def _scaling(self, rho, yHy, sg, t, first, n) -> tuple[float, float]:
        """(phi, tau) of the update; see the module docstring."""
        if self.method == "bfgs":
            return 1.0, 1.0
        b = -t * sg * rho
        h = yHy * rho
        a = max(b * h - 1.0, 0.0)
        theta = 0.0
        if self.method == "ssbroyden" and a > 1e-12:
            c = math.sqrt(a / (1 + a))
            rho_minus = min(1.0, h * (1 - c))
            theta_minus = (rho_minus - 1) / a
            theta_plus = 1 / rho_minus if rho_minus > 0 else math.inf
            theta = max(theta_minus, min(theta_plus, (1 - b) / b))
        sigma = 1 + theta * a
        if first:
            tau = h / sigma
        else:
            rho_k = min(1.0, 1.0 / b)
            sigma_root = abs(sigma) ** (1.0 / (1.0 - n))
            tau = min(rho_k * sigma_root, sigma) if theta <= 0 else \
                rho_k * min(sigma_root, 1.0 / theta)
        phi = (1 - theta) / sigma
        return phi, tau
