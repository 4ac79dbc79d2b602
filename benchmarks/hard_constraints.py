"""Soft constraint vs one global hard constraint vs a mixture of hard-constrained experts on
diffusion-sorption (PI-HC-MoE, Chalapathi et al., ICLR 2024), CPU-sized.

Each row is the experiment `<kind>_diffusion_sorption` (configs/experiment/, composed with
Hydra, so the benchmark and `physolve train experiment=...` run the same thing), trained for its
steps (capped at --budget process seconds), then: rel. L2 on the held-out inputs, the fraction
of their constrained solves that stopped at max_iter, and the process time of one training step
(loss + backward), timed over --time-steps extra steps of the trained model. hc and hc_moe see
the same total number of PDE points per solve (hc: 800 in one expert, hc_moe: 4 x 200).

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/hard_constraints.py

Writes benchmarks/results/hard_constraints.{json,md}.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from physolve.bench import Budget, Case, Results, command_line, compose_experiment, run

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("soft", "hc", "hc_moe")
PAPER = {"soft": "85.9 %", "hc": "7.55 %", "hc_moe": "3.60 %"}


compose = compose_experiment  # the experiment's run config (physolve.bench)


def step_time(solver, steps: int) -> float:
    """Process seconds of one loss + backward of the trained solver (mean of `steps`)."""
    params = solver.parameters()
    start = time.process_time()
    for _ in range(steps):
        loss, _ = solver.loss()
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        del grads
    return (time.process_time() - start) / steps


def render(data: dict) -> str:
    rows = data.get("diffusion_sorption", {})
    lines = ["# Hard constraints on diffusion-sorption", "",
             f"`{data.get('command', '')}`", "",
             data.get("setup", ""), "",
             "| method | rel. L2 (held-out) | paper (1024 x 101) | s / training step "
             "(process) | steps | unconverged LM solves (test) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for kind in KINDS:
        r = rows.get(kind)
        if not r:
            continue
        unconv = r.get("lm_unconverged_fraction")
        lines.append(f"| {kind} | {100 * r['rel_l2']:.2f} % | {PAPER[kind]} | "
                     f"{r['step_s']:.3f} | {r['steps']} | "
                     f"{'-' if unconv is None else f'{100 * unconv:.0f} %'} |")
    if "hc" in rows and "hc_moe" in rows:
        lines += ["", f"hc_moe / hc time per step: "
                      f"{rows['hc_moe']['step_s'] / rows['hc']['step_s']:.2f} "
                      "(below 1: the mixture is faster)."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--kinds", nargs="*", default=list(KINDS))
    p.add_argument("--budget", type=float, default=400.0, help="process seconds per run (cap)")
    p.add_argument("--time-steps", type=int, default=5)
    p.add_argument("--override", nargs="*", default=[], help="Hydra overrides for every run")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    results = Results("hard_constraints", args.out)
    budget = Budget(args.budget, "process", per="stage")
    for kind in args.kinds:
        config = compose(f"{kind}_diffusion_sorption", args.override)
        config["trainer"] = {**config["trainer"], "metrics_every": 0}
        case = Case.from_config(kind, config, budget)
        solvers_made = []
        make = case.solver
        case = Case(case.name, case.problem, lambda: solvers_made.append(make()) or
                    solvers_made[-1], case.stages, case.budget, trainer=case.trainer)
        row = run(case)
        solver = solvers_made[-1]
        row["step_s"] = step_time(solver, args.time_steps)
        row.update({k: v for k, v in solver.metrics().items() if k.startswith("lm_")})
        row.pop("trace", None)
        results.add("diffusion_sorption", kind, row=row)
        print(kind, {k: row.get(k) for k in ("rel_l2", "step_s", "steps", "cpu_s",
                                              "lm_unconverged_fraction")}, flush=True)
    results.set("command", command_line("benchmarks/hard_constraints.py", argv))
    grid = config["problem"]
    results.set("setup", f"Grid {grid.get('nx')} x {grid.get('nt')} (x by t), float64, "
                         "16 basis functions, hc_moe: 4 spatial experts; one thread.")
    results.write(render, sections=lambda data: {})


if __name__ == "__main__":
    main()
