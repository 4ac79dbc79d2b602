"""An experiment's composed run config, as `physolve train experiment=<name>` builds it."""
from __future__ import annotations


def compose_experiment(experiment: str, overrides=()) -> dict:
    """The resolved config of `experiment=<name>` plus Hydra `overrides`, as plain containers
    (Hydra's compose API over physolve's config folder)."""
    from hydra import compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    from ..config import config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base=None):
        cfg = compose("config", overrides=[f"experiment={experiment}", *overrides])
    config = OmegaConf.to_container(cfg, resolve=True)
    config.pop("resume", None)  # a key of the command (physolve.cli), not of the run
    return config
