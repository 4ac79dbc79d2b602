"""The GP-HM spectral solver against a PINN at the same time budget, on the GP-HM cases.

For each case both solvers train until the budget is used (or their step budget ends); the
table reports the relative L2 error of the final iterate (not the best one seen) against the
exact solution, the steps and the time used. A second table gives the time and memory of one
GP objective evaluation with its gradient on the grids named by the issue (1D 400 nodes, 2D
200 x 200), each measured in a fresh process.

    python benchmarks/gp_vs_pinn.py                                  # the release setting
    python benchmarks/gp_vs_pinn.py --cases poisson1d_sin --budget-min 1 --solvers gp  # smoke

`--clock process` counts the process's CPU time instead of wall time, a conservative stand-in for a
quiet machine when the benchmark shares a busy one (CPU time of one thread <= wall time of
two). Results are kept in benchmarks/results/gp.json (rows of the older gp.jsonl are read the
first time), with the table gp.md and the error-against-time figure gp.png (physolve.bench); the
budget is kept by the trainer's clock and covers both PINN stages (the set-up before the
first step is not counted).
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
from pathlib import Path

import torch

import physolve as ps
from physolve.bench import Budget, Case, Results, command_line, run
from physolve.models import PINN, GPSpectral
from physolve.train.trainer import CLOCKS


# The GP trains the grid values themselves (the paper) on the linear cases, where that is
# faster than whitened values; on Allen-Cahn it drifts away (docs/gp_spectral.md).
VALUES = {"parametrization": "values"}
# case -> (problem arguments, GP arguments, PINN arguments, budget key).
# Dirichlet values are hard for the GP (fixed grid values) and by default for the PINN (an
# output transform; --pinn-bc soft: a penalty term at sampled boundary points).
CASES = {
    "poisson1d_sin": ({"k": 100.0}, {"grid": 400, **VALUES}, {"n_interior": 4000}, "1d"),
    "poisson1d_xsin": ({"k": 200.0}, {"grid": 800, **VALUES}, {"n_interior": 8000}, "1d"),
    "allen_cahn1d": ({}, {"grid": 400, "parametrization": "whitened"}, {"n_interior": 4000}, "1d"),
    "poisson2d_sin": ({"k": 100.0}, {"grid": 400, **VALUES},
                      {"n_interior": 20000, "n_boundary": 2000}, "2d"),
}
# GP: L-BFGS throughout (float64). PINN: Adam to find a basin, then L-BFGS (METHODS.md).
PINN_STAGES = ["adam:2000", "lbfgs:100000"]
SOLVERS = ("gp", "pinn")


def case(name: str, solver_name: str, args) -> Case:
    """One solver on one case, the budget covering all its stages."""
    pargs, gargs, nargs, dim = CASES[name]
    hard = solver_name == "gp" or args.pinn_bc == "hard"
    if solver_name == "gp":
        gargs = {**gargs, **json.loads(args.gp_args)}
        solver = lambda: GPSpectral(**gargs)  # noqa: E731
        label = f"GP-HM, grid {gargs['grid']}, {gargs['parametrization']}"
        stages = [f"lbfgs:{args.gp_steps}"]
    else:
        solver = lambda: PINN(width=args.pinn_width, depth=args.pinn_depth, **nargs)  # noqa: E731
        label = (f"PINN {args.pinn_depth}x{args.pinn_width} tanh, {nargs['n_interior']} points, "
                 f"{args.pinn_bc} BC")
        stages = PINN_STAGES
    minutes = args.budget_min if dim == "1d" else args.budget_min_2d
    return Case(f"{name}/{solver_name}", label=label,
                problem=lambda: ps.problems.get(name)(**pargs, hard=hard), solver=solver,
                stages=stages, budget=Budget(60 * minutes, args.clock),
                trainer={"dtype": "float64", "seed": args.seed, "threads": args.threads,
                         "metrics_every": args.metrics_every})


def run_case(name: str, solver_name: str, args) -> dict:
    c = case(name, solver_name, args)
    row = run(c)
    reason = row["reasons"][-1] if row.get("reasons") else row["status"]
    status = "budget used" if "for the fit reached" in reason else reason
    return {**row, "case": name, "solver": solver_name, "status": status,
            "budget": f"{c.budget.seconds / 60:g} min {args.clock}", "command": args.command}


def _cost_worker(case, grid, threads, queue):
    torch.set_num_threads(threads)
    pargs = CASES[case][0]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    solver = GPSpectral(**{**CASES[case][1], "grid": grid})
    solver.setup(ps.problems.get(case)(**pargs, hard=True))
    times = []
    for _ in range(5):
        t = time.process_time()
        total, _ = solver.loss()
        total.backward()
        times.append(time.process_time() - t)
    n = math.prod(solver.shape)
    queue.put({"case": case, "grid": "x".join(map(str, solver.shape)), "nodes": n,
               "s_per_eval": sorted(times)[2],
               "peak_rss_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024,
               "factors_mb": sum(m * m for m in solver.shape) * 8 / 2**20,
               "dense_k_mb": n * n * 8 / 2**20, "threads": threads})


def step_cost(case: str, grid: int, threads: int) -> dict:
    """CPU seconds of one objective evaluation with gradient (median of 5) and the growth of
    the peak resident memory, in a fresh process so that earlier runs do not hide it."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_cost_worker, args=(case, grid, threads, queue))
    proc.start()
    row = queue.get()
    proc.join()
    return row


