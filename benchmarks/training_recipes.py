"""Training recipes (docs/training_recipes.md) on their reference cases, CPU-sized.

Rows (--cases):
  poisson2d_c_balanced  experiment poisson2d_c_balanced: gradnorm balancing, no hand-picked
                        weights; goal rel. L2 <= 5e-3 against COMSOL within 20 CPU minutes.
  allen_cahn_causal     experiment allen_cahn_causal: causal weights, periodic embedding,
                        modified MLP, gradnorm; against the ETDRK4 reference.
  burgers_fixed         Burgers 1D with soft initial and boundary conditions, weights 1 ...
  burgers_gradnorm      ... and the same with gradnorm: a recipe must not make it worse.
  poisson2d_c_rad       poisson2d_c_balanced with RAD sampling (a round every 500 steps).
  burgers_pirate        Burgers with a PirateNet (2 blocks of width 20, 16 Fourier features).
  poisson2d_c_ntk, burgers_ntk, burgers_sa
                        the same set-ups with the NTK balancer (every 100) or pointwise
                        self-adaptive weights (sa) instead.

Each row is the experiment composed by Hydra as `physolve train experiment=... OVERRIDES`
composes it, trained on one thread with its time budget on the trainer's process clock
(--budget caps it: CPU seconds for the whole fit). The row stores the composed config and the
equivalent `physolve train` command.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/training_recipes.py --cases poisson2d_c_balanced

Writes benchmarks/results/recipes.{json,md,png}.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from physolve.bench import Budget, Case, Results, command_line, compose_experiment, run

ROOT = Path(__file__).resolve().parents[1]
GOAL = 5e-3

# Soft conditions, so that there are terms to balance; short enough for two CPU cores.
BURGERS = ["problem.hard=false", "model.width=20", "model.depth=3", "model.n_interior=2000",
           "model.n_boundary=200",
           "optim.stages=[{name: adam, steps: 1000, lr: 1.0e-3}, {name: lbfgs, steps: 20000}]"]
CASES = {  # name: (section, label, experiment, overrides)
    "poisson2d_c_balanced": ("poisson2d_c", "PINN 4 x 40, gradnorm (every 100), Adam 1000 + "
                             "L-BFGS 10000", "poisson2d_c_balanced", []),
    "allen_cahn_causal": ("allen_cahn", "PINN modified MLP 4 x 64, periodic x, causal (32 "
                          "slices, eps 1), gradnorm, Adam", "allen_cahn_causal", []),
    "burgers_fixed": ("burgers", "PINN 3 x 20, soft IC/BC, weights 1 (fixed)", "burgers_pinn",
                      BURGERS),
    "burgers_gradnorm": ("burgers", "PINN 3 x 20, soft IC/BC, gradnorm (every 100)",
                         "burgers_pinn", [*BURGERS, "model.balance=gradnorm",
                                          "model.balance_options={every: 100}"]),
    "poisson2d_c_ntk": ("poisson2d_c", "PINN 4 x 40, ntk (every 100, 32 points), Adam 1000 + "
                        "L-BFGS 10000", "poisson2d_c_balanced",
                        ["model.balance=ntk", "~model.balance_options",
                         "+model.balance_options={every: 100}"]),
    "poisson2d_c_rad": ("poisson2d_c", "PINN 4 x 40, gradnorm (every 100), RAD sampling (round "
                        "every 500), Adam 1000 + L-BFGS 10000", "poisson2d_c_balanced",
                        ["model.sampler=rad", "trainer.resample_every=500"]),
    "burgers_pirate": ("burgers", "PirateNet, 2 blocks x 20, 16 Fourier features (sigma 1), "
                       "soft IC/BC, weights 1", "burgers_pinn",
                       [*BURGERS, "model.architecture=pirate", "model.depth=2",
                        "model.fourier_features=16", "model.fourier_sigma=1.0"]),
    "burgers_ntk": ("burgers", "PINN 3 x 20, soft IC/BC, ntk (every 100, 32 points)",
                    "burgers_pinn", [*BURGERS, "model.balance=ntk",
                                     "model.balance_options={every: 100}"]),
    "burgers_sa": ("burgers", "PINN 3 x 20, soft IC/BC, self-adaptive point weights (sa)",
                   "burgers_pinn", [*BURGERS, "model.balance=sa"]),
}


def first_below(trace, goal: float):
    """Seconds (the trace's clock) at the first metrics record with rel. L2 <= goal."""
    return next((t for t, e in trace if e <= goal), None)


def _cmd(experiment: str, overrides, budget: float) -> str:
    quoted = [f"'{o}'" if any(c in o for c in " {[") else o for o in overrides]
    return " ".join([".venv/bin/physolve train", f"experiment={experiment}", *quoted,
                     "trainer.clock=process", f"trainer.time_limit={budget:g}"])


def render(data: dict) -> str:
    lines = ["# Training recipes", "",
             "Loss balancing, causal training and network options (docs/training_recipes.md)."
             " Time is CPU time of one single-threaded process (`time.process_time`, the "
             "trainer's `clock=process`), on a 2-core machine shared with other jobs.", "",
             f"`{data.get('command', '')}`", "",
             "| case | method | rel. L2 | max abs. error | steps | CPU s | first <= 5e-3 at "
             "(CPU s) | command |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for section, rows in data.items():
        if not isinstance(rows, dict) or section in ("command",):
            continue
        for r in rows.values():
            hit = r.get("first_below_goal_s")
            lines.append(f"| {section} | {r['label']} | {r['rel_l2']:.3g} | "
                         f"{r['max_abs_err']:.3g} | {r['steps']} | {r['time_s']:.0f} | "
                         f"{'-' if hit is None else f'{hit:.0f}'} | `{r['physolve_command']}` "
                         f"(`{r['command']}`) |")
    lines += ["", "The configs of the rows (model, optim, trainer sections) are in "
              "recipes.json under `config`."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    p.add_argument("--budget", type=float, default=1200.0,
                   help="CPU seconds per run (the trainer's process clock, whole fit)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    results = Results("recipes", args.out)
    budget = Budget(args.budget, "process", per="fit")
    for name in args.cases:
        section, label, experiment, overrides = CASES[name]
        config = compose_experiment(experiment, overrides)
        case = Case.from_config(name, config, budget, label=label)
        row = run(case)
        row["first_below_goal_s"] = first_below(row["trace"], GOAL)
        row["physolve_command"] = _cmd(experiment, overrides, args.budget)
        row["command"] = command_line("benchmarks/training_recipes.py", argv)
        row["config"] = {k: config[k] for k in ("problem", "model", "optim", "trainer")}
        results.add(section, name, row=row)
        print(name, {k: row.get(k) for k in ("rel_l2", "steps", "time_s",
                                              "first_below_goal_s")}, flush=True)
    results.set("command", command_line("benchmarks/training_recipes.py", argv))
    results.write(render)


if __name__ == "__main__":
    main()
