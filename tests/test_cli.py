"""The `physolve` command: overrides, multirun, run directories, exit status 2 for bad configs,
export, and a run killed with SIGKILL that resumes to bitwise the same parameters."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from physolve.cli import main
from physolve.config import config_dir
from physolve.models import solvers
from physolve.models.operator import OperatorSolver
from physolve.pde.library.registry import problems
from physolve.train.checkpoint import load_checkpoint

TINY = ["model.n_interior=16", "model.n_boundary=2", "optim.stages=[{name:adam,steps:12}]",
        "trainer.progress=false", "trainer.metrics_every=4", "checkpoint.every=5"]


def _train(capsys, *args) -> tuple[Path, str]:
    main(["train", *args])
    out = capsys.readouterr().out.strip().splitlines()
    return Path(out[-1]), "\n".join(out)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One small run through the command, with overrides of several kinds."""
    root = tmp_path_factory.mktemp("run")
    main(["train", "model.width=12", "trainer.dtype=float64", "model.chunk_size=1000",
          "trainer.threads=2",
          "output.formats=[vtu,xdmf]", "output.resolution=51", *TINY,
          f"hydra.run.dir={root}"])
    return root


def test_run_prints_its_directory_and_writes_its_layout(run_dir, capsys):
    for name in ("config.yaml", "metrics.jsonl", "metrics.json", "checkpoints/last.pt",
                 "vtk/solution.vtu", "vtk/solution.xdmf", "vtk/solution.h5",
                 "plots/solution.png", "plots/error.png", "plots/loss.png", ".hydra/config.yaml"):
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {"rel_l2", "max_abs_err", "wall_time_s", "steps"} <= set(metrics)
    assert metrics["steps"] == 12 and metrics["status"] == "completed"
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [4, 8, 12]
    assert records[-1]["rel_l2"] == pytest.approx(metrics["rel_l2"], rel=1e-12)
    from matplotlib.image import imread
    assert imread(run_dir / "plots" / "loss.png").ndim == 3


def test_train_log_records_the_losses_at_the_metrics_interval(run_dir):
    lines = (run_dir / "train.log").read_text().splitlines()
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [line for line in lines if " step " in line]
    assert len(steps) == 3 == len(records)
    for line, record in zip(steps, records):
        assert f"step {record['step']} [adam] " in line
        for key in ("loss", "loss_pde", "loss_dirichlet", "rel_l2"):  # the terms, by name
            assert f" {key}={record[key]:.6g}" in line, (key, line)
    # the thread count in force during the fit (trainer.threads=2), not torch's at import
    assert "training poisson1d with PINN; stages: adam:12; seed 0; threads 2" in lines[0]
    assert "stage adam: 12 steps in " in "\n".join(lines) and "done: rel_l2=" in lines[-2]


def test_overrides_reach_the_objects(run_dir):
    state = load_checkpoint(run_dir / "checkpoints" / "last.pt")["solver"]["module"]
    weight = state["net.layers.0.weight"]
    assert weight.shape == (12, 1) and weight.dtype == torch.float64
    saved = (run_dir / "config.yaml").read_text()
    assert "chunk_size: 1000" in saved   # a PINN argument its config file does not list


def test_multirun_sweeps_a_value(tmp_path, capsys):
    main(["train", "-m", "model.width=5,7", *TINY, "output.formats=[]", "output.plots=false",
          f"hydra.sweep.dir={tmp_path}"])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == str(tmp_path / "1")
    widths = [load_checkpoint(tmp_path / str(i) / "checkpoints" / "last.pt")["solver"]["module"]
              ["net.layers.0.weight"].shape[0] for i in (0, 1)]
    assert widths == [5, 7]


OPERATOR_SOLVERS = ", ".join(n for n in solvers.names() if isinstance(solvers.get(n), type)
                             and issubclass(solvers.get(n), OperatorSolver))

