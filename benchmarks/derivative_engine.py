"""Time per training step of the derivative paths, and against DeepXDE.

Burgers 1D (u_t + u u_x = nu u_xx, nu = 0.01 / pi), a 3 x 20 tanh network, 2540 interior +
80 boundary + 160 initial points, soft conditions, Adam (lr 1e-3): the set-up of DeepXDE's
Burgers example. Rows:

- peers: physolve's default `PINN(...).loss()` (Taylor jets), the same with compile=True
  (torch.compile of the Taylor-path loss terms), with derivatives="autograd" (nested reverse
  passes), and DeepXDE 1.15's `model.train` when DeepXDE is installed (a benchmark-only
  dependency). Besides the time per step: the wall time of each runner's first 5 steps
  (for the compiled runner, its compile time), and the peak memory of training (below);
- helmholtz: physolve's two paths on a larger network, Helmholtz (1, 4) in 2D
  (u_xx + u_yy + u = f on [-1, 1]^2, u = 0 on the boundary), 4 x 50 tanh, 10000 + 400
  points, blocks of `--helmholtz-steps` steps (DeepXDE is not set up for this case here);
- engines: the PDE residual alone (2540 points) differentiated four ways on one network:
  physolve's layer-wise jet, nested reverse passes, torch.func jvp-of-jvp, and the same
  batched over directions with vmap.

Each runner does blocks of `--steps` steps, interleaved with the others in one process, one
thread, timed by the process's CPU time; the row is the median block. Each dtype runs in a
child process, because importing DeepXDE changes torch's defaults (default dtype, and the
default device where CUDA exists).

Peak memory (peers, `--memory-steps` steps): each runner once more in a process of its own,
the growth of the process's resident-set high-water mark (getrusage ru_maxrss) from just
before its first step to after its last: what the OS had to provide for training -- the
graph of a step, gradients, optimizer state, the allocator's retained heap -- above the
process with the model built. It is not tensor bytes alone (torch has no allocation counter
on CPU; on CUDA torch.cuda.max_memory_allocated would be the measure), and for the compiled
runner it includes the compiler's own memory, which is spent once, not per step.
Inductor's caches are disabled in the children, so the compile time is a cold compile's.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/derivative_engine.py            # everything
    .venv/bin/python benchmarks/derivative_engine.py --dtypes float64 --blocks 3
    .venv/bin/python benchmarks/derivative_engine.py --blocks 3 --steps 50 \
        --helmholtz-steps 5 --memory-steps 20                              # a short run

Writes benchmarks/results/engine.md (and engine.json, the raw block times).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"
NU = 0.01 / math.pi
WIDTH, DEPTH = 20, 3
N_INTERIOR, N_BOUNDARY, N_INITIAL = 2540, 80, 160


# --- runners: each returns a function that does n steps --------------------------------------
def adam_steps(solver):
    """A function running n Adam steps (lr 1e-3) on the solver's default loss."""
    opt = torch.optim.Adam(solver.parameters(), lr=1e-3)

    def steps(n: int):
        for _ in range(n):
            opt.zero_grad()
            total, _ = solver.loss()
            total.backward()
            opt.step()
        return float(total.detach())

    return steps


def physolve_burgers(dtype: torch.dtype, derivatives: str, compile: bool = False):
    import physolve as ps
    from physolve.pde.library import problems

    solver = ps.PINN(width=WIDTH, depth=DEPTH, n_interior=N_INTERIOR, n_boundary=N_BOUNDARY,
                     n_initial=N_INITIAL, derivatives=derivatives, compile=compile)
    solver.setup(problems.get("burgers")(nu=NU), dtype=dtype, seed=0)
    return adam_steps(solver)


