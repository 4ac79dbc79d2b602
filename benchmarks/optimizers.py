"""Every registered optimizer on the same PINNs: Burgers 1D, convection (beta = 30), Helmholtz 2D.

Per problem the network, the collocation points and the initial parameters are the same for
every optimizer. Each optimizer runs alone from that initialisation for `--budget` seconds; a
first-order method first gets a small learning-rate sweep (each value for `--sweep-fraction`
of the budget) and is then run at its best value. The default second-order schedule
(Adam 1000 steps, then SSBroyden) runs as one more row. Reported: final rel. L2 error, time, and
the time at which the error first fell below 1e-3.

The clock is the process's CPU time by default (`--clock process`, one thread): on a shared
machine that is what the run costs, and on a quiet machine it equals the wall time.

    .venv/bin/python benchmarks/optimizers.py --budget 120           # all problems, all optimizers
    .venv/bin/python benchmarks/optimizers.py --problems burgers --optimizers adam ssbroyden
    .venv/bin/python benchmarks/optimizers.py --report-only          # table and plot from JSON

Writes benchmarks/results/optimizers.json (every run, with its error trace, command, clock,
threads and load; results of the older layout, optimizers_<problem>.json, are read the first
time), optimizers.md (the table of all problems) and optimizers.png (error versus time), through
physolve.bench. Problems can run in separate processes (one --problems each) and be reported
together. The budget is kept by the trainer's clock and covers all of a run's stages.
"""
from __future__ import annotations

import argparse
import json
import math
import warnings
from pathlib import Path

import torch

import physolve as ps
from physolve.bench import Budget, Case, Results, command_line, run
from physolve.optim import optimizers
from physolve.pde.library import problems

RESULTS = Path(__file__).resolve().parent / "results"

# The same network and points for every optimizer, per problem.
PROBLEMS = {
    "burgers": {"problem": {"hard": True},
                "model": {"width": 20, "depth": 3, "n_interior": 8000}},
    "convection": {"problem": {"beta": 30.0},
                   "model": {"width": 30, "depth": 3, "n_interior": 4000, "n_boundary": 200}},
    "helmholtz2d": {"problem": {"a1": 1.0, "a2": 4.0, "k": 1.0},
                    "model": {"width": 30, "depth": 3, "n_interior": 4000, "n_boundary": 400}},
}

# Learning rates tried for first-order methods (a small sweep around each method's scale).
SWEEP = {"lion": [1e-4, 1e-3], "adahessian": [0.1, 0.01], "sophia": [0.1, 1.0],
         "adagrad": [1e-2, 1e-1], "adadagrad": [1e-2, 1e-1], "sgd": [1e-3, 1e-2],
         "sgdsai": [1e-2, 1e-3]}
DEFAULT_SWEEP = [1e-3, 3e-3]
SCHEDULE = {"adam+ssbroyden": [{"name": "adam", "steps": 1000, "lr": 1e-3},
                               {"name": "ssbroyden", "steps": 10 ** 6}]}
TARGET = 1e-3
# The timed targets for the default second-order schedule: (seconds, rel. L2 goal).
TARGETS = {"burgers": (900.0, 1e-4), "convection": (1200.0, 1e-2), "helmholtz2d": (600.0, None)}


def case(problem_name: str, stages: list[dict], budget: float, clock: str, seed: int = 0,
         threads: int = 1) -> Case:
    """One optimizer (or schedule) on one problem; the budget covers all its stages."""
    setup = PROBLEMS[problem_name]
    closure = any(optimizers.get(s["name"]).closure for s in stages)
    return Case(f"{problem_name}/{stages[-1]['name']}",
                problem=lambda: problems.get(problem_name)(**setup["problem"]),
                solver=lambda: ps.PINN(**setup["model"]), stages=stages,
                budget=Budget(budget, clock), trainer={
                    "dtype": "float64", "seed": seed, "threads": threads,
                    "metrics_every": 10 if closure else 100})


def train(problem_name, stages, budget, args) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = run(case(problem_name, stages, budget, args.clock, threads=args.threads))
    return {**row, "command": args.command}


def trace(result: dict) -> list:
    return result.get("trace", result.get("history", []))  # "history": the older layout


def summary(result: dict) -> dict:
    curve = trace(result)
    final = curve[-1] if curve else (math.nan, math.nan)
    reach = next((t for t, e in curve if e <= TARGET), None)
    best = min((e for _, e in curve), default=math.nan)
    return {"rel_l2": final[1], "time": final[0], "best": best, "t_1e-3": reach}


