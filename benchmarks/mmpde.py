"""MM-PDE on 2D Burgers: the `mmpde_burgers2d` experiment (a message-passing stepper on the
moving mesh and the same stepper on the uniform mesh with as many nodes, trained side by side
for the same steps) through the trainer, for one or more mesh sizes, within a process-time
budget per run. Rollout errors on the held-out trajectories, measured on the 96 x 96 reference
grid. Writes benchmarks/results/mmpde.{json,md}.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/mmpde.py --bases 32 --budget 300
"""
from __future__ import annotations

import argparse
from pathlib import Path

from physolve.bench import Budget, Case, Results, command_line, compose_experiment, environment, run

COLUMNS = (("rollout_rel_l2", "moving"), ("rollout_rel_l2_fixed", "fixed"),
           ("rollout_error_ratio", "fixed / moving"),
           ("rollout_rel_l2_final", "moving, last step"),
           ("rollout_rel_l2_fixed_final", "fixed, last step"),
           ("interp_rel_l2", "interp. floor moving"),
           ("interp_rel_l2_fixed", "interp. floor fixed"),
           ("inverted_cells", "inverted cells"), ("steps", "steps"),
           ("time_s", "training (process s)"),
           ("mover_train_s", "mover training (process s)"),
           ("cpu_s", "whole run (process s)"))


def render(data: dict) -> str:
    lines = ["# MM-PDE on 2D Burgers: moving vs fixed mesh", "",
             "Experiment `mmpde_burgers2d` (problem `burgers2d_fields` defaults: nu 0.005, "
             "t in [0, 0.3], 10 steps of 0.03; 8 training and 2 held-out trajectories); "
             "relative L2 rollout error on the 96 x 96 reference grid, mean over the 10 steps "
             "and the held-out trajectories. One thread, process seconds.", "",
             "| mesh | " + " | ".join(c[1] for c in COLUMNS) + " |",
             "|---" * (len(COLUMNS) + 1) + "|"]
    for key, row in data.get("rows", {}).items():
        cells = [f"{row[k]:.4g}" if isinstance(row.get(k), float) else str(row.get(k, "-"))
                 for k, _ in COLUMNS]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    loads = [r[k] for r in data.get("rows", {}).values() for k in ("load_start", "load_end")
             if r.get(k) is not None]
    if loads:   # process seconds hold on a shared machine; wall seconds would not
        lines += ["", f"Machine load (1-minute average, {data['environment']['cores']} cores) "
                  f"during the runs: {min(loads):.1f} to {max(loads):.1f}."]
    lines += ["", f"Command: `{data.get('command', '')}`", ""]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--bases", type=int, nargs="+", default=[32])
    ap.add_argument("--budget", type=float, default=300.0, help="process seconds per run")
    ap.add_argument("--name", default="mmpde")
    args = ap.parse_args(argv)
    results = Results(args.name, Path(__file__).parent / "results")
    for base in args.bases:
        config = compose_experiment("mmpde_burgers2d", [f"model.base={base}"])
        row = run(Case.from_config(f"base{base}", config, Budget(args.budget, "process")))
        row.pop("trace", None)
        results.add("rows", f"{base} x {base}", row=row)
    results.set("command", "OMP_NUM_THREADS=1 PYTHONPATH=$PWD "
                + command_line("benchmarks/mmpde.py", argv))
    results.set("environment", environment("process", 1))
    results.load()
    results.table.write_text(render(results.data))
    print(render(results.data))


if __name__ == "__main__":
    main()