BAD = [  # override, text naming the key and what is allowed
    ("model.widht=3", "model.widht: unknown key; allowed keys: activation"),
    ("model.width=wide", "model.width: expected an integer, got 'wide'"),
    ("problem=nope", "problem: no config 'nope' in configs/problem/; allowed: "
     + ", ".join(sorted(p.stem for p in (config_dir() / "problem").glob("*.yaml")))),
    ("model=nope", "model: no config 'nope' in configs/model/; allowed: "
     + ", ".join(sorted(p.stem for p in (config_dir() / "model").glob("*.yaml")))),
    ("problem.name=nope", "problem.name: unknown problem 'nope'; allowed: " + ", ".join(problems.names())),
    ("optim.stages.0.name=adamm", "optim.stages[0].name: unknown optimizer 'adamm'; allowed: adabelief, adadagrad, adagrad, adahessian, adam,"),
    ("trainer.dtype=float16", "trainer.dtype: unknown dtype 'float16'; choose one of: float32"),
    ("model.activation=swish", "model.activation: unknown activation 'swish'"),
    ("resume=/nonexistent/run", "resume: /nonexistent/run is not a physolve run directory"),
    ("resume=5", "resume: expected a run directory, got 5"),
    ("nope=1", "nope: unknown key; allowed keys: problem, model, optim, trainer, checkpoint, "
     "output, resume"),
    ("problem=darcy64", "model.name: 'pinn' solves one problem, but 'darcy64' is a problem "
     f"family; choose an operator solver: {OPERATOR_SOLVERS}"),
    ("problem=poisson_mesh problem.mesh=/nonexistent/plate.msh",
     "problem.mesh: MeshDomain: no mesh file at /nonexistent/plate.msh"),
    ("model.width=[1", "cannot read the override 'model.width=[1'"),
    # Hydra 1.3 fails inside (TypeError), 1.4 with an empty composition error: both name it
    ("problem=[{}]", "problem=[{}] cannot be "),
    ("optim=[true] optim.stages.0.lr=0.1", "optim=[true] ++optim.stages.0.lr=0.1 cannot be "
     "applied together (TypeError"),
]


@pytest.mark.parametrize("override, message", BAD, ids=[b[0] for b in BAD])
def test_bad_config_exits_2_naming_the_key(tmp_path, capsys, override, message):
    with pytest.raises(SystemExit) as info:
        main(["train", *TINY, *override.split(), f"hydra.run.dir={tmp_path / 'r'}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.count("\n") == 1  # one line
    assert not (tmp_path / "r").exists()  # nothing started


def _refusal(capsys, argv) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_unreadable_mesh_file_exits_2_naming_the_key(tmp_path, capsys):
    # meshio prints its readers' complaints and calls sys.exit(1) for a file none can read
    junk = tmp_path / "junk.msh"
    junk.write_text("not a mesh\n")
    err = _refusal(capsys, ["train", *TINY, "problem=poisson_mesh", f"problem.mesh={junk}"])
    assert f"problem.mesh: MeshDomain: cannot read the mesh file {junk}: " in err


def test_missing_config_dir_exits_2(tmp_path, capsys):
    err = _refusal(capsys, ["train", "--config-dir", str(tmp_path / "none"), *TINY])
    assert f"--config-dir: {tmp_path / 'none'} is not a directory" in err


def test_resume_at_a_directory_of_other_files_exits_2(tmp_path, capsys):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "config.yaml").write_text("trainer: [\n")
    (tmp_path / "checkpoints" / "last.pt").write_text("not a checkpoint")
    err = _refusal(capsys, ["train", f"resume={tmp_path}"])
    assert f"resume: {tmp_path} is not a physolve run directory with a checkpoint (cannot " \
        "read it: " in err


def test_dry_run_checks_every_job_and_trains_nothing(tmp_path, capsys):
    main(["train", "-m", "model.width=5,7", *TINY, "--dry-run", f"hydra.sweep.dir={tmp_path}"])
    assert capsys.readouterr().out.strip() == "config valid: 2 jobs checked, nothing trained"
    assert not any(tmp_path.iterdir())
    err = _refusal(capsys, ["train", "-m", "model.width=5,0.5", *TINY, "--dry-run"])
    assert "model.width: expected an integer, got 0.5" in err


def test_a_bad_value_in_a_sweep_stops_before_the_first_job(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "-m", "model.width=4,wide", *TINY, f"hydra.sweep.dir={tmp_path}"])
    assert info.value.code == 2 and "model.width: expected an integer" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_list_prints_the_registries(capsys):
    main(["list"])
    out = capsys.readouterr().out
    for name in ("burgers", "poisson2d_c", "poisson_mesh", "pinn", "lbfgs", "adam",
                 "burgers_pinn", "poisson2d_c_pinn", "inverse_diffusion"):
        assert f"  {name}" in out


