"""MgNO against FNO (the `neuraloperator` package) on generated 64 x 64 Darcy data.

Both models are trained by the same solver class (physolve.models.operator.OperatorSolver: same
data, normalisation, H1 loss, batch size, Adam with weight decay and a OneCycle schedule), with the
FNO's width chosen so that its parameter count matches MgNO's. Each gets the same training-time
budget: the number of steps is set from the measured time of a few warm-up steps so that the
OneCycle schedule completes within the budget. The table reports the held-out relative L2 and H1
errors (mean over the test samples), parameters, steps, epochs and the time actually used.

    python benchmarks/mgno_vs_fno.py --budget-min 45 --threads 2        # the release setting
    python benchmarks/mgno_vs_fno.py --budget-min 2 --n-train 100 --models mgno   # a smoke run

`--clock process` counts the process's CPU time instead of wall time, a conservative stand-in for a
quiet machine when the benchmark shares a busy one (CPU time of one thread <= wall time of two).
Needs the `bench` extra (`pip install -e .[bench]`) for FNO. Results are kept in
benchmarks/results/mgno.json (rows of the older mgno.jsonl are read the first time), with the
table mgno.md and the error-against-time figure mgno.png (physolve.bench).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import torch

import physolve as ps
from physolve.bench import Budget, Case, Results, command_line, run
from physolve.models import MgNO, MgNONet
from physolve.models.operator import OperatorSolver
from physolve.train.trainer import CLOCKS


def parameter_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def fno_matching(target: int, modes: int, layers: int):
    """The FNO of `neuraloperator` with `modes` x `modes` Fourier modes whose width brings its
    parameter count closest to `target`."""
    from neuralop.models import FNO

    def build(width):
        return FNO(n_modes=(modes, modes), in_channels=1, out_channels=1, hidden_channels=width,
                   n_layers=layers)

    width = min(range(4, 129), key=lambda w: abs(parameter_count(build(w)) - target))
    return build(width), width


def seconds_per_step(solver, clock, steps=6) -> float:
    """Time of one training step (forward, loss, backward) on a training batch; no update."""
    x, y = solver.x_train[:solver.batch_size], solver.y_train[:solver.batch_size]
    times = []
    for _ in range(steps):
        t = clock()
        solver.relative_errors(solver.forward(x), y, solver.loss_kind).mean().backward()
        times.append(clock() - t)
    for p in solver.parameters():
        p.grad = None
    return sorted(times)[len(times) // 2]


def case(label, solver, family, args) -> Case:
    """`solver` (set up here to time its steps) with as many OneCycle steps as the budget
    holds; the trainer's clock stops it at 1.05 x the budget if the estimate was short."""
    clock = CLOCKS[args.clock]
    solver.setup(family, dtype=torch.float32, device=args.device, seed=args.seed)
    per_step = seconds_per_step(solver, clock)
    # 3 % is kept for the metric evaluations on the test set
    steps = max(1, int(0.97 * args.budget_min * 60 / per_step))
    stage = {"name": "adamw", "steps": steps, "lr": args.lr, "weight_decay": 1e-4,
             "schedule": {"name": "onecycle", "pct_start": 0.3, "div_factor": 10,
                          "final_div_factor": 100}}
    # setup is repeated by the trainer (same seed: same initial network); the data comes from
    # the cache
    return Case(label, label=label, problem=lambda: family, solver=lambda: solver,
                stages=[stage], budget=Budget(args.budget_min * 60 * 1.05, args.clock),
                trainer={"metrics_every": max(1, steps // 20), "seed": args.seed,
                         "device": args.device, "threads": args.threads})


def run_case(label, solver, family, args) -> dict:
    c = case(label, solver, family, args)
    planned = c.stages[0]["steps"]
    row = run(c)
    stopped = "for the fit reached" in row["reasons"][-1]
    return {**row, "model": label, "params": parameter_count(solver.net),
            "budget": f"{args.budget_min:g} min {args.clock}", "planned_steps": planned,
            "epochs": row["steps"] * solver.batch_size / solver.n_train,
            "status": "stopped at budget" if stopped else "completed", "command": args.command}


def legacy(path: Path):
    """Rows appended to mgno.jsonl, the older layout, kept under their line numbers."""
    def load() -> dict:
        jsonl = path.with_suffix(".jsonl")
        lines = jsonl.read_text().splitlines() if jsonl.exists() else []
        runs = {}
        for i, line in enumerate(lines):
            r = json.loads(line)
            # the clock once named "cpu" is "process" now: the command must still run
            argv = ["process" if a == "cpu" else a for a in r["argv"]]
            r.setdefault("command", f"python benchmarks/mgno_vs_fno.py {' '.join(argv)}")
            runs[f"jsonl:{i}"] = r
        return {"runs": runs}
    return load


def render(data: dict, args) -> str:
    """The markdown table of every run recorded."""
    rows = list(data.get("runs", {}).values())
    lines = [
        "# MgNO vs FNO on 64 x 64 Darcy",
        "",
        f"Data: `darcy64` family (thresholded GRF coefficient 12 / 3, f = 1, u = 0 on the "
        f"boundary), {args.n_train} train / {args.n_test} test samples, finite-difference "
        "reference solutions generated in the project. Same solver class, H1 loss, batch "
        f"{args.batch_size}, AdamW (weight decay 1e-4), OneCycle with max lr {args.lr}, float32.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores. The budget is per model, in "
        "wall or CPU time of the process; the load average (1 min) at the start and end of "
        "each run shows how busy the shared machine was.",
        "",
        "| model | params | test rel. L2 | test rel. H1 | budget | threads | steps | epochs "
        "| wall s | CPU s | load start / end |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        lines.append(f"| {r['model']} | {r['params']:,} | {r['rel_l2']:.4f} | {r['rel_h1']:.4f} "
                     f"| {r['budget']} | {r['threads']} | {r['steps']} | {r['epochs']:.1f} "
                     f"| {r['wall_s']:.0f} | {r['cpu_s']:.0f} "
                     f"| {r['load_start']:.1f} / {r['load_end']:.1f} |")
    lines += ["", "Commands (one per row):", "", "```"]
    lines += [r["command"] for r in rows]
    lines += ["```", ""]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget-min", type=float, default=45.0, help="training budget per model")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="mgno,fno")
    ap.add_argument("--n-train", type=int, default=1000)
    ap.add_argument("--n-test", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--channels", type=int, default=16, help="MgNO channels")
    ap.add_argument("--layers", type=int, default=4, help="MgNO layers")
    ap.add_argument("--smoothing", default="1,1,1,2,2", help="MgNO smoothing steps per level")
    ap.add_argument("--fno-modes", type=int, default=12)
    ap.add_argument("--fno-layers", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--out", default="benchmarks/results/mgno.md")
    args = ap.parse_args(argv)
    args.command = command_line("benchmarks/mgno_vs_fno.py", argv)
    torch.set_num_threads(args.threads)

    family = ps.problems.get("darcy64")()
    family.dataset(args.n_train, args.n_test, 0, cache_dir=args.cache_dir)  # generate once
    options = dict(n_train=args.n_train, n_test=args.n_test, batch_size=args.batch_size,
                   cache_dir=args.cache_dir, loss="h1", progress=False)
    smoothing = [int(s) for s in args.smoothing.split(",")]
    mgno = MgNO(channels=args.channels, layers=args.layers, smoothing=smoothing, **options)
    target = parameter_count(MgNONet(1, 1, args.channels, args.layers, smoothing))
    out = Path(args.out)
    results = Results(out.stem, out.parent, legacy=legacy(out))
    log = sys.stderr
    for name in args.models.split(","):
        if name == "mgno":
            solver, label = mgno, (f"MgNO ({args.channels} ch, {args.layers} layers, smoothing "
                                   f"{args.smoothing})")
        elif name == "fno":
            net, width = fno_matching(target, args.fno_modes, args.fno_layers)
            solver = OperatorSolver(network=net, **options)
            label = f"FNO ({args.fno_modes} modes, width {width}, {args.fno_layers} layers)"
        else:
            raise SystemExit(f"unknown model {name!r}; choose from mgno, fno")
        print(f"== {label}", file=log, flush=True)
        row = run_case(label, solver, family, args)
        print(json.dumps({k: v for k, v in row.items() if k != "trace"}), file=log, flush=True)
        results.add("runs", f"{label}/{row['budget']}", row=row)
        results.write(lambda data: render(data, args), ylabel="test rel. L2 error",
                      sections=lambda data: {"Darcy 64 x 64": {
                          f"{r['model']}, {r['budget']}": r for r in data["runs"].values()}})


if __name__ == "__main__":
    main()
