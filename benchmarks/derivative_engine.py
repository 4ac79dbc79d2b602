"""Time per training step of the derivative paths, and against DeepXDE.

Cases (`--cases`): burgers and kovasznay (steady Navier-Stokes, outputs u, v, p: second
derivatives of u and v, first of p) against DeepXDE, helmholtz and allen_cahn (jaxpi's
4 x 256, 4096-point step; on CUDA by default) for physolve's two paths, engines (the residual
alone). Each table also gives the matrix-product FLOPs of a step and the fraction of the
machine's measured matrix-product rate they run at. `--device cuda` times on a GPU (wall
time after synchronising; DeepXDE rows are CPU-only here) and reports torch's peak of
allocated bytes.

Burgers 1D (u_t + u u_x = nu u_xx, nu = 0.01 / pi), a 3 x 20 tanh network, 2540 interior +
80 boundary + 160 initial points, soft conditions, Adam (lr 1e-3): the set-up of DeepXDE's
Burgers example. Rows:

- peers: physolve's default `PINN(...).loss()` (Taylor jets; Adam as the trainer builds
  it), the same with compile=True (torch.compile of the Taylor-path loss terms), with
  derivatives="autograd" (nested reverse passes), and DeepXDE 1.15's `model.train` when
  DeepXDE is installed (a benchmark-only dependency). Besides the time per step: the wall
  time of each runner's first 5 steps (for the compiled runner, its compile time), and the
  peak memory of training (below);
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
RE, KOV_INTERIOR, KOV_BOUNDARY = 20.0, 2601, 400


# --- runners: each returns a function that does n steps --------------------------------------
def adam_steps(solver):
    """A function running n Adam steps (lr 1e-3) on the solver's default loss, with Adam
    built as physolve's trainer builds it (the registry's `adam`: torch's fused step where
    the parameters allow it; DeepXDE's runners use torch's default, foreach on the CPU)."""
    from physolve.optim import optimizers

    opt = optimizers.get("adam").create(solver.parameters(), lr=1e-3)

    def steps(n: int):
        for _ in range(n):
            opt.zero_grad()
            total, _ = solver.loss()
            total.backward()
            opt.step()
        return float(total.detach())

    return steps


def physolve_pinn(problem, dtype, derivatives, compile=False, device="cpu", **sizes):
    """Adam steps of physolve's PINN on `problem` (a Problem)."""
    import physolve as ps

    solver = ps.PINN(derivatives=derivatives, compile=compile, **sizes)
    solver.setup(problem, dtype=dtype, device=device, seed=0)
    return adam_steps(solver)


def physolve_burgers(dtype: torch.dtype, derivatives: str, compile: bool = False,
                     device: str = "cpu"):
    from physolve.pde.library import problems

    return physolve_pinn(problems.get("burgers")(nu=NU), dtype, derivatives, compile, device,
                         width=WIDTH, depth=DEPTH, n_interior=N_INTERIOR,
                         n_boundary=N_BOUNDARY, n_initial=N_INITIAL)


def physolve_kovasznay(dtype: torch.dtype, derivatives: str, compile: bool = False,
                       device: str = "cpu"):
    """Kovasznay flow (Re = 20, outputs u, v, p): DeepXDE's example set-up, 4 x 50 tanh,
    2601 interior points, 400 points each for the u and v conditions, 114 for p on x = 1."""
    from physolve.pde.library import problems

    return physolve_pinn(problems.get("kovasznay")(re=RE, n_pressure=114), dtype,
                         derivatives, compile, device, width=50, depth=4,
                         n_interior=KOV_INTERIOR, n_boundary=KOV_BOUNDARY)


def physolve_allen_cahn(dtype: torch.dtype, derivatives: str, device: str = "cpu"):
    """Allen-Cahn (D = 1e-4), jaxpi's step size: 4 x 256 tanh, 4096 interior points."""
    from physolve.pde.library import problems

    return physolve_pinn(problems.get("allen_cahn")(), dtype, derivatives, False, device,
                         width=256, depth=4, n_interior=4096, n_boundary=256, n_initial=256)


