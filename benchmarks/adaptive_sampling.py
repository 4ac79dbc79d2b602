"""Adaptive collocation on the two-peak Poisson problem: uniform, RAR, RAD and AAS sampling.

Each row is the experiment config configs/experiment/poisson_two_peak_<sampler>.yaml (the
same PINN, 2000 interior points, Adam schedule and rounds of 250 steps; only the sampler
differs), trained for the same budget of CPU time (time.process_time, one thread). The
sharpness `a` of the peaks is a command-line choice (the configs say 1000); the PDE weight
follows it as 1 / (4 a)^2.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/adaptive_sampling.py --a 1000 --budget 160
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/adaptive_sampling.py --a 100 --budget 80
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/adaptive_sampling.py --gauss-dims 5 10 \
        --budget 150

`--gauss-dims` runs instead the high-dimensional case of the AAS paper, u = exp(-10 |x|^2)
on [-1, 1]^d (experiments poisson_gauss_nd_uniform and poisson_gauss_nd_aas with problem.d
set), uniform against AAS at the same CPU budget.

Writes benchmarks/results/adaptive_sampling.md (every row in adaptive_sampling.json beside
it, merged by `a` and sampler, so cases can run separately), the error-against-CPU-time
figure adaptive_sampling.png and adaptive_sampling_points.png: every run's final points over
its |r| (points data in adaptive_sampling_points/). Per row: the final relative L2 error,
steps, and how the final points share out between the peaks (points within 0.1 of each
centre: a sampler that collapses onto one peak leaves the other near zero).
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from physolve.bench import (Budget, Case, Results, command_line, compose_experiment,
                            environment, run)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SAMPLERS = ("uniform", "rar", "rad", "aas")
CENTRES = ((0.5, 0.5), (-0.5, -0.5))
NEAR = 0.1   # radius counted as "at a peak" (4.5 standard deviations at a = 1000)


def peak_shares(points: np.ndarray) -> list[float]:
    """Fraction of the points within NEAR of each peak's centre."""
    return [float((np.hypot(points[:, 0] - cx, points[:, 1] - cy) < NEAR).mean())
            for cx, cy in CENTRES]


def run_keeping_solver(name: str, config: dict, budget: float, label: str):
    """(row, trained solver) of the experiment `config` run for `budget` CPU seconds, without
    its run-directory output: the solver is kept, since where its final points lie is
    measured after the run."""
    config["output"] = {}
    case = Case.from_config(name, config, Budget(budget, clock="process", per="fit"),
                            label=label)
    made = {}
    build = case.solver

    def solver():
        made["solver"] = build()
        return made["solver"]

    case.solver = solver
    return run(case), made["solver"]


def run_case(a: float, sampler: str, budget: float, metrics_every: int, folder: Path) -> dict:
    config = compose_experiment(f"poisson_two_peak_{sampler}",
                                (f"problem.a={a}", f"model.weights.pde={1.0 / (4 * a) ** 2:.6g}",
                                 f"trainer.metrics_every={metrics_every}"))
    row, s = run_keeping_solver(f"a{a:g}/{sampler}", config, budget, sampler)
    points = s.interior.detach().double().cpu().numpy()
    g = np.linspace(-1, 1, 161)
    grid = torch.from_numpy(np.stack(np.meshgrid(g, g, indexing="xy"), -1).reshape(-1, 2))
    residual = s.pointwise_residual(grid).numpy().reshape(len(g), len(g))
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / f"a{a:g}_{sampler}.npz", points=points.astype(np.float32),
                        grid=g, residual=residual.astype(np.float32))
    shares = peak_shares(points)
    row.update({"a": a, "points": len(points), "rounds": s.round,
                "share_peak1": shares[0], "share_peak2": shares[1],
                "sampler_options": config["model"].get("sampler_options") or {},
                "diagnostics": s.sampler.diagnostics()})
    return row


