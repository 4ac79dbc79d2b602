"""Per-step time of PINN(compile=True) against eager on the demo's hard-constraint Burgers.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/compile_hard.py float32

3 x 20 tanh, 2000 interior points, Adam; one thread; 3 warm-up steps (the first plans the
terms, the second compiles), then 3 interleaved blocks of 50 steps, process CPU time.
"""
import pathlib
import sys
import time

import torch

import physolve as ps

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "examples"))
from burgers import make_problem  # noqa: E402  (the demo's problem, hard conditions)


def step(solver, opt):
    opt.zero_grad()
    solver.loss()[0].backward()
    opt.step()


def main(dtype_name: str = "float32", blocks: int = 3, steps: int = 50):
    torch.set_num_threads(1)
    dtype = getattr(torch, dtype_name)
    runners = {}
    for compile in (True, False):
        s = ps.PINN(width=20, depth=3, n_interior=2000, n_boundary=80, n_initial=160,
                    compile=compile)
        s.setup(make_problem(), dtype=dtype, seed=0)
        runners[compile] = (s, torch.optim.Adam(s.parameters(), 1e-3))
    start = time.time()
    for runner in runners.values():
        for _ in range(3):
            step(*runner)
    print(f"warm-up (compile) wall s {time.time() - start:.1f}; "
          f"fallback: {runners[True][0]._compiled_terms.failure}")
    times = {c: [] for c in runners}
    for _ in range(blocks):
        for c, runner in runners.items():
            t = time.process_time()
            for _ in range(steps):
                step(*runner)
            times[c].append((time.process_time() - t) / steps * 1e3)
    for c, v in times.items():
        print(f"{dtype_name} {'compiled' if c else 'eager'}: median "
              f"{sorted(v)[len(v) // 2]:.2f} ms / step, blocks {[round(x, 2) for x in v]}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