def physolve_helmholtz(dtype: torch.dtype, derivatives: str, device: str = "cpu"):
    from physolve.pde.library import problems

    return physolve_pinn(problems.get("helmholtz2d")(), dtype, derivatives, False, device,
                         width=50, depth=4, n_interior=10000, n_boundary=400)


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


def deepxde_kovasznay(dtype: torch.dtype):
    """DeepXDE's own Kovasznay set-up (Re = 20, 4 x 50 tanh, 2601 + 400 points, velocity on
    the whole boundary, pressure on the outflow face x = 1); None without DeepXDE."""
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    try:
        import deepxde as dde
    except ImportError:
        return None
    import numpy as np

    dde.config.set_default_float("float64" if dtype == torch.float64 else "float32")
    lam = RE / 2 - math.sqrt(RE ** 2 / 4 + 4 * math.pi ** 2)

    def pde(x, y):
        u, v = y[:, 0:1], y[:, 1:2]
        g = dde.grad
        u_x, u_y = g.jacobian(y, x, i=0, j=0), g.jacobian(y, x, i=0, j=1)
        v_x, v_y = g.jacobian(y, x, i=1, j=0), g.jacobian(y, x, i=1, j=1)
        p_x, p_y = g.jacobian(y, x, i=2, j=0), g.jacobian(y, x, i=2, j=1)
        u_xx, u_yy = g.hessian(y, x, component=0, i=0, j=0), g.hessian(y, x, component=0, i=1, j=1)
        v_xx, v_yy = g.hessian(y, x, component=1, i=0, j=0), g.hessian(y, x, component=1, i=1, j=1)
        return [u * u_x + v * u_y + p_x - (u_xx + u_yy) / RE,
                u * v_x + v * v_y + p_y - (v_xx + v_yy) / RE, u_x + v_y]

    def u_fn(x):
        return 1 - np.exp(lam * x[:, 0:1]) * np.cos(2 * np.pi * x[:, 1:2])

    def v_fn(x):
        return lam / (2 * np.pi) * np.exp(lam * x[:, 0:1]) * np.sin(2 * np.pi * x[:, 1:2])

    def p_fn(x):
        return (1 - np.exp(2 * lam * x[:, 0:1])) / 2

    geom = dde.geometry.Rectangle([-0.5, -0.5], [1, 1.5])
    bcs = [dde.icbc.DirichletBC(geom, u_fn, lambda x, on: on, component=0),
           dde.icbc.DirichletBC(geom, v_fn, lambda x, on: on, component=1),
           dde.icbc.DirichletBC(geom, p_fn, lambda x, on: on and np.isclose(x[0], 1),
                                component=2)]
    data = dde.data.PDE(geom, pde, bcs, num_domain=KOV_INTERIOR, num_boundary=KOV_BOUNDARY)
    model = dde.Model(data, dde.nn.FNN([2] + [50] * 4 + [3], "tanh", "Glorot normal"))
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


