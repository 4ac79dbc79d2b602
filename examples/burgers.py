"""Burgers' equation with a PINN: u_t + u u_x = (0.01/pi) u_xx on [-1, 1] x [0, 1].

Initial and boundary conditions are enforced exactly (hard constraints); Adam finds the basin,
then L-BFGS in float64 refines. The error is measured against the exact Cole-Hopf solution.
Both stages are bounded by steps only, never by time, so the figure printed is the same on a
busy machine as on a quiet one (only the time differs).

    make demo          # or: .venv/bin/python examples/burgers.py
"""
import argparse
import math

import torch

import physolve as ps
from physolve.geometry import Interval, TimeInterval

NU = 0.01 / math.pi


def burgers(f, nu=NU):
    u = f.u
    return u.t + u * u.x - nu * u.xx


def make_problem() -> ps.Problem:
    return ps.Problem(
        Interval(-1, 1) * TimeInterval(0, 1), burgers, inputs="x t", outputs="u",
        conditions=[
            ps.Initial(lambda x: -torch.sin(math.pi * x), hard=True),
            ps.Dirichlet(0.0, on="x", hard=True),          # both ends of the x interval
        ],
        reference=ps.reference.burgers_exact(NU),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adam", type=int, default=2000, help="Adam steps")
    parser.add_argument("--lbfgs", type=int, default=8000, help="L-BFGS iterations at most")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--threads", default="auto",
                        help="CPU threads: auto (one for a model this small) or a number")
    args = parser.parse_args(argv)

    solution = ps.solve(
        make_problem(),
        model=ps.PINN(width=32, depth=4, n_interior=8000),
        optim=[f"adam:{args.adam}:lr=1e-3",
               {"name": "lbfgs", "steps": args.lbfgs}],
        dtype="float64", device=args.device, seed=0, metrics_every=500,
        threads=args.threads if args.threads == "auto" else int(args.threads),
    )
    m = solution.metrics()
    print(f"Burgers PINN: relative L2 error {m['rel_l2']:.3e} against the exact solution "
          f"(max abs error {m['max_abs_err']:.3e}), {m['steps']} steps in {m['wall_time_s']:.0f} s")
    return m


if __name__ == "__main__":
    main()
