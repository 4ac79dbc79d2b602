"""MgNO learns the Darcy solution operator a -> u on generated 64 x 64 data.

-div(a grad u) = 1 on the unit square, u = 0 on the boundary, a in {12, 3} from a thresholded
Gaussian random field. The first run generates 1000 + 100 samples with the finite-difference
solver (about 30 s) and caches them; later runs read the cache.

    .venv/bin/python examples/mgno_darcy.py --epochs 5      # a few minutes on 2 CPU cores
"""
import argparse

import torch

import physolve as ps
from physolve.models import MgNO


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--n-train", type=int, default=1000)
    # more threads pay off on a quiet machine only; on a busy one they slow every step down
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    family = ps.problems.get("darcy64")()
    solver = MgNO(channels=16, layers=4, n_train=args.n_train, batch_size=8)
    steps = args.epochs * args.n_train // 8
    stage = {"name": "adamw", "steps": steps, "lr": 1e-3, "weight_decay": 1e-4,
             "schedule": {"name": "onecycle", "div_factor": 10, "final_div_factor": 100}}
    solution = ps.Trainer([stage], metrics_every=max(1, steps // 5)).fit(family, solver)
    m = solution.metrics()
    print(f"test rel. L2 {m['rel_l2']:.4f}, rel. H1 {m['rel_h1']:.4f} after {m['steps']} steps "
          f"({m['wall_time_s']:.0f} s)")


if __name__ == "__main__":
    main()