def run_gauss(d: int, sampler: str, budget: float, metrics_every: int) -> dict:
    config = compose_experiment(f"poisson_gauss_nd_{sampler}",
                                (f"problem.d={d}", f"trainer.metrics_every={metrics_every}"))
    row, s = run_keeping_solver(f"gauss{d}/{sampler}", config, budget, sampler)
    radius = s.interior.detach().double().norm(dim=1)
    row.update({"d": d, "points": len(radius), "rounds": s.round,
                # where u = exp(-10 r^2) > 0.1; uniform points land there with probability
                # 1.5e-3 (d = 5) or 2e-6 (d = 10)
                "share_peak": float((radius < math.sqrt(math.log(10) / 10)).double().mean()),
                "sampler_options": config["model"].get("sampler_options") or {},
                "diagnostics": s.sampler.diagnostics()})
    return row


def render_gauss(data: dict) -> list[str]:
    lines = []
    for key in sorted((k for k in data if k.startswith("gauss d=")), key=lambda k: int(k[8:])):
        rows = data[key]
        base = rows.get("uniform", {}).get("rel_l2")
        lines += [f"### d = {key[8:]}", "",
                  "| sampler | rel. L2 | vs uniform | steps | rounds | CPU s | points | "
                  "share where u > 0.1 | command |", "|" + "---|" * 9]
        for name in ("uniform", "aas"):
            if name not in rows:
                continue
            r = rows[name]
            ratio = f"{base / r['rel_l2']:.2f}x lower" if base and r.get("rel_l2") else ""
            lines.append(f"| {name} | {r['rel_l2']:.3g} | {ratio} | {r['steps']} | "
                         f"{r['rounds']} | {r['cpu_s']:.0f} | {r['points']} | "
                         f"{r['share_peak']:.3f} | `{r.get('command', '')}` |")
        lines.append("")
    if lines:
        lines = ["## High-dimensional case: u = exp(-10 |x|^2) on [-1, 1]^d", "",
                 "The PINN 4 x 64 tanh, 2000 interior and 400 boundary points, Adam lr 1e-3, a "
                 "sampling round every 250 steps, float32 (experiments poisson_gauss_nd_<sampler> "
                 "with problem.d set); rel. L2 over the problem's test points, half uniform in "
                 "the cube and half drawn from u's own Gaussian shape (poisson_gauss_nd).", ""
                 ] + lines
    return lines


def render(data: dict) -> str:
    env = data.get("environment", {})
    lines = ["# Adaptive collocation: two-peak Poisson", "",
             "u = exp(-a|x - (.5,.5)|^2) + exp(-a|x + (.5,.5)|^2) on [-1, 1]^2, -laplace u = f, "
             "Dirichlet from u (`poisson_two_peak`). A 4 x 64 tanh PINN behind 64 Fourier features (sigma 5), 2000 interior and 400 "
             "boundary points, Adam lr 1e-3, a sampling round every 250 steps, float32; each "
             "row trained for the same CPU time (time.process_time, one thread) -- the "
             "experiment configs `poisson_two_peak_<sampler>` with `problem.a` and the PDE "
             "weight 1/(4a)^2 set per section. rel. L2 is of the final iterate on a 301^2 grid; "
             "peak shares: fraction of the final points within 0.1 of each centre (uniform: "
             f"{math.pi * NEAR ** 2 / 4:.4f} each).", ""]
    for key in sorted((k for k in data if k.startswith("a=")), key=lambda k: -float(k[2:])):
        rows = data[key]
        base = rows.get("uniform", {}).get("rel_l2")
        lines += [f"## {key}", "", "| sampler | rel. L2 | vs uniform | steps | rounds | CPU s | "
                  "points | peak shares | settings | command |", "|" + "---|" * 10]
        for name in SAMPLERS:
            if name not in rows:
                continue
            r = rows[name]
            ratio = f"{base / r['rel_l2']:.2f}x lower" if base and r.get("rel_l2") else ""
            diag = r.get("diagnostics") or {}
            extra = ", ".join(f"{k}={v:.3g}" for k, v in diag.items()
                              if k in ("acceptance", "kl_uniform"))
            settings = ", ".join(f"{k}={v}" for k, v in r.get("sampler_options", {}).items())
            lines.append(
                f"| {name} | {r['rel_l2']:.3g} | {ratio} | {r['steps']} | {r['rounds']} | "
                f"{r['cpu_s']:.0f} | {r['points']} | {r['share_peak1']:.3f} / "
                f"{r['share_peak2']:.3f} | {settings}{'; ' + extra if extra else ''} | "
                f"`{r.get('command', '')}` |")
        lines.append("")
    lines += render_gauss(data)
    if env:
        lines += [f"Machine: {env.get('machine')}, {env.get('cores')} cores, torch "
                  f"{env.get('torch')}, load {env.get('load')} ({env.get('date')}).", ""]
    return "\n".join(lines)


