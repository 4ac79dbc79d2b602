"""Config validation: every kind of mistake is reported with its key path and the allowed
values, before anything trains; the shipped configs all validate and build."""
import copy
import inspect

import pytest
from hydra import compose, initialize_config_dir

from physolve.config import ConfigError, build, config_dir, validate
from physolve.models.base import solvers
from physolve.models.pinn import PINN
from physolve.pde.library.registry import problems

BASE = {
    "problem": {"name": "poisson1d", "k": 1},
    "model": {"name": "pinn", "width": 8, "depth": 1, "n_interior": 16},
    "optim": {"stages": [{"name": "adam", "steps": 10, "lr": 1e-2}, {"name": "lbfgs", "steps": 5}]},
    "trainer": {"dtype": "float64", "seed": 0, "progress": False},
    "checkpoint": {"every": 5},
    "output": {"formats": ["vtu"], "resolution": None, "times": 3, "plots": True, "vectors": None},
}


def _with(key: str, value):
    config = copy.deepcopy(BASE)
    *parents, last = key.split(".")
    node = config
    for k in parents:
        node = node[int(k)] if isinstance(node, list) else node[k]
    node[int(last) if isinstance(node, list) else last] = value
    return config


CASES = [  # key set, value, key path reported, text that must be in the message
    ("model.widht", 3, "model.widht",   # the keys are the solver's constructor's arguments
     "allowed keys: " + ", ".join(sorted([*inspect.signature(PINN).parameters, "name"]))),
    ("model.width", "wide", "model.width", "expected an integer, got 'wide'"),
    ("model.width", 2.5, "model.width", "expected an integer"),
    ("trainer.seed", 1.5, "trainer.seed", "expected an integer or null"),
    ("problem.k", True, "problem.k", "expected an integer"),
    ("problem.name", "nope", "problem.name", "allowed: " + ", ".join(problems.names())),
    ("model.name", "torch.nn.Linear", "model.name",
     "unknown solver 'torch.nn.Linear'; allowed: " + ", ".join(solvers.names())),
    ("model._target_", "os.system", "model._target_", "unknown key"),
    ("optim.stages.0.name", "adamm", "optim.stages[0].name", "allowed: adabelief, adadagrad, adagrad, adahessian, adam, adamw"),
    ("optim.stages.0.lr", "1e-3", "optim.stages[0].lr", "write 1.0e-3"),
    ("optim.stages.1.history", 5, "optim.stages[1].history", "history_size"),
    ("optim.stages.1.decay", 2.0, "optim.stages[1].decay", "decay must be in (0, 1]"),
    ("optim.stages", [], "optim.stages", "non-empty list"),
    ("trainer.dtype", "float16", "trainer.dtype", "float32, float64"),
    ("trainer.stages", ["adam:5"], "trainer.stages", "allowed keys: clock, device, dtype"),
    ("model.activation", "swish", "model.activation", "gelu, relu, sigmoid, silu, sin"),
    ("model.network", "mlp", "model.network", "cannot be set from a config"),
    ("model.compile", "yes", "model.compile", "expected true or false"),
    ("model.weights", {"pde": "high"}, "model.weights.pde", "expected a number"),
    ("model.weights", {"wall": 10.0}, "model.weights", "terms are ['dirichlet', 'pde']"),
    ("output.formats", ["vtk"], "output.formats[0]", "allowed: vtu, xdmf"),
    ("output.vectors", {"velocity": ["u", "v"]}, "output.vectors", "outputs ['u']"),
    ("checkpoint.every", -1, "checkpoint.every", "must be >= 0"),
    ("extra", 1, "extra", "allowed keys: problem, model, optim, trainer, checkpoint, output"),
]


@pytest.mark.parametrize("key, value, path, text", CASES, ids=[c[0] + "=" + repr(c[1])
                                                               for c in CASES])
def test_each_mistake_names_its_key_and_the_allowed_values(key, value, path, text):
    with pytest.raises(ConfigError) as info:
        build(validate(_with(key, value)))
    assert info.value.path == path
    assert str(info.value).startswith(f"{path}: ")
    assert text in str(info.value)


def test_valid_config_builds_what_it_names():
    problem, solver, trainer = build(validate(BASE))
    assert problem.name == "poisson1d" and solver.width == 8 and solver.n_interior == 16
    assert [str(s) for s in trainer.stages] == ["adam:10", "lbfgs:5"]
    assert trainer.stages[0].options == {"lr": 1e-2}
    assert str(trainer.dtype) == "torch.float64"


def test_values_are_coerced_like_yaml_would_want():
    spec = validate(_with("optim.stages.0.betas", [0.8, 0.9]))
    assert spec.stages[0].options["betas"] == (0.8, 0.9)            # list -> tuple
    assert validate(_with("model.fourier_sigma", 2)).model_args["fourier_sigma"] == 2.0


def _compose(overrides):
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    from omegaconf import OmegaConf

    config = OmegaConf.to_container(cfg, resolve=True)
    config.pop("resume")
    return config


@pytest.mark.parametrize("problem", sorted(p.stem for p in
                                           (config_dir() / "problem").glob("*.yaml")))
def test_every_problem_config_validates(problem):
    spec = validate(_compose([f"problem={problem}"]))
    assert spec.problem == problem


@pytest.mark.parametrize("experiment", ["burgers_pinn", "poisson2d_c_pinn", "inverse_diffusion"])
def test_experiments_mirror_the_examples_and_build(experiment):
    config = _compose([f"experiment={experiment}"])
    problem, solver, trainer = build(validate(config))
    expected = {  # the settings of examples/*.py
        "burgers_pinn": ("burgers", 32, 4, ["adam:2000", "lbfgs:8000"]),
        "poisson2d_c_pinn": ("poisson2d_c", 40, 4, ["adam:1000", "lbfgs:10000"]),
        "inverse_diffusion": ("inverse_diffusion", 20, 3, ["adam:500", "lbfgs:500"]),
    }[experiment]
    assert (problem.name, solver.width, solver.depth, [str(s) for s in trainer.stages]) == expected
    assert str(trainer.dtype) == "torch.float64" and trainer.seed == 0
    if experiment == "burgers_pinn":
        assert all(c.hard for c in problem.conditions)
    if experiment == "poisson2d_c_pinn":
        assert solver.weights == {"dirichlet0": 100.0, "dirichlet1": 100.0}
