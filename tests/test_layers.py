"""The layers import downwards only: solver families (models) and the writers (io) never import
the training loop (train) at module level."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "physolve"


def module_level_imports(path: Path) -> list[str]:
    """Absolute dotted names of the modules `path` imports outside functions."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    names = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = parts[:len(parts) - node.level] if node.level else []
            names.append(".".join(base + ([node.module] if node.module else [])))
    return names


@pytest.mark.parametrize("layer", ["io", "models", "pde", "geometry"])
def test_lower_layers_do_not_import_train(layer):
    offenders = {str(p.relative_to(PACKAGE)): name
                 for p in sorted((PACKAGE / layer).rglob("*.py"))
                 for name in module_level_imports(p) if name.startswith("physolve.train")}
    assert offenders == {}


def test_old_import_paths_still_work():
    from physolve.hooks import Callback
    from physolve.precision import resolve_dtype
    from physolve.train import Callback as train_callback
    from physolve.train.callbacks import Callback as callbacks_callback
    from physolve.train.precision import resolve_dtype as train_resolve_dtype

    assert Callback is train_callback is callbacks_callback
    assert resolve_dtype is train_resolve_dtype
