"""Every ```python block of the README and docs/ runs, with its training budgets cut.

A block runs as written, in a fresh namespace, in a temporary working directory (files it
writes land there), with every optimisation stage cut to SNIPPET_STEPS steps and no time limit:
the test checks that the documented API exists and is called as documented, not the figures.
A block that is a fragment of a larger program (it uses names it does not define) is marked
with `<!-- skip-snippet: why -->` on the line before it.

The generated lists in the docs (tools/gen_docs_lists.py) are checked here too.
"""
from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from physolve.train import trainer as trainer_module

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SNIPPET_STEPS = 2
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
_SKIP = re.compile(r"<!-- skip-snippet(:[^>]*)? -->\s*$")


def snippets(path: Path) -> list[tuple[int, str, bool]]:
    """(line, code, skipped) of each ```python block in a Markdown file."""
    text = path.read_text(encoding="utf-8")
    out = []
    for match in _BLOCK.finditer(text):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        out.append((text.count("\n", 0, match.start()) + 1, match.group(1),
                    bool(_SKIP.search(before))))
    return out


CASES = [pytest.param(code, id=f"{path.relative_to(ROOT)}:{line}",
                      marks=[pytest.mark.skip(reason="marked skip-snippet")] if skipped else [])
         for path in DOC_FILES for line, code, skipped in snippets(path)]


@pytest.fixture
def short_budgets(monkeypatch):
    parse = trainer_module.parse_stages

    def cut(stages):
        return [dataclasses.replace(s, steps=min(s.steps, SNIPPET_STEPS), time_limit=None)
                for s in parse(stages)]

    monkeypatch.setattr(trainer_module, "parse_stages", cut)


@pytest.fixture
def registries_restored():
    """Blocks may register their own problems: the registries are as before afterwards."""
    from physolve.pde.library import problems

    saved = dict(problems._entries), dict(problems._meta)
    yield
    problems._entries, problems._meta = saved


def test_the_snippet_reader_finds_blocks_and_skip_marks(tmp_path):
    doc = tmp_path / "d.md"
    doc.write_text("```python\na = 1\n```\n\n<!-- skip-snippet: a fragment -->\n"
                   "```python\nb\n```\n```bash\nls\n```\n", encoding="utf-8")
    assert snippets(doc) == [(1, "a = 1\n", False), (6, "b\n", True)]


def test_every_doc_has_been_read():
    # A renamed docs folder or a changed fence style would leave nothing to run.
    assert len(CASES) >= 8


@pytest.mark.parametrize("code", CASES)  # README's first block: its to_vtk("runs/burgers") raised
def test_python_block_runs(code, tmp_path, monkeypatch, short_budgets, registries_restored):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    exec(compile(code, "<snippet>", "exec"), {"__name__": "__snippet__"})


def test_generated_doc_lists_are_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_docs_lists.py"),
                             "--check"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr
                                    + "\nrun: python tools/gen_docs_lists.py")


def test_the_config_list_names_every_config_file():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import gen_docs_lists
    finally:
        sys.path.pop(0)
    region = gen_docs_lists.configs_region()
    for group in ("problem", "model", "optim", "trainer", "experiment"):
        names = sorted(p.stem for p in (ROOT / "configs" / group).glob("*.yaml"))
        assert f"{len(names)} " in region and all(re.search(rf"\b{n}\b", region)
                                                  for n in names)
