"""The optimizer experiment configs compose with Hydra and build through the registries."""
import shutil
from pathlib import Path

import pytest

from physolve.models import solvers
from physolve.optim import parse_stages
from physolve.pde.library import problems
from physolve.train import Trainer

hydra = pytest.importorskip("hydra")
from omegaconf import OmegaConf  # noqa: E402  (hydra brings omegaconf)

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
EXPERIMENTS = ["burgers_2nd_order", "convection_beta30", "helmholtz_pinn"]

# The base groups the experiments override; used only where the repository has none yet.
BASE = {
    "config.yaml": "defaults:\n  - _self_\n  - problem: burgers\n  - model: pinn\n"
                   "  - optim: adam_ssbroyden\n  - trainer: default\n  - experiment: null\n",
    "model/pinn.yaml": "name: pinn\n",
    "trainer/default.yaml": "dtype: float32\nseed: 0\n",
    "trainer/float64.yaml": "defaults:\n  - default\n  - _self_\ndtype: float64\n",
    **{f"problem/{name}.yaml": f"name: {name}\n"
       for name in ("burgers", "convection", "helmholtz2d")},
}


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("configs")
    shutil.copytree(CONFIGS, root, dirs_exist_ok=True)
    for rel, text in BASE.items():
        path = root / rel
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return root


def compose(config_dir, experiment):
    from hydra import compose as hydra_compose, initialize_config_dir
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        cfg = hydra_compose(config_name="config", overrides=[f"experiment={experiment}"])
    return OmegaConf.to_container(cfg, resolve=True)


def build(cfg):
    problem_kw = dict(cfg["problem"])
    model_kw = dict(cfg["model"])
    problem = problems.get(problem_kw.pop("name"))(**problem_kw)
    solver = solvers.get(model_kw.pop("name"))(**model_kw)
    stages = parse_stages(cfg["optim"]["stages"])
    trainer = Trainer(stages=stages, **{**cfg["trainer"], "progress": False})
    return problem, solver, stages, trainer


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_builds(config_dir, experiment):
    cfg = compose(config_dir, experiment)
    problem, solver, stages, trainer = build(cfg)
    assert [s.name for s in stages] == ["adam", "ssbroyden"]
    assert stages[1].spec.closure and stages[1].time_limit > 0
    assert str(trainer.dtype) == "torch.float64"
    assert problem.name == {"burgers_2nd_order": "burgers", "convection_beta30": "convection",
                            "helmholtz_pinn": "helmholtz2d"}[experiment]
    assert solver.width * solver.depth <= 100  # small enough for the dense method


def test_burgers_experiment_values(config_dir):
    cfg = compose(config_dir, "burgers_2nd_order")
    assert cfg["problem"]["hard"] is True
    assert (cfg["model"]["width"], cfg["model"]["depth"], cfg["model"]["n_interior"]) == \
        (20, 3, 8000)


@pytest.mark.parametrize("schedule", sorted(p.stem for p in (CONFIGS / "optim").glob("*.yaml")))
def test_optim_entries_parse(schedule):
    stages = parse_stages(OmegaConf.to_container(OmegaConf.load(CONFIGS / "optim" /
                                                                f"{schedule}.yaml"))["stages"])
    assert stages and all(s.steps > 0 for s in stages)
