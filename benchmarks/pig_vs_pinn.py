"""Physics-Informed Gaussians against a PINN at a matched parameter count and time budget.

For each case the PIG settings come from its experiment config (configs/experiment/pig_*.yaml,
composed with Hydra), so the benchmark and `physolve train experiment=...` run the same thing.
The PINN gets a tanh MLP whose depth is fixed and whose width is chosen so that its parameter
count is closest to PIG's, the same collocation points and the same optimisation stages, each
stage capped at the budget. A second table times one loss-and-gradient evaluation of three
ways to evaluate the Gaussian embedding.

    .venv/bin/python benchmarks/pig_vs_pinn.py --budget 1800            # the 30-minute target
    .venv/bin/python benchmarks/pig_vs_pinn.py --budget 1800 --clock process --threads 1 \
        --cases helmholtz --methods pig --metrics-every 250 --no-speed  # on a shared machine
    .venv/bin/python benchmarks/pig_vs_pinn.py --budget 60 --cases helmholtz --no-speed

Writes benchmarks/results/pig.md (or --out), with every row in pig.json beside it (merged by
case and method, so cases can run separately) and the error-against-time figure pig.png
(physolve.bench). Each stage is capped at the budget on the trainer's clock.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from physolve.bench import Budget, Case, Results, command_line, compose_experiment, run
from physolve.train.trainer import CLOCKS

ROOT = Path(__file__).resolve().parents[1]
CASES = {"helmholtz": "pig_helmholtz", "klein_gordon": "pig_klein_gordon"}


# --- configs ----------------------------------------------------------------------------------
compose = compose_experiment  # the experiment's run config (physolve.bench)


def build(config: dict):
    """(problem, solver, trainer) through physolve's config layer, as `physolve train` does."""
    from physolve.config import build as build_run
    from physolve.config import validate

    return build_run(validate(config))


def budgeted(config: dict, budget: float, clock: str, metrics_every: int = 0) -> dict:
    """`config` with every stage capped at `budget` seconds on `clock`; metrics every so many
    steps (0: at the end only)."""
    config = Budget(budget, clock, per="stage").config(config)
    return {**config, "trainer": {**config["trainer"], "progress": False,
                                  "metrics_every": metrics_every}}