# The cases: runners by row name, built in this order (physolve before DeepXDE's import);
# `steps` names the option giving a block's length; `reference` is the row the others are
# divided by (the first row when DeepXDE is absent).
DEEPXDE = "DeepXDE 1.15"
CASES = {
    "burgers": {
        "title": f"Burgers, 3 x {WIDTH} tanh, {N_INTERIOR} + {N_BOUNDARY} + {N_INITIAL} points, "
                 "full loss (PDE + conditions) and Adam step",
        "steps": "steps", "reference": DEEPXDE, "runners": {
            "physolve (taylor, default)": lambda dt, dev: physolve_burgers(dt, "auto", device=dev),
            "physolve (taylor + compile)": lambda dt, dev: physolve_burgers(dt, "auto", True, dev),
            "physolve (autograd)": lambda dt, dev: physolve_burgers(dt, "autograd", device=dev),
            DEEPXDE: lambda dt, dev: deepxde_burgers(dt)}},
    "kovasznay": {
        "title": f"Kovasznay flow (u, v, p; Re = {RE:g}), 4 x 50 tanh, {KOV_INTERIOR} + "
                 f"2 x {KOV_BOUNDARY} + 114 points, full loss and Adam step",
        "steps": "steps", "reference": DEEPXDE, "runners": {
            "physolve (taylor, default)": lambda dt, dev: physolve_kovasznay(dt, "auto", device=dev),
            "physolve (taylor + compile)": lambda dt, dev: physolve_kovasznay(dt, "auto", True, dev),
            "physolve (autograd)": lambda dt, dev: physolve_kovasznay(dt, "autograd", device=dev),
            DEEPXDE: lambda dt, dev: deepxde_kovasznay(dt)}},
    "helmholtz": {
        "title": "Helmholtz (1, 4), 4 x 50 tanh, 10000 + 400 points",
        "steps": "large_steps", "reference": "physolve (autograd)", "runners": {
            "physolve (taylor, default)": lambda dt, dev: physolve_helmholtz(dt, "auto", dev),
            "physolve (autograd)": lambda dt, dev: physolve_helmholtz(dt, "autograd", dev)}},
    "allen_cahn": {
        "title": "Allen-Cahn (D = 1e-4), 4 x 256 tanh, 4096 + 256 + 256 points",
        "steps": "large_steps", "reference": "physolve (autograd)", "runners": {
            "physolve (taylor, default)": lambda dt, dev: physolve_allen_cahn(dt, "auto", dev),
            "physolve (autograd)": lambda dt, dev: physolve_allen_cahn(dt, "autograd", dev)}},
    "engines": {
        "title": "Burgers PDE residual only, by derivative engine",
        "steps": "steps", "reference": "autograd", "runners": {
            name: (lambda dt, dev, name=name: engine_burgers(dt, name))
            for name in ("jet", "autograd", "torch.func jvp", "torch.func vmap+jvp")}},
}
# Cases run on CPU by default; allen_cahn is jaxpi's GPU step size (minutes per block on CPU).
DEFAULT_CASES = {"cpu": ["burgers", "kovasznay", "helmholtz", "engines"],
                 "cuda": ["burgers", "kovasznay", "helmholtz", "allen_cahn"]}
DTYPES = {"float32": torch.float32, "float64": torch.float64}


# --- measurement --------------------------------------------------------------------------
class Clock:
    """Process CPU time on the CPU; on CUDA, wall time after synchronising the device (the
    host's CPU time would not see the kernels)."""

    def __init__(self, device: str):
        self.cuda = device.startswith("cuda")

    def __call__(self) -> float:
        if self.cuda:
            torch.cuda.synchronize()
            return time.perf_counter()
        return time.process_time()


def interleaved(runners: dict, blocks: int, steps: int, clock: Clock,
                warmup: dict | None = None) -> dict[str, list[float]]:
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
            start = clock()
            run(steps)
            times[name].append((clock() - start) / steps * 1e3)
    return times