def plot_points(data: dict, folder: Path, path: Path) -> None:
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    keys = sorted((k for k in data if k.startswith("a=")), key=lambda k: -float(k[2:]))
    cells = [(k, s) for k in keys for s in SAMPLERS
             if (folder / f"a{float(k[2:]):g}_{s}.npz").exists()]
    if not cells:
        return
    fig = Figure(figsize=(4 * len(SAMPLERS), 3.6 * len(keys)), layout="constrained")
    axes = fig.subplots(len(keys), len(SAMPLERS), squeeze=False)
    for i, key in enumerate(keys):
        for j, s in enumerate(SAMPLERS):
            ax = axes[i, j]
            f = folder / f"a{float(key[2:]):g}_{s}.npz"
            if not f.exists():
                ax.set_axis_off()
                continue
            d = np.load(f)
            res = np.maximum(d["residual"], 1e-3)
            art = ax.pcolormesh(d["grid"], d["grid"], res, norm=LogNorm(), cmap="magma",
                                shading="auto")
            ax.scatter(d["points"][:, 0], d["points"][:, 1], s=1, c="c", linewidths=0)
            ax.set(title=f"{key}, {s}: final points over |r|", aspect="equal")
            fig.colorbar(art, ax=ax, shrink=0.8)
    fig.savefig(path, dpi=100)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--a", type=float, default=1000.0, help="peak sharpness")
    parser.add_argument("--budget", type=float, default=160.0, help="CPU seconds per run")
    parser.add_argument("--samplers", nargs="+", default=list(SAMPLERS), choices=SAMPLERS)
    parser.add_argument("--metrics-every", type=int, default=500)
    parser.add_argument("--gauss-dims", type=int, nargs="+", default=None,
                        help="run the d-dimensional exp(-10|x|^2) case instead (uniform, aas)")
    parser.add_argument("--out", default="adaptive_sampling")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results = Results(args.out, RESULTS)
    folder = RESULTS / f"{args.out}_points"
    command = "OMP_NUM_THREADS=1 " + command_line("benchmarks/adaptive_sampling.py",
                                                  argv).replace("python", ".venv/bin/python", 1)

    def sections(data: dict) -> dict:
        return {k: v for k, v in data.items() if k.startswith(("a=", "gauss d="))}

    if args.gauss_dims:
        for d in args.gauss_dims:
            for sampler in ("uniform", "aas"):
                row = run_gauss(d, sampler, args.budget, args.metrics_every)
                row["command"] = command
                results.add(f"gauss d={d}", sampler, row=row)
                print(f"d={d} {sampler}: rel_l2 {row['rel_l2']:.3g}, {row['steps']} steps, "
                      f"share near the peak {row['share_peak']:.3f}", flush=True)
        results.set("environment", environment("process", 1))
        results.write(render, sections=sections)
        return
    for sampler in args.samplers:
        row = run_case(args.a, sampler, args.budget, args.metrics_every, folder)
        row["command"] = command
        results.add(f"a={args.a:g}", sampler, row=row)
        results.set("environment", environment("process", 1))
        print(f"a={args.a:g} {sampler}: rel_l2 {row['rel_l2']:.3g}, {row['steps']} steps, "
              f"peak shares {row['share_peak1']:.3f}/{row['share_peak2']:.3f}, "
              f"{row['diagnostics']}", flush=True)
    results.write(render, sections=sections)
    plot_points(results.load(), folder, RESULTS / f"{args.out}_points.png")


if __name__ == "__main__":
    main()