# --- a PINN of the same size ------------------------------------------------------------------
def mlp_parameters(in_dim: int, out_dim: int, width: int, depth: int) -> int:
    return (in_dim + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * out_dim


def matched_pinn(config: dict, problem, n_params: int, depth: int = 3) -> dict:
    """`config` with its model replaced by a tanh PINN of `depth` hidden layers whose parameter
    count is closest to n_params, on the same collocation points and loss weights."""
    d, m = len(problem.inputs), len(problem.outputs)
    width = min(range(2, 400), key=lambda w: abs(mlp_parameters(d, m, w, depth) - n_params))
    same = ("n_interior", "n_boundary", "n_initial", "sampling", "weights")
    model = {"name": "pinn", "width": width, "depth": depth, "activation": "tanh",
             **{k: config["model"][k] for k in same if k in config["model"]}}
    return {**config, "model": model}


def train(kind: str, config: dict, budget: Budget, log: Path | None = None) -> dict:
    """One method of a case; each stage capped at the budget."""
    row = run(Case.from_config(kind, config, budget, log=log))
    return {**row, "reason": row["reasons"][-1]}


def parameter_count(solver) -> int:
    return sum(p.numel() for p in solver.parameters())


def last_logged(config: dict, log: Path) -> dict:
    """The row of a run stopped before its budget ran out: its last metrics record in `log`."""
    _, solver, _ = build(config)
    last = json.loads(log.read_text().splitlines()[-1])
    return {"parameters": parameter_count(solver), "time_s": last["time"],
            "rel_l2": last["rel_l2"], "max_abs_err": last["max_abs_err"], "steps": last["step"],
            "reason": "run stopped before its budget; its last logged record"}


def accuracy_rows(case: str, budget: float, methods, clock: str, metrics_every: int = 0,
                  logs: Path | None = None, stopped: bool = False) -> dict:
    """{method kind: row} for PIG from the case's config and the PINN matched to it; `logs`:
    a folder for each run's metrics records (<case>_<method>.jsonl). `stopped`: train
    nothing, take the rows from those records (runs cut short)."""
    config = budgeted(compose(CASES[case]), budget, clock, metrics_every)
    limit = Budget(budget, clock, per="stage")
    problem, pig, _ = build(config)
    configs = {"pig": (describe_pig(pig), config)}
    if "pinn" in methods:
        pinn = matched_pinn(config, problem, parameter_count(pig))
        configs["pinn"] = (f"PINN {pinn['model']['depth']}x{pinn['model']['width']} tanh", pinn)
    def measure(kind, config, log):
        return last_logged(config, log) if stopped else train(kind, config, limit, log)
    return {kind: {"method": configs[kind][0],
                   **measure(kind, configs[kind][1],
                             logs / f"{case}_{kind}.jsonl" if logs else None)}
            for kind in methods}


def describe_pig(pig) -> str:
    o = pig.embedding_options
    layout = "shared" if o["shared"] else "per channel"
    return (f"PIG {o['n_gaussians']} Gaussians, {o['channels']} channels ({layout}), "
            f"MLP {o['channels']}-{pig.width}-1")


# --- speed of the embedding -------------------------------------------------------------------
def naive_embedding_class():
    from physolve.models.pig import GaussianEmbedding

    class NaiveGaussians(GaussianEmbedding):
        """The straightforward evaluation: an (N, G, d) tensor of scaled differences."""

        def forward(self, x):
            z = (x[:, None, :] - self.mu) / self.sigma
            return torch.exp(-0.5 * z.square().sum(-1)) @ self.feature_matrix()

    return NaiveGaussians


def evaluation_seconds(n_points: int, n_gaussians: int, variant: str, repeats: int,
                       clock: str = "wall") -> float:
    """Best time of one loss + gradient of PIG on Helmholtz 2D (float64)."""
    from physolve.models import PIG
    from physolve.pde.library import problems

    solver = PIG(n_gaussians=n_gaussians, n_interior=n_points, n_boundary=n_points // 10,
                 order=2 if variant == "taylor" else None)
    solver.setup(problems.get("helmholtz2d")(), dtype=torch.float64, device="cpu", seed=0)
    if variant == "naive":
        naive = naive_embedding_class()(2, n_gaussians).to(torch.float64)
        naive.load_state_dict(solver.net.embedding.state_dict())
        solver.net.embedding = naive
    best = float("inf")
    for _ in range(repeats):
        t = CLOCKS[clock]()
        total, _ = solver.loss()
        torch.autograd.grad(total, solver.parameters())
        best = min(best, CLOCKS[clock]() - t)
    return best


def speed_rows(sizes, repeats: int, clock: str = "wall") -> list[dict]:
    rows = []
    for n, g in sizes:
        times = {v: evaluation_seconds(n, g, v, repeats, clock)
                 for v in ("naive", "matmul", "taylor")}
        rows.append({"points": n, "gaussians": g, **times})
    return rows


# --- report ---------------------------------------------------------------------------------
def load_line() -> str:
    try:
        one, five, _ = os.getloadavg()
        return f"{one:.1f} (1 min), {five:.1f} (5 min)"
    except OSError:
        return "unavailable"


def render(results: dict) -> str:
    """The markdown report from all results recorded so far (see `record`)."""
    lines = ["# PIG versus PINN", "",
             "Written by `benchmarks/pig_vs_pinn.py`; each section names the command that "
             "produced it and the machine load seen while it ran (the machine may be shared: "
             "timings under load are pessimistic).", ""]
    for case, methods in sorted(results.get("accuracy", {}).items()):
        lines += [f"## {case}: accuracy at a fixed time budget per method", "",
                  "Same collocation points and stages for both methods; each stage capped at "
                  "the budget. Errors on the problem's reference grid (Helmholtz: 250 x 250; "
                  "Klein-Gordon: 50^3). time: seconds on the run's clock (process or cpu: CPU "
                  "time of the process, wall: elapsed).", "",
                  "| method | parameters | budget (s) | clock | time (s) | rel. L2 | "
                  "max abs. error | steps | stopped because |",
                  "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |"]
        lines += [f"| {r['method']} | {r['parameters']} | {r['budget']:g} | {r['clock']} | "
                  f"{r['time_s']:.0f} | {r['rel_l2']:.3e} | {r['max_abs_err']:.3e} | "
                  f"{r['steps']} | {r['reason']} |" for _, r in sorted(methods.items())]
        lines += [""] + [f"- {r['method']}: `{r['command']}`; {r['environment']}"
                         for _, r in sorted(methods.items())] + [""]
    if "speed" in results:
        entry = results["speed"]
        lines += ["## Time of one loss + gradient evaluation (Helmholtz 2D, float64)", "",
                  f"Command: `{entry['command']}`  ", f"Run: {entry['environment']}", "",
                  "naive: (N, G, d) differences, plain autograd; matmul: exponent as "
                  "[x^2, x, 1] @ P, plain autograd (order=None); taylor: closed-form Taylor "
                  "coefficients up to order 2 (order=2, the default). N interior points plus "
                  f"N/10 boundary points; best of {entry['repeats']}, on the "
                  f"{entry.get('clock', 'wall')} clock.", "",
                  "| points N | Gaussians G | naive (ms) | matmul (ms) | taylor (ms) | "
                  "naive / taylor | matmul / taylor |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        lines += [f"| {r['points']} | {r['gaussians']} | {1e3 * r['naive']:.0f} | "
                  f"{1e3 * r['matmul']:.0f} | {1e3 * r['taylor']:.0f} | "
                  f"{r['naive'] / r['taylor']:.1f} | {r['matmul'] / r['taylor']:.1f} |"
                  for r in entry["rows"]]
        lines.append("")
    return "\n".join(lines)


def record(out: Path, update: dict) -> None:
    """Merge `update` ({"accuracy": {case: {method: row}}} and/or {"speed": ...}) into the
    results kept beside the report (out.json) and re-render, so cases can run separately."""
    results = Results(out.stem, out.parent)
    for case, rows in update.get("accuracy", {}).items():
        for kind, row in rows.items():
            results.add("accuracy", case, kind, row=row)
    for key, value in update.items():
        if key != "accuracy":
            results.set(key, value)
    results.write(render, sections=lambda data: {
        case: {r["method"]: r for r in rows.values()}
        for case, rows in data.get("accuracy", {}).items()})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=1800.0,
                        help="seconds of training per method and case (default: 1800)")
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--methods", nargs="*", default=["pig", "pinn"],
                        choices=["pig", "pinn"])
    parser.add_argument("--clock", default="wall", choices=["wall", "process"],
                        help="what the budget measures: elapsed time, or CPU time of the "
                        "process (steadier on a shared machine; use with --threads 1)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--metrics-every", type=int, default=0,
                        help="steps between error evaluations during training, logged to "
                        "<out folder>/progress/<case>_<method>.jsonl (0: at the end only)")
    parser.add_argument("--stopped", action="store_true",
                        help="train nothing: record the last logged error of runs that were "
                        "stopped before their budget (run with --metrics-every)")
    parser.add_argument("--no-speed", dest="speed", action="store_false",
                        help="skip the evaluation-time table")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pig.md")
    args = parser.parse_args(argv)
    command = command_line("benchmarks/pig_vs_pinn.py", argv)
    torch.set_num_threads(args.threads)

    def environment(load_before: str) -> str:
        return (f"{platform.machine()}, torch {torch.__version__}, {args.threads} thread(s), "
                f"float64, CPU; load average before {load_before}, after {load_line()}; "
                f"finished {time.strftime('%Y-%m-%d %H:%M')}")

    for case in args.cases:
        before = load_line()
        logs = args.out.parent / "progress" if args.metrics_every or args.stopped else None
        rows = accuracy_rows(case, args.budget, args.methods, args.clock, args.metrics_every,
                             logs, args.stopped)
        for r in rows.values():
            r.update(budget=args.budget, clock=args.clock, command=command,
                     environment=environment(before))
            print({k: v for k, v in r.items() if k != "trace"}, flush=True)
        record(args.out, {"accuracy": {case: rows}})
    if args.speed:
        before = load_line()
        rows = speed_rows([(1000, 400), (2000, 800), (4000, 1600)], args.repeats, args.clock)
        for r in rows:
            print(r, flush=True)
        record(args.out, {"speed": {"command": command, "environment": environment(before),
                                    "repeats": args.repeats, "clock": args.clock,
                                    "rows": rows}})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
