"""Render the pages a reader opens (README.md, docs/*.md) from their templates in docs/src/ and the
results files in docs/results/.

A template is the page as Markdown with its measured figures written as references to the results file
that holds them, between double braces:

    LSTM FDE {{video_forecast/videos/concourse.mp4/LSTM, flow/FDE_px|.1f}} px

names ``docs/results/video_forecast.json`` and the path of the value inside it, ``/``-separated (list
items by index); after ``|`` an optional format spec (Python's, with ``+`` meaning a sign always and
U+2212 for minus, as the pages print it). The forms:

- ``{{=EXPR|spec}}``: a figure derived from others, a Python expression with ``r("name/key/...")`` for a
  value, ``pct(a, b)`` for ``a`` against ``b`` in percent (``100 * (a / b - 1)``) and
  ``find("name/rows", key=value, ...)`` for the first row of a list with those values.
- ``{{spread name/path|.1f}}``: a ``{"median", "min", "max"}`` figure as ``median (min–max)``.
- ``{{table name/path}}`` on a line of its own: a list of rows (header row first) as a Markdown table.
- ``{{each eth hotel univ of name/path: {*/ade|.3f} / {*/fde|.3f}}}``: table cells, one per key, ``*`` in a
  field ``{sub/path|spec}`` standing for the key, the fields inside ``name/path``; joined by `` | ``.
- ``{{where name/rows key=value ...: {field|spec} {key=value field|spec} ...}}``: fields of the first row of
  a list whose values match (every value compared as text); a field's own ``key=value`` overrides one.
- ``{{cpu name}}``: the CPU that measured results file ``name`` (its ``machine`` up to the first comma
  outside parentheses), e.g. ``2 x AMD EPYC``.
- ``{{ckpt:weights/forecaster.pt:meta/val_ade|.3f}}``: a value of a shipped checkpoint's training notes;
  ``{{info weights/forecaster.pt}}`` on a line of its own: what ``trajpipe info`` prints for it.

A line ``<!-- let NAME = name/path -->`` in a template makes ``NAME/...`` short for ``name/path/...`` in the
template's references (the line is not copied to the page). ``docs/src/README.md`` renders into ``README.md``,
``docs/src/NAME.md`` into ``docs/NAME.md``; pages without figures have no template. The rendered page
holds no references, only the figures.

Every results file holds ``date``, ``command``, ``machine`` and ``load_average`` (null where the figure
was recorded before results files existed: then ``recorded_from`` says where it was taken from).

    python docs/render.py           # write the pages from their templates and docs/results/*.json
    python docs/render.py --check   # change nothing; list each page line that differs; exit 1 if any

tests/unit/test_docs_figures.py runs the check.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
RESULTS = DOCS / "results"
TEMPLATES = DOCS / "src"
REQUIRED = ("date", "command", "machine", "load_average")
REFERENCE = re.compile(r"\{\{(?P<ref>(?:[^{}\n]|\{[^{}\n]*\})+)\}\}")  # single braces inside: fields
ALIAS = re.compile(r"^<!-- let (?P<name>[\w-]+) = (?P<path>.+?) -->\n", re.M)
CPU = re.compile(r"(?:[^,(]|\([^)]*\))+")  # up to the first comma outside parentheses
ROW_FIELD = re.compile(r"\{(?P<ref>[^{}]+)\}")
MINUS = "\u2212"


def page_of(template: Path) -> Path:
    """The page a reader opens that ``template`` (``docs/src/NAME.md``) renders into."""
    return REPO / "README.md" if template.name == "README.md" else template.parent.parent / template.name


def shown(path: Path) -> str:
    """``path`` as the messages name it: from the repository root where it is inside."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def templates(folder: Path | None = None) -> list[Path]:
    """Every template in ``folder`` (default ``docs/src/``)."""
    return sorted((folder or TEMPLATES).glob("*.md"))


