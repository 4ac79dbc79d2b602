"""A run config composed as `physolve train experiment=NAME OVERRIDES` composes it, for
benchmarks that run the shipped experiments (so a row and the command line train the same)."""
from __future__ import annotations

from typing import Sequence


def compose_experiment(experiment: str, overrides: Sequence[str] = ()) -> dict:
    """The composed config (plain containers) of `experiment` with Hydra `overrides`."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from ..config import config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("config", overrides=[f"experiment={experiment}", *overrides])
    config = OmegaConf.to_container(cfg, resolve=True)
    config.pop("resume", None)
    config.pop("hydra", None)
    return config