def physolve_helmholtz(dtype: torch.dtype, derivatives: str):
    import physolve as ps
    from physolve.geometry import Rectangle

    def residual(f):
        u = f.u
        source = (1 - 17 * math.pi ** 2) * torch.sin(math.pi * f.x) * torch.sin(4 * math.pi * f.y)
        return u.xx + u.yy + u - source

    problem = ps.Problem(Rectangle((-1.0, -1.0), (1.0, 1.0)), residual, inputs="x y",
                         outputs="u", conditions=[ps.Dirichlet(0.0)])
    solver = ps.PINN(width=50, depth=4, n_interior=10000, n_boundary=400,
                     derivatives=derivatives)
    solver.setup(problem, dtype=dtype, seed=0)
    return adam_steps(solver)


def deepxde_burgers(dtype: torch.dtype):
    """DeepXDE's own Burgers set-up; None when DeepXDE is not installed."""
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    try:
        import deepxde as dde
    except ImportError:
        return None
    import numpy as np

    dde.config.set_default_float("float64" if dtype == torch.float64 else "float32")
    geomtime = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1),
                                          dde.geometry.TimeDomain(0, 0.99))

    def pde(x, y):
        u_x = dde.grad.jacobian(y, x, i=0, j=0)
        u_t = dde.grad.jacobian(y, x, i=0, j=1)
        u_xx = dde.grad.hessian(y, x, i=0, j=0)
        return u_t + y * u_x - NU * u_xx

    bc = dde.icbc.DirichletBC(geomtime, lambda x: 0, lambda _, on: on)
    ic = dde.icbc.IC(geomtime, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on: on)
    data = dde.data.TimePDE(geomtime, pde, [bc, ic], num_domain=N_INTERIOR,
                            num_boundary=N_BOUNDARY, num_initial=N_INITIAL)
    net = dde.nn.FNN([2] + [WIDTH] * DEPTH + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)
    model.compile("adam", lr=1e-3, verbose=0)

    def steps(n: int):
        model.train(iterations=n, display_every=n, verbose=0)
        return float(sum(model.train_state.loss_train))

    return steps


def engine_burgers(dtype: torch.dtype, engine: str):
    """The residual's mean square on one network and point set, by one derivative engine."""
    from torch.func import functional_call, jvp, vmap

    from physolve.models.networks import MLP
    from physolve.pde.autograd import AutogradBackend
    from physolve.pde.jets import propagate, seed

    gen = torch.Generator().manual_seed(0)
    X = (torch.rand(N_INTERIOR, 2, generator=gen, dtype=torch.float64) * 2 - 1).to(dtype)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = MLP(2, 1, WIDTH, DEPTH, "tanh").to(dtype)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    ex = torch.zeros_like(X)
    ex[:, 0] = 1
    et = torch.zeros_like(X)
    et[:, 1] = 1

    def residual_jet():
        j = propagate(net, seed(X, (0, 1), ((0, 0),)))
        return j.first[1][:, 0] + j.value[:, 0] * j.first[0][:, 0] - NU * j.second[0][:, 0]

    def residual_autograd():
        b = AutogradBackend(net, X, ("x", "t"), ("u",), ("x",))
        u = b.value("u")
        return b.derivative("u", ("t",)) + u * b.derivative("u", ("x",)) \
            - NU * b.derivative("u", ("x", "x"))

    def residual_func():
        params = dict(net.named_parameters())

        def f(Z):
            return functional_call(net, params, (Z,))

        def f_x(Z):
            return jvp(f, (Z,), (ex,))[1]

        u, u_t = jvp(f, (X,), (et,))
        u_x, u_xx = jvp(f_x, (X,), (ex,))
        return (u_t + u * u_x - NU * u_xx)[:, 0]

    def residual_func_vmap():
        params = dict(net.named_parameters())

        def f(Z):
            return functional_call(net, params, (Z,))

        u, (u_x, u_t) = vmap(lambda v: jvp(f, (X,), (v,)), out_dims=(None, 0))(
            torch.stack([ex, et]))
        u_xx = jvp(lambda Z: jvp(f, (Z,), (ex,))[1], (X,), (ex,))[1]
        return (u_t + u * u_x - NU * u_xx)[:, 0]

    residual = {"jet": residual_jet, "autograd": residual_autograd,
                "torch.func jvp": residual_func, "torch.func vmap+jvp": residual_func_vmap
                }[engine]

    def steps(n: int):
        for _ in range(n):
            opt.zero_grad()
            loss = residual().square().mean()
            loss.backward()
            opt.step()
        return float(loss.detach())

    return steps


