"""Render the figures of README.md and docs/*.md from the results files in docs/results/.

Every measured figure in the pages sits between two markers that say where it comes from:

    LSTM FDE <!-- r:video_forecast/videos/concourse.mp4/LSTM, flow/FDE_px|.1f -->46.5<!-- /r --> px

``r:`` is followed by the results file's name (``docs/results/video_forecast.json``) and the path of the
value inside it, ``/``-separated (list items by index); after ``|`` an optional format spec (Python's,
with ``+`` meaning a sign always and U+2212 for minus, as the pages print it). ``r:=`` instead takes a
Python expression for a figure derived from others, with ``r("name/key/...")`` for a value and
``pct(a, b)`` for ``a`` against ``b`` in percent (``100 * (a / b - 1)``) and ``find("name/rows", key=value, ...)``
for the first row of a list with those values, e.g.
``r:=pct(r("peer/videos/concourse/median_fps/trajpipe"), r("peer/videos/concourse/median_fps/peer"))|+.1f``.

A value that is a list of rows renders as a Markdown table, its first row the header (put such a
marker on lines of its own, before and after the table). ``r:ckpt:weights/forecaster.pt:meta/val_ade|.3f`` is a value of a shipped checkpoint's training notes, and
``r:info weights/forecaster.pt`` renders what ``trajpipe info`` prints for that checkpoint (its training
notes are the results of its training). Between the markers is the rendered text, so the raw Markdown
stays readable; the renderer rewrites it.

Every results file holds ``date``, ``command``, ``machine`` and ``load_average`` (null where the figure
was recorded before results files existed: then ``recorded_from`` says where it was taken from).

    python docs/render.py           # rewrite the pages from docs/results/*.json
    python docs/render.py --check   # list the figures that differ from their results file; exit 1 if any

tests/unit/test_docs_figures.py runs the check.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
RESULTS = DOCS / "results"
PAGES = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
REQUIRED = ("date", "command", "machine", "load_average")
MARKER = re.compile(r"<!-- r:(?P<ref>.+?) -->(?P<text>.*?)<!-- /r -->", re.S)
MINUS = "\u2212"


def load_results(folder: Path = RESULTS) -> dict[str, dict]:
    """``{name: content}`` of every ``folder/*.json``."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def missing_metadata(results: dict[str, dict]) -> list[str]:
    """Results files without the keys that say when, how and where they were measured."""
    return [f"{name}.json lacks {key!r}" for name, content in results.items() for key in REQUIRED if key not in content]


def lookup(results: dict[str, dict], path: str):
    """The value at ``name/key/key/...``; list items by index."""
    name, *keys = path.split("/")
    value = results[name]
    for key in keys:
        value = value[int(key)] if isinstance(value, list) else value[key]
    return value


def show(value, spec: str = "") -> str:
    """A value as the pages print it: ``spec`` formats numbers; ``+`` gives every sign, minus as U+2212."""
    if isinstance(value, list) and value and isinstance(value[0], list):  # a table: header row first
        rows = [[show(cell) for cell in row] for row in value]
        rows.insert(1, ["---"] * len(rows[0]))
        return "\n" + "\n".join("| " + " | ".join(row) + " |" for row in rows) + "\n"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and spec:
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        text = re.sub(r"e([+-])0(\d)", r"e\1\2", format(value, spec))  # 5.0e-6, as the pages write it
        return text.replace("-", MINUS) if "+" in spec else text
    return str(value)


def checkpoint_info_block(path: str) -> str:
    """What ``trajpipe info PATH`` prints for a shipped checkpoint, as a fenced block: the checkpoint
    itself is the results file of its training."""
    sys.path.insert(0, str(REPO))
    from trajpipe.forecast.info import checkpoint_info

    lines = [f"file: {path}", *(f"{key}: {value}" for key, value in checkpoint_info(REPO / path).items())]
    return "\n```text\n" + "\n".join(lines) + "\n```\n"


def checkpoint_notes(path: str) -> dict:
    """The training notes (``meta``) of a shipped checkpoint: its own results file."""
    import torch

    return {"meta": torch.load(REPO / path, map_location="cpu", weights_only=False)["meta"]}


def figure(results: dict[str, dict], ref: str) -> str:
    """The text a marker's ``ref`` renders to."""
    if ref.startswith("info "):
        return checkpoint_info_block(ref.removeprefix("info ").strip())
    ref, _, spec = ref.partition("|")
    if ref.startswith("ckpt:"):  # ckpt:weights/forecaster.pt:meta/val_ade
        path, _, keys = ref.removeprefix("ckpt:").partition(":")
        return show(lookup({"notes": checkpoint_notes(path.strip())}, f"notes/{keys.strip()}"), spec.strip())
    if ref.startswith("="):
        helpers = {"r": lambda path: lookup(results, path), "pct": lambda a, b: 100 * (a / b - 1),
                   "find": lambda path, **where: next(row for row in lookup(results, path)
                                                      if all(row.get(k) == v for k, v in where.items())),
                   "min": min, "max": max, "abs": abs, "round": round, "sum": sum, "len": len}
        value = eval(ref[1:], {"__builtins__": {}, **helpers})  # noqa: S307 - our own pages' expressions
    else:
        value = lookup(results, ref.strip())
    return show(value, spec.strip())


def render(text: str, results: dict[str, dict]) -> tuple[str, list[tuple[int, str, str, str]]]:
    """``text`` with every marker's figure re-rendered, and ``(line, ref, shown, rendered)`` for each
    figure that changed."""
    changes = []

    def replace(match: re.Match) -> str:
        ref, shown = match["ref"], match["text"]
        try:
            rendered = figure(results, ref)
        except (KeyError, IndexError, ValueError, TypeError, NameError, SyntaxError) as exc:
            rendered = f"[no figure: {type(exc).__name__} {exc}]"
        if rendered != shown:
            changes.append((text.count("\n", 0, match.start()) + 1, ref, shown, rendered))
        return f"<!-- r:{ref} -->{rendered}<!-- /r -->"

    return MARKER.sub(replace, text), changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a figure differs from its results file")
    args = parser.parse_args(argv)
    results = load_results()
    problems = missing_metadata(results)
    for page in PAGES:
        text = page.read_text()
        new, changes = render(text, results)
        for line, ref, shown, rendered in changes:
            problems.append(f"{page.relative_to(REPO)}:{line}: {ref}: page says {shown!r}, results give {rendered!r}")
        if changes and not args.check:
            page.write_text(new)
    for problem in problems:
        print(problem, file=sys.stderr)
    if args.check:
        return 1 if problems else 0
    print(f"rendered {len(PAGES)} pages from {len(results)} results files", file=sys.stderr)
    return 1 if missing_metadata(results) else 0


if __name__ == "__main__":
    sys.exit(main())
