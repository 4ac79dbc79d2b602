"""Benchmarks' shared harness: a case is a problem, a solver, its stages and a time budget.

    from physolve.bench import Budget, Case, Results, run

    case = Case("burgers/adam", "Adam", problem=lambda: problems.get("burgers")(),
                solver=lambda: PINN(width=20), stages=["adam:100000"],
                budget=Budget(120, clock="process"), trainer={"dtype": "float64"})
    results = Results("optimizers", folder)          # results/optimizers.{json,md,png}
    results.add("burgers", "adam", row=run(case))
    results.write(render)                          # render(results.data) -> markdown

The budget stops a run on the Trainer's own clock (its `time_limit` for the whole fit, or a
stage's `time_limit`); each run records the error trace, the command, the clock, the thread
count and the machine's load (physolve.bench.environment). Not imported by `import physolve`.
"""
from .configs import compose_experiment
from .environment import command_line, environment, load_average
from .harness import Budget, Case, run
from .plots import plot_traces
from .results import Results

__all__ = ["Budget", "Case", "Results", "command_line", "compose_experiment", "environment", "load_average",
           "plot_traces", "run"]