def load_results(folder: Path | None = None) -> dict[str, dict]:
    """``{name: content}`` of every ``folder/*.json`` (default ``docs/results/``)."""
    return {path.stem: json.loads(path.read_text()) for path in sorted((folder or RESULTS).glob("*.json"))}


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
    """A value as the pages print it: ``spec`` formats numbers; ``+`` gives every sign, minus as U+2212; a
    list of rows (header first) is a Markdown table."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        rows = [[show(cell) for cell in row] for row in value]
        rows.insert(1, ["---"] * len(rows[0]))
        return "\n".join("| " + " | ".join(row) + " |" for row in rows)
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
    return "```text\n" + "\n".join(lines) + "\n```"


def checkpoint_notes(path: str) -> dict:
    """The training notes (``meta``) of a shipped checkpoint: its own results file."""
    import torch

    return {"meta": torch.load(REPO / path, map_location="cpu", weights_only=False)["meta"]}


def cells(results: dict[str, dict], ref: str) -> str:
    """``each KEY KEY ... of name/path: CELL``: ``CELL`` once per key, ``*`` in its fields standing for the
    key, joined as table cells."""
    keys, _, rest = ref.partition(" of ")
    path, _, cell = rest.partition(":")
    inside = {"entry": lookup(results, path.strip())}

    def one(key: str) -> str:
        def field(match: re.Match) -> str:
            sub, _, spec = match["ref"].replace("*", key).partition("|")
            return show(lookup(inside, f"entry/{sub}"), spec)

        return ROW_FIELD.sub(field, cell.strip())

    return " | ".join(one(key) for key in keys.split())


def matching_fields(results: dict[str, dict], ref: str) -> str:
    """``where name/rows key=value ...: TEXT``: ``TEXT`` with each field ``{[key=value ...] field|spec}`` the
    ``field`` of the first row of ``name/rows`` whose values match the conditions (the field's own
    conditions override the shared ones)."""
    head, _, text = ref.partition(":")
    path, *shared = head.split()
    rows = lookup(results, path)

    def field(match: re.Match) -> str:
        words, _, spec = match["ref"].partition("|")
        *own, key = words.split()
        where = dict(pair.split("=", 1) for pair in [*shared, *own])
        row = next(row for row in rows if all(str(row.get(k)) == v for k, v in where.items()))
        return show(row[key], spec)

    return ROW_FIELD.sub(field, text.strip())


def figure(results: dict[str, dict], ref: str) -> str:
    """The text a reference renders to."""
    if ref.startswith("info "):
        return checkpoint_info_block(ref.removeprefix("info ").strip())
    if ref.startswith("where "):
        return matching_fields(results, ref.removeprefix("where "))
    if ref.startswith("each "):
        return cells(results, ref.removeprefix("each "))
    ref, _, spec = ref.partition("|")
    spec = spec.strip()
    if ref.startswith("table "):
        return show(lookup(results, ref.removeprefix("table ").strip()))
    if ref.startswith("cpu "):
        return CPU.match(lookup(results, ref.removeprefix("cpu ").strip() + "/machine"))[0]
    if ref.startswith("spread "):
        stats = lookup(results, ref.removeprefix("spread ").strip())
        return f"{show(stats['median'], spec)} ({show(stats['min'], spec)}–{show(stats['max'], spec)})"
    if ref.startswith("ckpt:"):  # ckpt:weights/forecaster.pt:meta/val_ade
        path, _, keys = ref.removeprefix("ckpt:").partition(":")
        return show(lookup({"notes": checkpoint_notes(path.strip())}, f"notes/{keys.strip()}"), spec)
    if ref.startswith("="):
        helpers = {"r": lambda path: lookup(results, path), "pct": lambda a, b: 100 * (a / b - 1),
                   "find": lambda path, **where: next(row for row in lookup(results, path)
                                                      if all(row.get(k) == v for k, v in where.items())),
                   "min": min, "max": max, "abs": abs, "round": round, "sum": sum, "len": len}
        return show(eval(ref[1:], {"__builtins__": {}, **helpers}), spec)  # noqa: S307 - our own templates
    return show(lookup(results, ref.strip()), spec)


def with_aliases(results: dict[str, dict], aliases: dict[str, str]) -> dict:
    """``results`` where each alias name also stands for the value at its path."""
    return {**results, **{name: lookup(results, path) for name, path in aliases.items()}}


def render(template: str, results: dict[str, dict]) -> tuple[str, list[tuple[int, str, str]]]:
    """The page ``template`` renders to, and ``(line, reference, error)`` for each reference that gives
    no figure (shown on the page as ``[no figure: ...]``)."""
    errors = []
    aliases = {match["name"]: match["path"].strip() for match in ALIAS.finditer(template)}
    try:
        known = with_aliases(results, aliases)
    except (KeyError, IndexError, ValueError) as exc:
        known = results
        errors.append((1, "let", f"{type(exc).__name__} {exc}"))

    def replace(match: re.Match) -> str:
        try:
            return figure(known, match["ref"])
        except (KeyError, IndexError, ValueError, TypeError, NameError, SyntaxError, StopIteration) as exc:
            errors.append((template.count("\n", 0, match.start()) + 1, match["ref"], f"{type(exc).__name__} {exc}"))
            return f"[no figure: {type(exc).__name__} {exc}]"

    return ALIAS.sub("", REFERENCE.sub(replace, template)), errors  # line numbers: the template's


def differences(page: str, rendered: str, name: str) -> list[str]:
    """One line per line of ``page`` that differs from what its template renders to."""
    out = []
    matcher = difflib.SequenceMatcher(None, page.splitlines(), rendered.splitlines(), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            says = "\n    ".join(page.splitlines()[i1:i2]) or "(nothing)"
            wanted = "\n    ".join(rendered.splitlines()[j1:j2]) or "(nothing)"
            out.append(f"{name}:{i1 + 1}: the page says\n    {says}\n  its template and results give\n    {wanted}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a page differs from its template and results files")
    args = parser.parse_args(argv)
    results = load_results()
    problems = missing_metadata(results)
    for template in templates():
        page = page_of(template)
        rendered, errors = render(template.read_text(), results)
        problems += [f"{shown(template)}:{line}: {{{{{ref}}}}}: {error}" for line, ref, error in errors]
        current = page.read_text() if page.is_file() else ""
        if rendered == current:
            continue
        if args.check:
            problems += differences(current, rendered, shown(page))
        else:
            page.write_text(rendered)
    for problem in problems:
        print(problem, file=sys.stderr)
    if args.check:
        if problems:
            print("(edit the template in docs/src/, then `python docs/render.py` writes the page)", file=sys.stderr)
        return 1 if problems else 0
    print(f"rendered {len(templates())} pages from {len(results)} results files", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