def legacy(prefix: str, args):
    """Results kept one JSON file per problem (<prefix>_<problem>.json), the older layout."""
    def load() -> dict:
        out = {}
        for problem_name in PROBLEMS:
            path = args.results / f"{prefix}_{problem_name}.json"
            if path.exists():
                out[problem_name] = json.loads(path.read_text())
        return out
    return load


def benchmark(args, results: Results) -> None:
    results.load()
    first = [*SCHEDULE, "ssbroyden", "ssbfgs", "bfgs", "lbfgs", "adam"]  # most telling first
    names = args.optimizers or first + [n for n in optimizers.names() if n not in first]
    for problem_name in args.problems:
        for name in names:
            if name in results.data.get(problem_name, {}) and not args.rerun:
                continue
            if name in SCHEDULE:
                row = train(problem_name, SCHEDULE[name], args.budget, args)
            elif name == "lm" and not args.with_lm:
                row = {"status": "skipped: Jacobian by forward mode costs about 3 "
                                 "backward passes per parameter (run with --with-lm)",
                       "trace": [], "stages": []}
            elif optimizers.get(name).closure:
                row = train(problem_name, [{"name": name, "steps": 10 ** 6}], args.budget, args)
            elif args.sweep_fraction <= 0:  # no sweep: the first value of the list
                lr = SWEEP.get(name, DEFAULT_SWEEP)[0]
                row = train(problem_name, [{"name": name, "steps": 10 ** 7, "lr": lr}],
                            args.budget, args)
            else:
                trials = {}
                for lr in SWEEP.get(name, DEFAULT_SWEEP):
                    r = train(problem_name, [{"name": name, "steps": 10 ** 7, "lr": lr}],
                              args.budget * args.sweep_fraction, args)
                    trials[lr] = summary(r)["rel_l2"]
                best = min(trials, key=lambda k: trials[k] if math.isfinite(trials[k]) else 1e9)
                row = train(problem_name, [{"name": name, "steps": 10 ** 7, "lr": best}],
                            args.budget, args)
                row["sweep"] = trials
            results.add(problem_name, name, row=row)
            s = summary(row)
            print(f"{problem_name:12s} {name:16s} rel_l2 {s['rel_l2']:.3e} at {s['time']:.0f} s, "
                  f"1e-3 at {s['t_1e-3']} ({row['status']})", flush=True)


