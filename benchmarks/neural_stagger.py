"""NeuralStagger vs one full-resolution network vs the classical spectral solver on 2D decaying
turbulence (64 x 64 periodic, nu = 1e-3), all learned solvers trained data-free on the residual
of the implicit-midpoint spectral scheme with the same process-time budget.

Writes benchmarks/results/neural_stagger.{json,md} and, as experiment stagger_ns2d, a run folder
(--out, default runs/stagger_ns2d) with metrics.json (rel_l2: NeuralStagger after 10 rollout
steps, rel_l2_full: the full-resolution network, speedup: full-network time per rollout over
NeuralStagger's), rollout_*.pvd time series and strip.png.

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
from physolve.pde.solvers import NavierStokes2D, relative_l2, spectral_resample

N, NU, DT, STEPS, AT = 64, 1e-3, 0.05, 50, (10, 50)


def classical(w0, n, substeps):
    """RK4 at resolution n with `substeps` steps per learned step DT: frames on the 64 grid,
    process seconds per learned step."""
    ns = NavierStokes2D(n, NU, dtype=torch.float32)
    start = time.process_time()
    frames = ns.rollout(spectral_resample(w0, n), DT, STEPS, substeps=substeps)
    per_step = (time.process_time() - start) / STEPS
    return spectral_resample(frames, N), per_step


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--budget", type=float, default=120.0, help="process seconds per network")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--stagger-width", type=int, default=None,
                   help="channels of each sub-grid network (default: --width)")
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--name", default="neural_stagger", help="results file name")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/stagger_ns2d")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    truth_ns = NavierStokes2D(N, NU, dtype=torch.float32)
    w0 = truth_ns.decaying_turbulence(seed=12345)          # test field, unseen in training
    truth = truth_ns.rollout(w0, DT, STEPS, substeps=8)    # RK4 at dt = DT / 8

    rows, preds = {}, {}
    for label, factors in (("full network (1,1,1)", (1, 1, 1)),
                           ("NeuralStagger (2,2,2)", (2, 2, 2))):
        width = args.width if factors[0] == 1 else (args.stagger_width or args.width)
        m = NeuralStagger(n=N, nu=NU, dt=DT, factors=factors, width=width,
                          depth=args.depth, batch=8)
        m.setup(seed=args.seed)
        while m.train_time_s < args.budget:
            m.train(25)
        pred = m.rollout(w0, STEPS)
        preds[label] = pred
        rows[label] = {"err10": relative_l2(pred[10], truth[10]),
                       "err50": relative_l2(pred[50], truth[50]),
                       "step_s": m.time_per_step(w0, STEPS), "train_s": m.train_time_s,
                       "train_steps": m.steps_done, "params": sum(q.numel() for q in m.parameters())}
        write_rollout_vtk(out, truth_ns, pred, DT, reference=truth,
                          name="rollout_" + ("stagger" if factors[0] > 1 else "full"))
        print(label, rows[label], flush=True)
    for n, sub in ((16, 1), (32, 1), (32, 2), (64, 1)):
        frames, per_step = classical(w0, n, sub)
        rows[f"classical RK4 {n}x{n}, dt={DT / sub:g}"] = {
            "err10": relative_l2(frames[10], truth[10]), "err50": relative_l2(frames[50], truth[50]),
            "step_s": per_step}
    plot_strip(out / "strip.png", preds, truth, (0, 10, 25, 50))
    full, stag = rows["full network (1,1,1)"], rows["NeuralStagger (2,2,2)"]
    metrics = {"rel_l2": stag["err10"], "rel_l2_full": full["err10"],
               "speedup": full["step_s"] / stag["step_s"],
               "rel_l2_50": stag["err50"], "rel_l2_full_50": full["err50"]}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))

    cmd = command_line("benchmarks/neural_stagger.py", argv)
    results = Results(args.name, Path(__file__).parent / "results")
    results.set("rows", rows)
    results.set("environment", environment("process", 1))
    results.set("command", cmd)
    results.set("budget_s", args.budget)
    lines = ["# NeuralStagger on 2D decaying turbulence (64 x 64, nu = 1e-3)", "",
             f"Learned step dt = {DT} (one fine step; NeuralStagger advances 2 per call), "
             f"{STEPS}-step rollout from an unseen seeded field; ground truth RK4 at dt = {DT / 8:g}"
             f" on 64 x 64. Networks: width {args.width} (full) / "
             f"{args.stagger_width or args.width} (each sub-grid network), depth {args.depth}, trained data-free on "
             f"the implicit-midpoint residual for {args.budget:g} process seconds each, 1 thread "
             "(float32). Times are process seconds per fine step of "
             f"{DT} (learned and classical alike).", "",
             "| solver | rel. L2 @10 | rel. L2 @50 | s / step | train steps | params |",
             "|---|---|---|---|---|---|"]
    for k, r in rows.items():
        lines.append(f"| {k} | {r['err10']:.3g} | {r['err50']:.3g} | {r['step_s']:.2e} | "
                     f"{r.get('train_steps', '-')} | {r.get('params', '-')} |")
    lines += ["", f"speedup (full network / NeuralStagger, per rollout): {metrics['speedup']:.2f}x",
              "", f"Command: `{cmd}`", ""]
    results.table.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
