"""Rewrite the generated regions of the docs from the configs and the registries.

A region is the text between `<!-- begin:NAME -->` and `<!-- end:NAME -->` in a Markdown file;
everything else is left as it is. Regions:

  configs  the tree of config groups and their entries (configs/*/*.yaml)
  errors   the validation examples, with the messages `physolve train` really prints

    .venv/bin/python tools/gen_docs_lists.py           # rewrite the docs
    .venv/bin/python tools/gen_docs_lists.py --check   # exit 1 if a region is out of date

tests/test_docs_snippets.py runs the check, so a config added without regenerating fails the
suite.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the registries of this checkout, not of whichever physolve is installed (an editable install
# of another checkout would list that one's solvers and configs)
sys.path.insert(0, str(ROOT))
DOCS = [ROOT / "docs" / "configs_and_output.md"]

# What each config group holds, in the order the tree lists them.
GROUPS = {
    "problem": "problems",
    "model": "solvers",
    "optim": "optimizer schedules",
    "trainer": "trainer settings",
    "experiment": "complete set-ups (experiment=NAME)",
}
# Command lines whose refusal the docs show: one per kind of mistake.
ERROR_EXAMPLES = [
    ["model.widht=64"],
    ["model.width=wide"],
    ["problem=burger"],
    ["optim.stages.0.name=adamm"],
    ["trainer.dtype=float16"],
    ["trainer.threads=many"],
]


def _wrapped(names: list[str], indent: int, width: int = 96) -> list[str]:
    lines, line = [], ""
    for name in names:
        item = name + ", "
        if line and indent + len(line) + len(item) > width:
            lines.append(line.rstrip())
            line = ""
        line += item
    lines.append(line.rstrip().rstrip(","))
    return lines


def configs_region() -> str:
    from physolve.config import config_dir

    root = config_dir()
    out = ["```", "configs/",
           "  config.yaml        defaults, checkpoint and output settings, where runs go"]
    for group, what in GROUPS.items():
        names = sorted(p.stem for p in (root / group).glob("*.yaml"))
        head = f"  {group + '/':<19}"
        out.append(f"{head}{len(names)} {what}:")
        out += [" " * 21 + line for line in _wrapped(names, 21)]
    out.append("```")
    return "\n".join(out)


def refusal(overrides: list[str]) -> str:
    """The one line `physolve train OVERRIDES` prints when it refuses the config."""
    from physolve import cli

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            cli.main(["train", *overrides])
        except SystemExit as stop:
            if stop.code != cli.CONFIG_ERROR:
                raise RuntimeError(f"{overrides}: exit status {stop.code}, not a refusal")
        else:
            raise RuntimeError(f"{overrides} was accepted (and trained); choose a refused one")
    # the refusal itself; warnings of the libraries (written to stderr too, with this
    # checkout's paths in them) are not part of it
    return "\n".join(line for line in err.getvalue().splitlines() if line.startswith("physolve: "))


def errors_region() -> str:
    lines = ["```"]
    for overrides in ERROR_EXAMPLES:
        lines += ["$ physolve train " + " ".join(overrides), refusal(overrides)]
    return "\n".join(lines + ["```"])


REGIONS = {"configs": configs_region, "errors": errors_region}
_REGION = re.compile(r"(<!-- begin:(\w+) -->\n)(.*?)(<!-- end:\2 -->)", re.S)


def render(text: str, cache: dict | None = None) -> str:
    """`text` with every marked region regenerated."""
    cache = {} if cache is None else cache

    def fill(match):
        name = match.group(2)
        if name not in REGIONS:
            raise ValueError(f"unknown region {name!r}; known: {', '.join(REGIONS)}")
        if name not in cache:
            cache[name] = REGIONS[name]()
        return f"{match.group(1)}{cache[name]}\n{match.group(4)}"

    return _REGION.sub(fill, text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when a region is out of date")
    args = parser.parse_args(argv)
    stale, cache = [], {}
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        new = render(text, cache)
        if new != text:
            stale.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    for path in stale:
        print(f"{'out of date' if args.check else 'rewrote'}: {path.relative_to(ROOT)}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