def targets(args) -> None:
    """The default schedule per problem for `--target-scale` times the target time; the table
    covers every problem with a result in the results folder."""
    results = Results("targets", args.results, legacy=legacy("targets", args))
    for problem_name in args.targets:
        seconds, _ = TARGETS[problem_name]
        if problem_name not in results.load() or args.rerun:
            r = train(problem_name, SCHEDULE["adam+ssbroyden"], seconds * args.target_scale, args)
            r.update(scale=args.target_scale, clock=args.clock)
            results.set(problem_name, r)

    def render(data: dict) -> str:
        lines = ["# Timed targets: Adam 1000 steps, then SSBroyden (float64, one thread)\n",
                 "Regenerate one row: `.venv/bin/python benchmarks/optimizers.py --targets "
                 "PROBLEM --target-scale S --rerun` (runs S x the target time).\n",
                 "| problem | PINN | target | rel. L2 at target time | time to goal (s) | run "
                 "length (s) | rel. L2 at the end | clock |",
                 "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for problem_name, (seconds, goal) in TARGETS.items():
            if problem_name not in data:
                continue
            r = data[problem_name]
            curve = trace(r)
            at = [e for t, e in curve if t <= seconds]
            reach = next((t for t, e in curve if goal and e <= goal), None)
            m = PROBLEMS[problem_name]["model"]
            lines.append(f"| {problem_name} | {m['depth']} x {m['width']}, {m['n_interior']} "
                         f"points | {fmt(goal)} in {seconds:g} s | {fmt(at[-1] if at else None)} "
                         f"| {fmt(reach)} | {fmt(seconds * r['scale'])} | "
                         f"{fmt(curve[-1][1] if curve else None)} | {r['clock']} |")
            print(lines[-1], flush=True)
        return "\n".join(lines) + "\n"

    results.write(render, sections=lambda data: {
        "adam+ssbroyden": {p: data[p] for p in TARGETS if p in data}}, target=None)


def fmt(x, digits=2):
    return "--" if x is None or (isinstance(x, float) and not math.isfinite(x)) else \
        f"{x:.{digits}e}" if isinstance(x, float) and (x < 1e-2 or x > 1e3) else f"{x:.3g}"


def budget_of(row: dict) -> float | None:
    """The budget a run had: recorded, or (older layout) its last stage's time limit."""
    if "budget_s" in row:
        return row["budget_s"]
    return next((st["time_limit"] for st in row.get("stages", [])[-1:] if "time_limit" in st),
                None)


def render(data: dict, args) -> str:
    lines = [f"# Optimizer benchmark\n",
             f"Each optimizer gets the budget named per problem ({args.clock} clock, one thread), "
             "float64, same network, points and initialisation per problem. First-order methods: "
             "best learning rate of the sweep shown (each tried for "
             f"{args.sweep_fraction:g} of the budget). `t(1e-3)`: time at which the rel. L2 "
             "error first fell below 1e-3. Regenerate: "
             "`.venv/bin/python benchmarks/optimizers.py --budget SECONDS --rerun`.\n"]
    for problem_name, rows in data.items():
        setup = PROBLEMS.get(problem_name, {})
        budgets = sorted({b for r in rows.values() if (b := budget_of(r)) is not None})
        budget = "/".join(f"{b:g}" for b in budgets) or "--"
        lines.append(f"\n## {problem_name}  {setup.get('problem', '')}, PINN "
                     f"{setup.get('model', '')}, budget {budget} s\n")
        lines.append("| optimizer | setting | rel. L2 (final) | best seen | time (s) | t(1e-3) (s) "
                     "| stop |")
        lines.append("| --- | --- | --- | --- | --- | --- | --- |")
        ordered = sorted(rows.items(), key=lambda kv: summary(kv[1])["rel_l2"]
                         if math.isfinite(summary(kv[1])["rel_l2"]) else 1e9)
        for name, r in ordered:
            s = summary(r)
            setting = ", ".join(f"{k}={v:g}" for st in r.get("stages", [])[-1:]
                                for k, v in st.items() if k == "lr") or "defaults"
            stop = r.get("status", "")
            if stop == "ok":
                stop = (r.get("reasons") or [""])[-1] or ""
            lines.append(f"| {name} | {setting} | {fmt(s['rel_l2'])} | {fmt(s['best'])} | "
                         f"{fmt(s['time'])} | {fmt(s['t_1e-3'])} | {stop} |")
    return "\n".join(lines) + "\n"


def style(name: str) -> dict:
    """Second-order methods (a closure: line searches) in thick solid lines."""
    second = name in SCHEDULE or (name in optimizers and optimizers.get(name).closure)
    return {"lw": 2 if second else 1, "ls": "-" if second else "--"}


def report(results: Results, args) -> None:
    results.write(lambda data: render(data, args), target=TARGET, style=style,
                  sections=lambda data: {p: {name: {"label": name, "trace": trace(r)}
                                             for name, r in rows.items()}
                                         for p, rows in data.items()})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per optimizer")
    parser.add_argument("--sweep-fraction", type=float, default=0.25,
                        help="part of the budget each sweep value gets (0: no sweep, the "
                             "first value of each list)")
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--optimizers", nargs="+", default=None,
                        help="registered names or adam+ssbroyden (default: all)")
    parser.add_argument("--clock", choices=["process", "wall"], default="process")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="folder of the results (optimizers.json, .md, .png)")
    parser.add_argument("--rerun", action="store_true", help="redo runs already in the JSON")
    parser.add_argument("--with-lm", action="store_true", help="also run Levenberg-Marquardt")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--targets", nargs="+", choices=list(TARGETS), default=None,
                        help="run the default schedule against the timed targets instead")
    parser.add_argument("--target-scale", type=float, default=1.0,
                        help="run for this multiple of each target time (e.g. 2: longer budget)")
    args = parser.parse_args(argv)
    args.command = command_line("benchmarks/optimizers.py", argv)
    torch.set_num_threads(args.threads)
    if args.targets:
        return targets(args)
    results = Results("optimizers", args.results, legacy=legacy("optimizers", args))
    if not args.report_only:
        benchmark(args, results)
    report(results, args)


if __name__ == "__main__":
    main()