# Burgers runners by row name, built in this order (physolve before DeepXDE's import).
PEERS = {
    "physolve (taylor, default)": lambda dtype: physolve_burgers(dtype, "auto"),
    "physolve (taylor + compile)": lambda dtype: physolve_burgers(dtype, "auto", compile=True),
    "physolve (autograd)": lambda dtype: physolve_burgers(dtype, "autograd"),
    "DeepXDE 1.15": deepxde_burgers,
}
DTYPES = {"float32": torch.float32, "float64": torch.float64}


# --- measurement --------------------------------------------------------------------------
def interleaved(runners: dict, blocks: int, steps: int, warmup: dict | None = None
                ) -> dict[str, list[float]]:
    """ms per step of every block, runner by runner, the runners taking turns; the wall
    seconds of each runner's first 5 steps go into `warmup`."""
    for name, run in runners.items():
        start = time.perf_counter()  # wall: inductor compiles in worker processes
        run(5)  # warm-up (the Taylor path's recording evaluation; torch.compile's compile)
        if warmup is not None:
            warmup[name] = time.perf_counter() - start
    times = {name: [] for name in runners}
    for _ in range(blocks):
        for name, run in runners.items():
            start = time.process_time()
            run(steps)
            times[name].append((time.process_time() - start) / steps * 1e3)
    return times


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def memory_child(dtype_name: str, runner: str, steps: int) -> float | None:
    """MiB the resident high-water mark grows by over `steps` steps of one runner."""
    torch.set_num_threads(1)
    run = PEERS[runner](DTYPES[dtype_name])
    if run is None:
        return None
    before = maxrss_mib()
    run(steps)
    return maxrss_mib() - before


def child(dtype_name: str, blocks: int, steps: int, helmholtz_steps: int) -> dict:
    torch.set_num_threads(1)
    dtype = DTYPES[dtype_name]
    # physolve is built before DeepXDE is imported (its import changes torch's defaults)
    peers = {name: make(dtype) for name, make in PEERS.items() if name != "DeepXDE 1.15"}
    helmholtz = {"physolve (taylor, default)": physolve_helmholtz(dtype, "auto"),
                 "physolve (autograd)": physolve_helmholtz(dtype, "autograd")}
    engines = {name: engine_burgers(dtype, name)
               for name in ("jet", "autograd", "torch.func jvp", "torch.func vmap+jvp")}
    dde = deepxde_burgers(dtype)
    if dde is not None:
        peers["DeepXDE 1.15"] = dde
    warmup = {}
    return {"dtype": dtype_name, "deepxde": dde is not None,
            "peers": interleaved(peers, blocks, steps, warmup), "warmup": warmup,
            "helmholtz": interleaved(helmholtz, blocks, helmholtz_steps),
            "engines": interleaved(engines, blocks, steps)}


def table(rows: dict[str, list[float]], reference: str,
          extra: dict[str, dict[str, str]] | None = None) -> list[str]:
    """The rows' medians against `reference`'s; `extra`: more columns, by heading, then row."""
    extra = extra or {}
    ref = statistics.median(rows[reference])
    lines = ["| runner | ms / step (median) | blocks (ms) | vs " + reference + " |"
             + "".join(f" {h} |" for h in extra),
             "| --- | ---: | --- | ---: |" + " ---: |" * len(extra)]
    for name, times in rows.items():
        med = statistics.median(times)
        lines.append(f"| {name} | {med:.2f} | {', '.join(f'{t:.1f}' for t in times)} | "
                     f"{med / ref:.2f} |" + "".join(f" {col.get(name, '-')} |"
                                                    for col in extra.values()))
    return lines


