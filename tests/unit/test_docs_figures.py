"""The pages a reader opens (README.md, docs/*.md) are what their templates in docs/src/ render to with the
results files in docs/results/ (docs/render.py), they hold no references, and every results file says
when, with which command, on which machine and under which load it was measured."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("render", REPO / "docs" / "render.py")
render = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render)
READER_PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


@pytest.fixture(scope="module")
def results():
    return render.load_results()


def test_every_results_file_says_where_its_figures_come_from(results):
    assert results and not render.missing_metadata(results)
    for name, content in results.items():
        if content["load_average"] is None or isinstance(content["load_average"], str):  # not measured by the run
            assert content.get("recorded_from"), name


def test_every_results_file_lives_in_docs_results():
    assert not [path.name for path in (REPO / "docs").rglob("*.json") if path.parent != render.RESULTS]


@pytest.mark.parametrize("template", render.templates(), ids=lambda p: p.name)
def test_each_page_is_its_template_rendered(template, results):
    rendered, errors = render.render(template.read_text(), results)
    assert not errors, errors
    page = render.page_of(template)
    assert page.read_text() == rendered, "\n".join(render.differences(page.read_text(), rendered, page.name)) + \
        f"\n(edit {template.relative_to(REPO)}, then `python docs/render.py` writes {page.relative_to(REPO)})"


@pytest.mark.parametrize("page", READER_PAGES, ids=lambda p: p.name)
def test_no_page_a_reader_opens_holds_references(page):
    text = re.sub(r"`[^`\n]*`", "", page.read_text())  # docs/development.md shows the syntax in code spans
    assert not re.search(r"<!-- (r:|/r|let )", text) and not render.REFERENCE.search(text), page.name


def test_a_page_out_of_step_with_its_results_is_found(tmp_path):
    """A figure changed in the results file (or edited on the page) makes --check's comparison fail and
    names the line; rendering again puts the page in step."""
    folder = tmp_path / "results"
    folder.mkdir()
    speed = {"date": "2026-12-03", "command": "python b.py", "machine": "m", "load_average": [1.0, 1.0, 1.0],
             "ms": {"50": 1.26, "10": 0.7}}
    (folder / "speed.json").write_text(json.dumps(speed))
    template = "# Speed\n\ntook {{speed/ms/50|.2f}} ms, {{=pct(r(\"speed/ms/50\"), r(\"speed/ms/10\"))|+.0f}} % more\n"
    page, errors = render.render(template, render.load_results(folder))
    assert page == "# Speed\n\ntook 1.26 ms, +80 % more\n" and not errors
    (folder / "speed.json").write_text(json.dumps({**speed, "ms": {"50": 1.534, "10": 0.7}}))
    again, _ = render.render(template, render.load_results(folder))
    assert again != page and render.differences(page, again, "speed.md") == [
        "speed.md:3: the page says\n    took 1.26 ms, +80 % more\n  its template and results give\n"
        "    took 1.53 ms, +119 % more"]
    assert render.differences(again, again, "speed.md") == []


def test_check_fails_on_a_page_edited_by_hand(tmp_path, monkeypatch, capsys):
    """``python docs/render.py --check`` exits 1 when a page differs from its template; a render mends it."""
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "n.json").write_text(json.dumps({"date": "d", "command": "c", "machine": "m",
                                                             "load_average": [0.1, 0.1, 0.1], "n": 3}))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "page.md").write_text("<!-- let x = n -->\nthree: {{x/n}}\n")
    monkeypatch.setattr(render, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(render, "TEMPLATES", tmp_path / "src")
    assert render.main([]) == 0 and (tmp_path / "page.md").read_text() == "three: 3\n"
    assert render.main(["--check"]) == 0
    render.main([])
    assert (tmp_path / "page.md").read_text() == "three: 3\n"  # rendering twice changes nothing
    (tmp_path / "page.md").write_text("three: 4\n")
    assert render.main(["--check"]) == 1 and "page.md:1: the page says\n    three: 4" in capsys.readouterr().err
    assert (tmp_path / "page.md").read_text() == "three: 4\n"  # --check changes nothing


def test_the_forms_of_a_reference():
    results = {"t": {"rows": [["a", "b"], [1, 2]], "runs": {"x": {"fps": 1.234, "s": {"median": 2.0, "min": 1.5,
                                                                                         "max": 2.25}}}}}
    assert render.show(-11.34, "+.1f") == "\u221211.3" and render.figure(results, "table t/rows") == \
        "| a | b |\n| --- | --- |\n| 1 | 2 |"
    assert render.figure(results, "spread t/runs/x/s|.2f") == "2.00 (1.50–2.25)"
    scenes = {"e": {"m": {"eth": {"ade": 0.51, "fde": 1.0}, "hotel": {"ade": 0.25, "fde": 0.5}}}}
    assert render.figure(scenes, "each eth hotel of e/m: {*/ade|.2f} / {*/fde|.1f}") == "0.51 / 1.0 | 0.25 / 0.5"
    rows = {"c": {"rows": [{"f": "lstm", "clip": "pan", "px": 48.1}, {"f": "cv", "clip": "pan", "px": 60.04},
                           {"f": "lstm", "clip": "zoom", "px": 51.0}]}}
    assert render.figure(rows, "where c/rows f=lstm clip=pan: {px|.1f} against {f=cv px|.0f}") == "48.1 against 60"
    page, errors = render.render("<!-- let e = e/m -->\n{{e/hotel/fde}}\n", scenes)
    assert page == "0.5\n" and not errors  # an alias stands for its path; its line is not on the page
    machines = {"a": {"machine": "2 x AMD EPYC (AVX2, no AVX-512), x86_64, Python 3.11.7"}, "b": {"machine": "x86_64"}}
    assert render.figure(machines, "cpu a") == "2 x AMD EPYC (AVX2, no AVX-512)" and render.figure(machines, "cpu b") == "x86_64"
    page, errors = render.render("<!-- let x = t/runs/x -->\n{{x/fps|.2f}}\n{{t/runs/y/fps}}\n", results)
    assert page.startswith("1.23\n[no figure: KeyError") and errors[0][:2] == (3, "t/runs/y/fps")  # the template's line


def test_a_benchmark_writes_what_the_renderer_reads(tmp_path, monkeypatch):
    """benchmarks/common.write_results: figures with their provenance; ``merge`` keeps an earlier run's
    entries that this run did not measure (a benchmark run on one of its videos)."""
    spec = importlib.util.spec_from_file_location("bench_common", REPO / "benchmarks" / "common.py")
    common = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(common)
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    monkeypatch.setattr(common, "REPO", tmp_path.parent)
    common.write_results("clips", {"videos": {"a.mp4": {"fps": 10.0}, "b.mp4": {"fps": 12.0}}})
    common.write_results("clips", {"videos": {"a.mp4": {"fps": 11.0}}}, merge=("videos",))
    results = render.load_results(tmp_path)
    assert not render.missing_metadata(results)
    assert results["clips"]["videos"] == {"a.mp4": {"fps": 11.0}, "b.mp4": {"fps": 12.0}}
    assert render.figure(results, "clips/videos/b.mp4/fps|.1f") == "12.0"
    assert len(results["clips"]["date"]) == 10 and results["clips"]["machine"]
