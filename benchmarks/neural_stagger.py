"""NeuralStagger vs one full-resolution network vs the classical spectral solver on 2D decaying
turbulence (64 x 64 periodic, nu = 1e-3), all learned solvers trained data-free on the residual
of the implicit-midpoint spectral scheme with the same process-time budget.

Each network is trained alone (the `neural_stagger` solver with baseline=False) through the
trainer for the same process-time budget; the full-resolution network is factors (1, 1, 1).
Writes benchmarks/results/<name>.{json,md} and, under --out, rollout_*.pvd time series and
strip.png. (`physolve train experiment=stagger_ns2d` trains NeuralStagger and the full network
side by side for the same steps and writes rel_l2, rel_l2_full and speedup to metrics.json.)

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/neural_stagger.py --budget 120
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from physolve.bench import Results
from physolve.bench.environment import command_line, environment
from physolve.models.neural_stagger import NeuralStagger, plot_strip, write_rollout_vtk
from physolve.pde.library import problems
from physolve.pde.solvers import NavierStokes2D, relative_l2, spectral_resample
from physolve.train.trainer import Trainer

N, NU, DT, STEPS, AT = 64, 1e-3, 0.05, 50, (10, 50)


def classical(w0, n, substeps):
    """RK4 at resolution n with `substeps` steps per learned step DT: frames on the 64 grid,
    process seconds per learned step."""
    ns = NavierStokes2D(n, NU, dtype=torch.float32)
    start = time.process_time()
    frames = ns.rollout(spectral_resample(w0, n), DT, STEPS, substeps=substeps)
    per_step = (time.process_time() - start) / STEPS
    return spectral_resample(frames, N), per_step


VARIANTS = {  # label -> factors, width, depth
    "full network (1,1,1) w16 d2": ((1, 1, 1), 16, 2),
    "NeuralStagger (2,2,2) w8 d2": ((2, 2, 2), 8, 2),
    "NeuralStagger (2,2,2) w4 d2": ((2, 2, 2), 4, 2),
    "NeuralStagger (2,2,2) w8 d1": ((2, 2, 2), 8, 1),
    "NeuralStagger (2,2,2) w4 d1": ((2, 2, 2), 4, 1),
    "full network (1,1,1) w8 d2": ((1, 1, 1), 8, 2),
}
DEFAULT = list(VARIANTS)[:4]


def train_variant(problem, factors, width, depth, budget, seed):
    """One learned stepper trained alone for `budget` process seconds (one thread)."""
    m = NeuralStagger(n=N, dt=DT, factors=factors, width=width, depth=depth, batch=8,
                      baseline=False, eval_steps=STEPS)
    stage = {"name": "adam", "steps": 10 ** 7, "lr": 2e-3, "time_limit": budget}
    solution = Trainer([stage], dtype="float32", seed=seed, metrics_every=0, threads=1,
                       clock="process", progress=False).fit(problem, m)
    return m, solution


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--budget", type=float, default=120.0, help="process seconds per network")
    p.add_argument("--variants", nargs="*", default=DEFAULT,
                   help=f"labels to run (speed-ups relative to the first full network): {list(VARIANTS)}")
    p.add_argument("--name", default="neural_stagger", help="results file name")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/stagger_ns2d_bench")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    problem = problems.get("navier_stokes2d_periodic")(nu=NU)
    truth_ns = NavierStokes2D(N, NU, dtype=torch.float32)
    rows, preds, w0, truth = {}, {}, None, None
    for label in args.variants:
        factors, width, depth = VARIANTS[label]
        m, solution = train_variant(problem, factors, width, depth, args.budget, args.seed)
        truth, w0 = m.truth(), m.initial_field()      # RK4 at DT / 8 from the unseen test field
        pred = m.rollout()
        preds[label] = pred
        rows[label] = {"err10": relative_l2(pred[10], truth[10]),
                       "err50": relative_l2(pred[50], truth[50]),
                       "step_s": m.model.time_per_step(w0, STEPS, repeat=5),
                       "train_s": solution.stages[0]["seconds"],
                       "train_steps": solution.stages[0]["steps"],
                       "params": sum(q.numel() for q in m.parameters())}
        write_rollout_vtk(out, truth_ns, pred, DT, reference=truth,
                          name="rollout_" + label.split()[0].lower() + f"_w{width}d{depth}")
        print(label, rows[label], flush=True)
    for n, sub in ((16, 1), (32, 1), (32, 2), (64, 1)):
        frames, per_step = classical(w0, n, sub)
        rows[f"classical RK4 {n}x{n}, dt={DT / sub:g}"] = {
            "err10": relative_l2(frames[10], truth[10]), "err50": relative_l2(frames[50], truth[50]),
            "step_s": per_step}
    plot_strip(out / "strip.png", preds, truth, (0, 10, 25, 50))
    full = next(r for k, r in rows.items() if k.startswith("full"))
    for r in rows.values():
        r["speedup"] = full["step_s"] / r["step_s"]

    cmd = command_line("benchmarks/neural_stagger.py", argv)
    results = Results(args.name, Path(__file__).parent / "results")
    results.set("rows", rows)
    results.set("environment", environment("process", 1))
    results.set("command", cmd)
    results.set("budget_s", args.budget)
    lines = ["# NeuralStagger on 2D decaying turbulence (64 x 64, nu = 1e-3)", "",
             f"Learned step dt = {DT} (one fine step; NeuralStagger advances 2 per call), "
             f"{STEPS}-step rollout from an unseen seeded field; ground truth RK4 at dt = {DT / 8:g}"
             f" on 64 x 64. Networks (w: channels of each network, d: residual blocks) trained "
             f"data-free on the implicit-midpoint residual for {args.budget:g} process seconds "
             "each (Adam, lr 2e-3, batch 8), 1 thread "
             "(float32). Times are process seconds per fine step of "
             f"{DT} (learned and classical alike).", "",
             "| solver | rel. L2 @10 | rel. L2 @50 | s / step | speed-up vs full network | "
             "train steps | params |", "|---|---|---|---|---|---|---|"]
    for k, r in rows.items():
        lines.append(f"| {k} | {r['err10']:.3g} | {r['err50']:.3g} | {r['step_s']:.2e} | "
                     f"{r['speedup']:.2f}x | {r.get('train_steps', '-')} | {r.get('params', '-')} |")
    lines += ["", f"Command: `{cmd}`", ""]
    results.table.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
