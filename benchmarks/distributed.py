"""Steps and points per second of PINN training against the number of ranks (torch.distributed).

    python benchmarks/distributed.py --ranks 1 2 --steps 50 --points 2000 [--device cuda]

Each rank count runs under torch.distributed.run (gloo on CPU, nccl on CUDA); every rank trains
on its own --points collocation points, so N ranks train on N x points per step. Rank 0 reports
the wall and process time of the Adam steps. Writes benchmarks/results/distributed.md/.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker(args) -> None:
    import torch
    import physolve as ps
    from physolve.train import distributed
    torch.set_num_threads(1)
    s = ps.PINN(width=32, depth=4, n_interior=args.points)
    trainer = ps.Trainer([f"adam:{args.steps}"], dtype="float32", seed=0, progress=False,
                         metrics_every=0, threads=None, device=args.device)
    w0, p0 = time.perf_counter(), time.process_time()
    trainer.fit(ps.problems.get("burgers")(hard=True), s)
    wall, cpu = time.perf_counter() - w0, time.process_time() - p0
    if distributed.is_main():
        n = distributed.world_size()
        Path(args.out).write_text(json.dumps({
            "ranks": n, "steps": args.steps, "points_per_rank": args.points,
            "wall_s": wall, "process_s_rank0": cpu, "steps_per_s": args.steps / wall,
            "points_per_s": args.steps * args.points * n / wall, "device": args.device}))
    distributed.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    rows = []
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for n in args.ranks:
        out = ROOT / "benchmarks" / "results" / f".distributed_{n}.json"
        subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                        f"--nproc_per_node={n}", __file__, "--worker", "--out", str(out),
                        "--steps", str(args.steps), "--points", str(args.points),
                        "--device", args.device], check=True, env=env)
        rows.append(json.loads(out.read_text()))
        out.unlink()
    tag = "" if args.device == "cpu" else f"_{args.device.split(':')[0]}"
    res = ROOT / "benchmarks" / "results"
    (res / f"distributed{tag}.json").write_text(json.dumps(rows, indent=2))
    lines = ["# Distributed PINN training: throughput against ranks", "",
             f"Command: `python benchmarks/distributed.py --ranks {' '.join(map(str, args.ranks))}"
             f" --steps {args.steps} --points {args.points} --device {args.device}`", "",
             "Burgers (hard conditions), PINN 4 x 32, float32, Adam; each rank has its own "
             f"{args.points} collocation points; one thread per rank.", "",
             "| ranks | steps/s | points/s | wall s | process s (rank 0) |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['ranks']} | {r['steps_per_s']:.2f} | {r['points_per_s']:.0f} | "
              f"{r['wall_s']:.1f} | {r['process_s_rank0']:.1f} |" for r in rows]
    (res / f"distributed{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