def test_export_reevaluates_the_saved_model(run_dir, tmp_path, capsys):
    import vtk

    main(["export", str(run_dir), "--format", "vtu", "--resolution", "21", "--out",
          str(tmp_path)])
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(tmp_path)
    reader = vtk.vtkXMLUnstructuredGridReader()
    reader.SetFileName(str(tmp_path / "solution.vtu"))
    reader.Update()
    grid = reader.GetOutput()
    assert grid.GetNumberOfPoints() == 21 and grid.GetNumberOfCells() == 20
    u = np.array([grid.GetPointData().GetArray("u").GetValue(i) for i in range(21)])
    x = np.array([grid.GetPoint(i)[0] for i in range(21)])
    # The same model as the run's: its prediction at the export points, recomputed here.
    from physolve.runner import load_run
    _, solver, _ = load_run(run_dir)
    assert np.allclose(u, solver.predict(torch.from_numpy(x[:, None])).numpy()[:, 0], rtol=0,
                       atol=1e-12)


# --- real processes -------------------------------------------------------------------------
def _command() -> list[str]:
    script = Path(sys.executable).with_name("physolve")
    return [str(script)] if script.exists() else [sys.executable, "-m", "physolve.cli"]


# Single-threaded so that every process does the same floating-point operations; the checkout
# these tests belong to first on the path, so that its physolve is the one that runs.
REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}


def test_console_script_finds_its_configs_from_any_directory(tmp_path):
    proc = subprocess.run([*_command(), "train", "model.widht=3"], cwd=tmp_path, env=ENV,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "model.widht: unknown key; allowed keys: activation" in proc.stderr


RESUMABLE = ["problem.k=4", "model.width=16", "model.depth=2", "model.n_interior=100",
             "model.sampling=uniform",
             "optim.stages=[{name:adam,steps:80,lr:0.01,decay:0.5},{name:lbfgs,steps:170}]",
             "trainer.dtype=float64", "trainer.metrics_every=40", "trainer.resample_every=30",
             "trainer.progress=false", "checkpoint.every=10", "output.formats=[]",
             "output.plots=false"]


def _checkpoint_or_none(path: Path):
    try:
        return load_checkpoint(path)
    except FileNotFoundError:
        return None


def _records(run: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "time"}
            for line in (run / "metrics.jsonl").read_text().splitlines()]