def report(results: list[dict], blocks: int, steps: int) -> str:
    lines = ["# Derivative engine: time per step", "",
             f"Burgers: 3 x {WIDTH} tanh, {N_INTERIOR} + {N_BOUNDARY} + {N_INITIAL} points, "
             f"soft conditions, Adam; {blocks} interleaved blocks of {steps} steps per runner "
             "(Helmholtz: of `--helmholtz-steps`), one thread, process CPU time, median "
             "block. Written by "
             "`benchmarks/derivative_engine.py`.", "",
             "Burgers tables: `first 5 steps` is wall time, for the compiled runner its cold "
             "compile included; `peak RSS growth` is the growth of the resident-set high-water "
             "mark over training in a process per runner (not tensor bytes alone; for the "
             "compiled runner it includes the compiler's memory). See the script's docstring.",
             ""]
    for r in results:
        ref = "DeepXDE 1.15" if r["deepxde"] else "physolve (autograd)"
        lines += [f"## {r['dtype']}: Burgers, full loss (PDE + conditions) and Adam step", ""]
        extra = {"first 5 steps (s, wall)": {k: f"{v:.1f}" for k, v in r["warmup"].items()}}
        if r.get("memory"):
            extra[f"peak RSS growth (MiB, {r['memory_steps']} steps)"] = {
                k: f"{v:.1f}" for k, v in r["memory"].items() if v is not None}
        lines += table(r["peers"], ref, extra) + [""]
        if not r["deepxde"]:
            lines += ["DeepXDE is not installed here; physolve rows only.", ""]
        lines += [f"## {r['dtype']}: Helmholtz (1, 4), 4 x 50 tanh, 10000 + 400 points", ""]
        lines += table(r["helmholtz"], "physolve (autograd)") + [""]
        lines += [f"## {r['dtype']}: Burgers PDE residual only, by derivative engine", ""]
        lines += table(r["engines"], "autograd") + [""]
    lines += ["jet-for-pytorch was not measured: it needs Python >= 3.12 (this environment "
              "has 3.11), so the package index offers no installable version.", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--helmholtz-steps", type=int, default=20)
    parser.add_argument("--memory-steps", type=int, default=50,
                        help="steps per runner for the peak memory (0: not measured)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--memory-of", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child and args.memory_of:
        print(json.dumps(memory_child(args.child, args.memory_of, args.memory_steps)))
        return
    if args.child:
        print(json.dumps(child(args.child, args.blocks, args.steps, args.helmholtz_steps)))
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DDE_BACKEND": "pytorch",
           "TORCHINDUCTOR_FORCE_DISABLE_CACHES": "1"}
    results = []
    for name in args.dtypes:
        out = subprocess.run([sys.executable, __file__, "--child", name, "--blocks",
                              str(args.blocks), "--steps", str(args.steps),
                              "--helmholtz-steps", str(args.helmholtz_steps)],
                             env=env, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
        if args.memory_steps:
            results[-1]["memory_steps"] = args.memory_steps
            results[-1]["memory"] = {
                runner: json.loads(subprocess.run(
                    [sys.executable, __file__, "--child", name, "--memory-of", runner,
                     "--memory-steps", str(args.memory_steps)], env=env, check=True,
                    capture_output=True, text=True).stdout.strip().splitlines()[-1])
                for runner in PEERS}
        print(json.dumps(results[-1]))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "engine.json").write_text(json.dumps(results, indent=1) + "\n")
    (RESULTS / "engine.md").write_text(report(results, args.blocks, args.steps))
    print(report(results, args.blocks, args.steps))


if __name__ == "__main__":
    main()