def matmul_flops(run, steps: int) -> float:
    """Floating-point operations of matrix products (mm, addmm, bmm: 2 m k n each) per step,
    forward and backward passes; elementwise work is not counted. Counted by a dispatch mode
    of its own: torch's FlopCounterMode hooks modules in a way that breaks DeepXDE's
    autograd.grad calls on leaf inputs."""
    from torch.utils._python_dispatch import TorchDispatchMode

    aten = torch.ops.aten

    class Counter(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            packet = func.overloadpacket
            if packet in (aten.mm, aten.addmm, aten.bmm):
                a, b = (args[0], args[1]) if packet is not aten.addmm else (args[1], args[2])
                Counter.total += 2 * a.numel() * b.shape[-1]
            return func(*args, **(kwargs or {}))

    with Counter():
        run(steps)
    return Counter.total / steps


def gemm_throughput(dtype: torch.dtype, device: str, n: int = 1024, repeats: int = 5) -> float:
    """The machine's matrix-product rate (FLOP/s): best of `repeats` n x n products."""
    clock = Clock(device)
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)
    a @ b
    best = math.inf
    for _ in range(repeats):
        start = clock()
        a @ b
        best = min(best, clock() - start)
    return 2 * n ** 3 / best


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def memory_child(dtype_name: str, case: str, runner: str, steps: int, device: str
                 ) -> float | None:
    """MiB of peak memory over `steps` steps of one runner: on the CPU the growth of the
    resident high-water mark, on CUDA torch's peak of allocated bytes."""
    torch.set_num_threads(1)
    run = CASES[case]["runners"][runner](DTYPES[dtype_name], device)
    if run is None:
        return None
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        run(steps)
        return torch.cuda.max_memory_allocated() / 2 ** 20
    before = maxrss_mib()
    run(steps)
    return maxrss_mib() - before


def child(dtype_name: str, cases: list[str], blocks: int, steps: dict, device: str,
          flop_steps: int) -> dict:
    torch.set_num_threads(1)
    dtype = DTYPES[dtype_name]
    clock = Clock(device)
    built = {}
    # physolve's runners of every case are built before DeepXDE is imported (its import
    # changes torch's defaults)
    for case in cases:
        built[case] = {name: make(dtype, device) for name, make in CASES[case]["runners"].items()
                       if name != DEEPXDE}
    for case in cases:
        if DEEPXDE in CASES[case]["runners"] and device == "cpu":
            run = CASES[case]["runners"][DEEPXDE](dtype, device)
            if run is not None:
                built[case][DEEPXDE] = run
    out = {"dtype": dtype_name, "device": device, "cases": {},
           "gemm_flops_per_s": gemm_throughput(dtype, device)}
    for case in cases:
        runners = built[case]
        warmup = {}
        n = steps[CASES[case]["steps"]]
        times = interleaved(runners, blocks, n, clock, warmup)
        flops = {}
        if flop_steps and case != "engines":
            for name, run in runners.items():
                if "compile" not in name:  # compiled kernels are not seen by the counter
                    flops[name] = matmul_flops(run, flop_steps)
        out["cases"][case] = {"times": times, "warmup": warmup, "flops": flops,
                              "deepxde": DEEPXDE in runners}
    return out


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


