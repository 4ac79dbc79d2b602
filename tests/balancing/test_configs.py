"""Balancing, causal training and network options from configs: the experiment
poisson2d_c_balanced builds with no hand-picked weights; bad settings stop with the key, the
value and the allowed values."""
import pytest
from hydra import compose, initialize_config_dir

from physolve.config import ConfigError, build, config_dir, validate
from physolve.train.balancing import GradNorm


def _compose(overrides):
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    from omegaconf import OmegaConf

    config = OmegaConf.to_container(cfg, resolve=True)
    config.pop("resume", None)
    config.pop("hydra", None)
    return config


def test_poisson2d_c_balanced_builds_without_hand_picked_weights():
    problem, solver, trainer = build(validate(_compose(["experiment=poisson2d_c_balanced"])))
    assert problem.name == "poisson2d_c"
    assert solver.weights == {} and all(c.weight == 1.0 for c in problem.conditions)
    assert isinstance(solver.balancer, GradNorm)
    assert (solver.balancer.every, solver.balancer.alpha, solver.balancer.mode) == \
        (100, 0.9, "max_mean")
    assert [str(s) for s in trainer.stages] == ["adam:1000", "lbfgs:10000"]
    assert trainer.time_limit == 1200 and trainer.clock.__name__ == "process_time"
    assert set(solver.balancer.lam) == {"pde", "dirichlet0", "dirichlet1"}


def test_recipes_from_the_command_line_build():
    config = _compose(["problem=allen_cahn", "model.architecture=modified_mlp",
                       "model.periodic=[x]", "model.weight_fact={mean: 1.0, std: 0.1}",
                       "model.causal={chunks: 16, eps: 1.0}", "model.balance=relobralo",
                       "model.balance_options={alpha: 0.99}", "model.width=8",
                       "model.depth=2", "model.n_interior=64", "model.n_boundary=16"])
    _, solver, _ = build(validate(config))
    assert solver.causal.chunks == 16 and solver.balancer.alpha == 0.99
    assert solver.derivative_path == "taylor"


@pytest.mark.parametrize("overrides, path, text", [
    (["model.balance=gradnorn"], "model.balance",
     "unknown balancer 'gradnorn'; allowed: fixed, gradnorm, ntk, rba, relobralo, sa, softadapt"),
    (["model.balance=gradnorm", "model.balance_options={alpa: 0.5}"], "model.balance_options",
     "balance_options.alpa: unknown option of balancer 'gradnorm'; allowed: every, alpha, mode"),
    (["model.balance=gradnorm", "model.balance_options={every: 0}"], "model.balance_options",
     "balance_options.every: gradnorm needs an integer >= 1, got 0"),
    (["problem=burgers", "model.causal={eps: -1.0}"], "model.causal",
     "causal.eps: must be a number > 0, got -1.0"),
    (["model.causal={chunks: 4}"], "model.causal", "needs a time-dependent problem"),
    (["model.architecture=resnet"], "model.architecture", "one of 'mlp', 'modified_mlp'"),
    (["model.weight_fact={mean: 1.0, sd: 0.1}"], "model.weight_fact",
     "weight_fact.sd: unknown key; allowed: mean, std"),
    (["model.periodic=[z]"], "model.periodic", "periodic names ['z'], not inputs"),
    (["model=lpinn", "problem=convection", "model.balance=pirate"], "model.balance",
     "unknown balancer 'pirate'"),
    (["model.balance=ntk", "model.balance_options={points: 0.5}"], "model.balance_options",
     "balance_options.points: ntk needs an integer >= 1, got 0.5"),
    (["experiment=poisson2d_c_balanced", "model.balance=ntk"], "model.balance_options",
     "balance_options.mode: unknown option of balancer 'ntk'; allowed: every, alpha, points, "
     "max_weight ('mode' is an option of gradnorm; on the command line replace the options "
     "with '~model.balance_options' '+model.balance_options={...}')"),
    (["model=pig", "model.balance_options={gamma: 2.0}", "model.balance=rba"],
     "model.balance_options", "balance_options.gamma: rba needs a number >= 0 and <= 1"),
])
def test_bad_settings_name_the_key_the_value_and_the_allowed(overrides, path, text):
    config = _compose(["model.n_interior=16"] + overrides if "model=" not in overrides[0]
                      else overrides)
    with pytest.raises(ConfigError) as info:
        build(validate(config))
    assert info.value.path == path
    assert text in str(info.value)


def test_balancing_and_causal_import_from_train_and_from_below_the_models():
    import physolve.balancing
    import physolve.causal
    from physolve.train import balancing, causal

    assert balancing.GradNorm is physolve.balancing.GradNorm
    assert causal.CausalWeights is physolve.causal.CausalWeights
