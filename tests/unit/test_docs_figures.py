"""Every figure marked in README.md and docs/*.md is what its results file in docs/results/ gives
(docs/render.py), and every results file says when, with which command, on which machine and under
which load it was measured."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("render", REPO / "docs" / "render.py")
render = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render)


@pytest.fixture(scope="module")
def results():
    return render.load_results()


def test_every_results_file_says_where_its_figures_come_from(results):
    assert results and not render.missing_metadata(results)
    for name, content in results.items():
        if content["load_average"] is None or isinstance(content["load_average"], str):  # not measured by the run
            assert content.get("recorded_from"), name


@pytest.mark.parametrize("page", render.PAGES, ids=lambda p: p.name)
def test_each_figure_on_the_page_is_its_results_files(page, results):
    _, changes = render.render(page.read_text(), results)
    assert not changes, "\n".join(f"{page.name}:{line}: {ref}: page {shown!r}, results {new!r}"
                                  for line, ref, shown, new in changes) + "\n(python docs/render.py updates the pages)"


def test_a_stale_figure_is_found_and_rendered_anew(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "speed.json").write_text(json.dumps({"date": "2026-12-03", "command": "python b.py", "machine": "m",
                                                   "load_average": [1.0, 1.0, 1.0], "ms": {"50": 1.534, "10": 0.7}}))
    page = ("took <!-- r:speed/ms/50|.2f -->1.26<!-- /r --> ms, "
            "<!-- r:=pct(r(\"speed/ms/50\"), r(\"speed/ms/10\"))|+.0f -->+119<!-- /r --> % more")
    new, changes = render.render(page, render.load_results(folder))
    assert [(ref, shown, rendered) for _, ref, shown, rendered in changes] == [("speed/ms/50|.2f", "1.26", "1.53")]
    assert new.startswith("took <!-- r:speed/ms/50|.2f -->1.53<!-- /r --> ms")
    assert render.show(-11.34, "+.1f") == "\u221211.3" and render.show([["a", "b"], [1, 2]]) == "\n| a | b |\n| --- | --- |\n| 1 | 2 |\n"


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