def _kill_when_checkpointed(args: list[str], cut: Path, cwd: Path, ready, timeout: float) -> dict:
    """Run `physolve train args` into `cut`, SIGKILL it once its checkpoint satisfies
    `ready(checkpoint)`, and return that checkpoint as the killed run left it."""
    victim = subprocess.Popen([*_command(), "train", *args, f"hydra.run.dir={cut}"], env=ENV,
                              cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while True:
        ck = _checkpoint_or_none(cut / "checkpoints" / "last.pt")
        if ck is not None and ready(ck):
            break
        assert victim.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    assert victim.returncode == -signal.SIGKILL
    return load_checkpoint(cut / "checkpoints" / "last.pt")


def _resume_beside_a_full_run(args: list[str], cut: Path, full: Path, cwd: Path) -> str:
    """Resume `cut` in a new process while the uninterrupted run goes on here (single-threaded
    too); the resumed process's stdout."""
    resumed = subprocess.Popen([*_command(), "train", *args, f"resume={cut}"], env=ENV,
                               cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    main(["train", *args, f"hydra.run.dir={full}"])
    out, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err
    return out


def _same_run(full: Path, cut: Path, steps: int) -> None:
    a = load_checkpoint(full / "checkpoints" / "last.pt")
    b = load_checkpoint(cut / "checkpoints" / "last.pt")
    assert a["step"] == b["step"] == steps
    for name, tensor in a["solver"]["module"].items():
        assert torch.equal(tensor, b["solver"]["module"][name]), name
    assert _records(full) == _records(cut)


def test_sigkill_then_resume_gives_bitwise_the_same_parameters(tmp_path, capsys):
    full, cut = tmp_path / "full", tmp_path / "cut"
    # kill it once it is well into L-BFGS
    killed = _kill_when_checkpointed(
        RESUMABLE, cut, tmp_path, lambda ck: len(ck["stages"]) == 1 and ck["step"] >= 130, 180)
    assert not (cut / "metrics.json").exists()
    assert 130 <= killed["step"] < 250 and any(
        entry.get("pairs", {}).get("s") for entry in killed["optimizer"]["state"].values())
    out = _resume_beside_a_full_run(RESUMABLE, cut, full, tmp_path)
    assert out.strip().splitlines()[-1] == str(cut)
    _same_run(full, cut, 250)


# A step checkpoint only at step 400: a run killed before it resumes from a time checkpoint.
TIMED = ["model.width=8", "model.depth=2", "model.n_interior=64", "model.n_boundary=2",
         "optim.stages=[{name:adam,steps:500,lr:0.005}]", "trainer.dtype=float64",
         "trainer.metrics_every=100", "trainer.progress=false", "checkpoint.every=400",
         "checkpoint.every_s=0.1", "output.formats=[]", "output.plots=false"]


def test_sigkill_before_the_first_step_checkpoint_resumes_from_the_time_checkpoint(tmp_path,
                                                                                  capsys):
    full, cut = tmp_path / "full", tmp_path / "cut"
    killed = _kill_when_checkpointed(TIMED, cut, tmp_path, lambda ck: True, 120)
    assert 0 < killed["step"] < 400 and killed["stages"] == []  # a time checkpoint
    _resume_beside_a_full_run(TIMED, cut, full, tmp_path)
    log = (cut / "train.log").read_text()  # the interrupted run's log, continued
    assert log.count("training poisson1d") == 1
    assert f"resuming at step {killed['step']}: poisson1d" in log
    _same_run(full, cut, 500)


def test_a_five_dimensional_run_completes_with_plots_and_says_why_there_is_no_vtk(tmp_path,
                                                                                capsys):
    """ParaView output covers 1-3 spatial dimensions: beyond, the run still completes, its
    plots show the middle plane, and train.log says why the VTK files are missing."""
    run, _ = _train(capsys, "experiment=poisson_gauss_nd_uniform", *TINY,
                    "problem.n_test=200", "model.width=8", "model.depth=1",
                    "trainer.time_limit=null", "output.resolution=21",
                    f"hydra.run.dir={tmp_path}")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "completed" and 0 < metrics["rel_l2"] < 10
    assert not (run / "vtk").exists() or not any((run / "vtk").iterdir())
    for name in ("solution.png", "error.png", "loss.png"):
        assert (run / "plots" / name).is_file(), name
    log = (run / "train.log").read_text()
    assert "no VTK output" in log and "5 spatial dimensions" in log
