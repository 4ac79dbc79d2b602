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

Writes benchmarks/results/optimizers_<problem>.json (every run, with its error history),
optimizers.md (the table of all problems found there) and optimizers.png (error versus time).
Problems can run in separate processes (one --problems each) and be reported together.
"""
from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from pathlib import Path

import torch

import physolve as ps
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


def run(problem_name: str, stages: list[dict], budget: float, clock: str, seed: int = 0) -> dict:
    """Train one configuration; the last stage gets what is left of the budget."""
    setup = PROBLEMS[problem_name]
    closure = any(optimizers.get(s["name"]).closure for s in stages)
    stages = [dict(s) for s in stages]
    for s in stages:  # a stage ends at the budget; the curve is cut there too
        s["time_limit"] = min(s.get("time_limit", budget), budget)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        try:
            sol = ps.solve(problems.get(problem_name)(**setup["problem"]),
                           model=ps.PINN(**setup["model"]), optim=stages, dtype="float64",
                           seed=seed, metrics_every=10 if closure else 100, progress=False,
                           clock=clock)
            status, history, stage_info = "ok", sol.history, sol.stages
        except ps.TrainingDiverged as err:
            status, history, stage_info = "diverged", err.solution.history, err.solution.stages
        except MemoryError as err:
            return {"stages": stages, "status": f"refused: {err}", "history": [], "wall": 0.0}
    # Records within the budget, and the one at the stop (a step may end just past it).
    curve = [(r["time"], r["rel_l2"]) for r in history if "rel_l2" in r]
    curve = [c for c in curve if c[0] <= budget] + [c for c in curve if c[0] > budget][:1]
    return {"stages": stages, "status": status, "history": curve,
            "reasons": [s.get("reason") for s in stage_info],
            "wall": time.perf_counter() - t0}


def summary(result: dict) -> dict:
    curve = result["history"]
    final = curve[-1] if curve else (math.nan, math.nan)
    reach = next((t for t, e in curve if e <= TARGET), None)
    best = min((e for _, e in curve), default=math.nan)
    return {"rel_l2": final[1], "time": final[0], "best": best, "t_1e-3": reach}


def json_path(args, problem_name: str) -> Path:
    return args.results / f"optimizers_{problem_name}.json"


def load(args) -> dict:
    out = {}
    for problem_name in PROBLEMS:
        path = json_path(args, problem_name)
        if path.exists():
            out[problem_name] = json.loads(path.read_text())
    return out


def benchmark(args) -> dict:
    out = load(args)
    first = [*SCHEDULE, "ssbroyden", "ssbfgs", "bfgs", "lbfgs", "adam"]  # most telling first
    names = args.optimizers or first + [n for n in optimizers.names() if n not in first]
    for problem_name in args.problems:
        rows = out.setdefault(problem_name, {})
        for name in names:
            if name in rows and not args.rerun:
                continue
            if name in SCHEDULE:
                rows[name] = run(problem_name, SCHEDULE[name], args.budget, args.clock)
            elif name == "lm" and not args.with_lm:
                rows[name] = {"status": "skipped: Jacobian by forward mode costs about 3 "
                                        "backward passes per parameter (run with --with-lm)",
                              "history": [], "stages": []}
            elif optimizers.get(name).closure:
                rows[name] = run(problem_name, [{"name": name, "steps": 10 ** 6}], args.budget,
                                 args.clock)
            elif args.sweep_fraction <= 0:  # no sweep: the first value of the list
                lr = SWEEP.get(name, DEFAULT_SWEEP)[0]
                rows[name] = run(problem_name, [{"name": name, "steps": 10 ** 7, "lr": lr}],
                                 args.budget, args.clock)
            else:
                trials = {}
                for lr in SWEEP.get(name, DEFAULT_SWEEP):
                    r = run(problem_name, [{"name": name, "steps": 10 ** 7, "lr": lr}],
                            args.budget * args.sweep_fraction, args.clock)
                    trials[lr] = summary(r)["rel_l2"]
                best = min(trials, key=lambda k: trials[k] if math.isfinite(trials[k]) else 1e9)
                rows[name] = run(problem_name, [{"name": name, "steps": 10 ** 7, "lr": best}],
                                 args.budget, args.clock)
                rows[name]["sweep"] = trials
            s = summary(rows[name])
            print(f"{problem_name:12s} {name:16s} rel_l2 {s['rel_l2']:.3e} at {s['time']:.0f} s, "
                  f"1e-3 at {s['t_1e-3']} ({rows[name]['status']})", flush=True)
            json_path(args, problem_name).write_text(json.dumps(rows, indent=1))
    return out


def targets(args) -> None:
    """The default schedule per problem for `--target-scale` times the target time; the table
    covers every problem with a result in the results folder."""
    for problem_name in args.targets:
        seconds, _ = TARGETS[problem_name]
        path = args.results / f"targets_{problem_name}.json"
        if not path.exists() or args.rerun:
            r = run(problem_name, SCHEDULE["adam+ssbroyden"], seconds * args.target_scale,
                    args.clock)
            r.update(scale=args.target_scale, clock=args.clock)
            path.write_text(json.dumps(r, indent=1))
    lines = ["# Timed targets: Adam 1000 steps, then SSBroyden (float64, one thread)\n",
             "Regenerate one row: `.venv/bin/python benchmarks/optimizers.py --targets PROBLEM "
             "--target-scale S --rerun` (runs S x the target time).\n",
             "| problem | PINN | target | rel. L2 at target time | time to goal (s) | run length "
             "(s) | rel. L2 at the end | clock |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for problem_name, (seconds, goal) in TARGETS.items():
        path = args.results / f"targets_{problem_name}.json"
        if not path.exists():
            continue
        r = json.loads(path.read_text())
        curve = r["history"]
        at = [e for t, e in curve if t <= seconds]
        reach = next((t for t, e in curve if goal and e <= goal), None)
        m = PROBLEMS[problem_name]["model"]
        lines.append(f"| {problem_name} | {m['depth']} x {m['width']}, {m['n_interior']} points "
                     f"| {fmt(goal)} in {seconds:g} s | {fmt(at[-1] if at else None)} | "
                     f"{fmt(reach)} | {fmt(seconds * r['scale'])} | "
                     f"{fmt(curve[-1][1] if curve else None)} | {r['clock']} |")
        print(lines[-1], flush=True)
    (args.results / "targets.md").write_text("\n".join(lines) + "\n")


def fmt(x, digits=2):
    return "--" if x is None or (isinstance(x, float) and not math.isfinite(x)) else \
        f"{x:.{digits}e}" if isinstance(x, float) and (x < 1e-2 or x > 1e3) else f"{x:.3g}"


def report(out: dict, args) -> None:
    lines = [f"# Optimizer benchmark\n",
             f"Each optimizer gets the budget named per problem ({args.clock} clock, one thread), "
             "float64, same network, points and initialisation per problem. First-order methods: "
             "best learning rate of the sweep shown (each tried for "
             f"{args.sweep_fraction:g} of the budget). `t(1e-3)`: time at which the rel. L2 "
             "error first fell below 1e-3. Regenerate: "
             "`.venv/bin/python benchmarks/optimizers.py --budget SECONDS --rerun`.\n"]
    for problem_name, rows in out.items():
        setup = PROBLEMS.get(problem_name, {})
        # The budget a run had is its last stage's time limit (the stored record of the run).
        budgets = sorted({st["time_limit"] for r in rows.values() for st in r.get("stages", [])[-1:]
                          if "time_limit" in st})
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
    (args.results / "optimizers.md").write_text("\n".join(lines) + "\n")
    plot(out, args.results / "optimizers.png")


def plot(out: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = list(out)
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for ax, problem_name in zip(axes[0], panels):
        for name, r in sorted(out[problem_name].items()):
            if r["history"]:
                t, e = zip(*r["history"])
                second = name in SCHEDULE or (name in optimizers and optimizers.get(name).closure)
                ax.loglog([max(x, 1e-1) for x in t], e, label=name, lw=2 if second else 1,
                          ls="-" if second else "--")
        ax.axhline(TARGET, color="grey", lw=0.5)
        ax.set(title=problem_name, xlabel="time (s)", ylabel="rel. L2 error")
        ax.grid(True, which="both", lw=0.2)
    axes[0][-1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


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
                        help="folder of the JSON files (one per problem), table and plot")
    parser.add_argument("--rerun", action="store_true", help="redo runs already in the JSON")
    parser.add_argument("--with-lm", action="store_true", help="also run Levenberg-Marquardt")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--targets", nargs="+", choices=list(TARGETS), default=None,
                        help="run the default schedule against the timed targets instead")
    parser.add_argument("--target-scale", type=float, default=1.0,
                        help="run for this multiple of each target time (e.g. 2: longer budget)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.results.mkdir(parents=True, exist_ok=True)
    if args.targets:
        return targets(args)
    out = load(args) if args.report_only else benchmark(args)
    report(out, args)


if __name__ == "__main__":
    main()