def legacy(path: Path):
    """Rows appended to gp.jsonl, the older layout, kept under their line numbers."""
    def load() -> dict:
        jsonl = path.with_suffix(".jsonl")
        lines = jsonl.read_text().splitlines() if jsonl.exists() else []
        data: dict = {"runs": {}, "costs": {}}
        for i, line in enumerate(lines):
            r = json.loads(line)
            r.setdefault("command", f"python benchmarks/gp_vs_pinn.py {' '.join(r['argv'])}")
            data["runs" if "solver" in r else "costs"][f"jsonl:{i}"] = r
        return data
    return load


def render(data: dict) -> str:
    runs = list(data.get("runs", {}).values())
    costs = {r["grid"]: r for r in data.get("costs", {}).values()}
    rows = runs + list(data.get("costs", {}).values())
    lines = [
        "# GP-HM vs PINN on high-frequency and multi-scale cases",
        "",
        "Exact solutions on [0, 2 pi] (per axis): 1D Poisson sin(100 x) and x sin(200 x), 2D "
        "Poisson sin(100 x) sin(100 y), stationary 1D Allen-Cahn with u = sin(6 x) cos(100 x). "
        "Dirichlet values hard for the GP, hard or soft (a penalty) for the PINN as labelled. "
        "Both solvers in float64; GP-HM: 30 Matern-5/2 x cosine components per axis, grid "
        "values trained directly (values) or whitened as labelled, L-BFGS (a step cap, see the "
        "command); PINN: Adam (2000 steps, lr 1e-3) then L-BFGS. rel. L2 of the final iterate "
        "against the exact solution on a fine test grid.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, shared. The budget is per "
        "run, in wall or CPU time of the process (set-up included); the load average (1 min) "
        "at the start and end of each run shows how busy the machine was.",
        "",
        "| case | solver | rel. L2 | max abs err | budget | threads | steps | status | wall s "
        "| CPU s | load start / end |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for r in runs:
        lines.append(f"| {r['case']} | {r['label']} | {r['rel_l2']:.2e} | {r['max_abs_err']:.2e} "
                     f"| {r['budget']} | {r['threads']} | {r['steps']} | {r['status']} "
                     f"| {r['wall_s']:.0f} | {r['cpu_s']:.0f} "
                     f"| {r['load_start']:.1f} / {r['load_end']:.1f} |")
    if costs:
        lines += [
            "", "## Cost of one GP objective evaluation (value and gradient)", "",
            "CPU seconds (median of 5, after set-up) and growth of the process's peak resident "
            "memory, measured in a fresh process; the per-axis kernel matrices it stores and "
            "the dense covariance it never forms, for scale.", "",
            "| case | grid | nodes | CPU s / eval | peak RSS growth MB | per-axis K MB "
            "| dense K would be MB | threads |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in costs.values():
            lines.append(f"| {r['case']} | {r['grid']} | {r['nodes']} | {r['s_per_eval']:.3f} "
                         f"| {r['peak_rss_mb']:.0f} | {r['factors_mb']:.2f} "
                         f"| {r['dense_k_mb']:,.0f} | {r['threads']} |")
    lines += ["", "Commands (one per row or group of rows):", "", "```"]
    lines += sorted({r["command"] for r in rows})
    lines += ["```", ""]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget-min", type=float, default=10.0, help="budget per 1D run")
    ap.add_argument("--budget-min-2d", type=float, default=20.0, help="budget per 2D run")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--solvers", default="gp,pinn")
    ap.add_argument("--costs", action="store_true",
                    help="measure the cost per evaluation (1D 400, 2D 200 x 200, 2D 400 x 400)")
    ap.add_argument("--gp-steps", type=int, default=3000,
                    help="L-BFGS steps of the GP (it ends earlier if the budget is used)")
    ap.add_argument("--gp-args", default="{}",
                    help='more GPSpectral arguments as JSON, e.g. \'{"init": "spread"}\'')
    ap.add_argument("--pinn-bc", choices=("hard", "soft"), default="hard",
                    help="the PINN's Dirichlet values: output transform or penalty term")
    ap.add_argument("--pinn-width", type=int, default=50)
    ap.add_argument("--pinn-depth", type=int, default=4)
    ap.add_argument("--metrics-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/results/gp.md")
    args = ap.parse_args(argv)
    args.command = command_line("benchmarks/gp_vs_pinn.py", argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    results = Results(out.stem, out.parent, legacy=legacy(out))

    def record(section, key, row):
        print(json.dumps({k: v for k, v in row.items() if k != "trace"}), file=sys.stderr,
              flush=True)
        results.add(section, key, row=row)
        results.write(render, sections=lambda data: {
            "GP-HM vs PINN": {f"{r['case']}: {r['label']}": r
                              for r in data.get("runs", {}).values()}})

    if args.costs:
        for name, grid in [("poisson1d_sin", 400), ("poisson2d_sin", 200),
                           ("poisson2d_sin", 400)]:
            row = {**step_cost(name, grid, args.threads), "command": args.command}
            record("costs", f"{name}/{row['grid']}", row)
        return
    for name in args.cases.split(","):
        if name not in CASES:
            raise SystemExit(f"unknown case {name!r}; choose from {', '.join(CASES)}")
        for solver_name in args.solvers.split(","):
            if solver_name not in SOLVERS:
                raise SystemExit(f"unknown solver {solver_name!r}; choose from "
                                 f"{', '.join(SOLVERS)}")
            row = run_case(name, solver_name, args)
            record("runs", f"{name}/{row['label']}/{row['budget']}", row)


if __name__ == "__main__":
    main()