def report(results: list[dict], blocks: int, steps: dict) -> str:
    device = results[0]["device"] if results else "cpu"
    clock = ("wall time after synchronising the device" if device.startswith("cuda")
             else "process CPU time")
    lines = ["# Derivative engine: time per step", "",
             f"Device {device}; {blocks} interleaved blocks per runner of {steps['steps']} "
             f"steps (Helmholtz and Allen-Cahn: {steps['large_steps']}), one thread, "
             f"{clock}, median block. Written by `benchmarks/derivative_engine.py`.", "",
             "`first 5 steps` is wall time, for the compiled runner its cold compile included. "
             "`GFLOP / step` counts the matrix products of a step's forward and backward passes "
             "(mm, addmm and bmm, 2 m k n each; elementwise work is not counted, and the compiled "
             "runner does the Taylor path's products); `of peak` divides the rate they are done "
             "at by the machine's measured n = 1024 matrix-product rate. `peak memory`: on the "
             "CPU the growth of the resident-set high-water mark over training in a process per "
             "runner (not tensor bytes alone; for the compiled runner it includes the "
             "compiler's memory); on CUDA torch's peak of allocated bytes. See the script's "
             "docstring.", ""]
    for r in results:
        peak = r["gemm_flops_per_s"]
        lines += [f"## {r['dtype']}", "", f"Measured matrix-product rate: {peak / 1e9:.1f} "
                  "GFLOP/s (one thread).", ""]
        for case, c in r["cases"].items():
            ref = CASES[case]["reference"]
            if ref not in c["times"]:
                ref = next(iter(c["times"]))
            med = {k: statistics.median(v) for k, v in c["times"].items()}
            flops = dict(c["flops"])
            for name in c["times"]:
                if "compile" in name and "physolve (taylor, default)" in flops:
                    flops[name] = flops["physolve (taylor, default)"]
            extra = {"first 5 steps (s, wall)": {k: f"{v:.1f}" for k, v in c["warmup"].items()}}
            if flops:
                extra["GFLOP / step"] = {k: f"{v / 1e9:.3f}" for k, v in flops.items()}
                extra["of peak"] = {k: f"{v / (med[k] * 1e-3) / peak:.1%}"
                                    for k, v in flops.items()}
            if c.get("memory"):
                extra[f"peak memory (MiB, {r['memory_steps']} steps)"] = {
                    k: f"{v:.1f}" for k, v in c["memory"].items() if v is not None}
            lines += [f"### {CASES[case]['title']}", ""]
            lines += table(c["times"], ref, extra) + [""]
            if DEEPXDE in CASES[case]["runners"] and not c["deepxde"]:
                lines += ["DeepXDE is not installed here (or not run on this device); physolve "
                          "rows only.", ""]
    lines += ["jet-for-pytorch was not measured: it needs Python >= 3.12 (this environment "
              "has 3.11), so the package index offers no installable version.", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=None,
                        help="default: " + "; ".join(f"{d}: {' '.join(c)}"
                                                     for d, c in DEFAULT_CASES.items()))
    parser.add_argument("--device", default="cpu", help="cpu or cuda (cuda:N)")
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--helmholtz-steps", "--large-steps", dest="large_steps", type=int,
                        default=20, help="steps per block of the large cases")
    parser.add_argument("--flop-steps", type=int, default=5,
                        help="steps counted for the FLOP column (0: not counted)")
    parser.add_argument("--memory-steps", type=int, default=50,
                        help="steps per runner for the peak memory (0: not measured)")
    parser.add_argument("--out", default=str(RESULTS / "engine.md"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--memory-of", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available here")
    if args.device != "cpu" and not args.device.startswith("cuda"):
        parser.error(f"--device must be cpu or cuda[:N], got {args.device!r}")
    cases = args.cases or DEFAULT_CASES["cuda" if args.device.startswith("cuda") else "cpu"]
    steps = {"steps": args.steps, "large_steps": args.large_steps}
    if args.child and args.memory_of:
        print(json.dumps(memory_child(args.child, *args.memory_of, args.memory_steps,
                                      args.device)))
        return
    if args.child:
        print(json.dumps(child(args.child, cases, args.blocks, steps, args.device,
                               args.flop_steps)))
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DDE_BACKEND": "pytorch",
           "TORCHINDUCTOR_FORCE_DISABLE_CACHES": "1"}
    common = ["--device", args.device, "--blocks", str(args.blocks), "--steps",
              str(args.steps), "--large-steps", str(args.large_steps), "--flop-steps",
              str(args.flop_steps), "--memory-steps", str(args.memory_steps), "--cases", *cases]
    results = []
    for name in args.dtypes:
        out = subprocess.run([sys.executable, __file__, "--child", name, *common],
                             env=env, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
        if args.memory_steps:
            results[-1]["memory_steps"] = args.memory_steps
            for case in cases:
                if DEEPXDE not in CASES[case]["runners"]:
                    continue  # memory is compared with the peer only
                results[-1]["cases"][case]["memory"] = {
                    runner: json.loads(subprocess.run(
                        [sys.executable, __file__, "--child", name, "--memory-of", case, runner,
                         *common], env=env, check=True, capture_output=True,
                        text=True).stdout.strip().splitlines()[-1])
                    for runner in CASES[case]["runners"]}
        print(json.dumps(results[-1]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    out.write_text(report(results, args.blocks, steps))
    print(report(results, args.blocks, steps))


if __name__ == "__main__":
    main()
