"""The Python examples of README.md and docs/*.md run as written (from the repository root, after `make assets`).

Every ```python block is collected; a block that is not meant to run on its own is written as ```text or
```pycon instead. The ids name the file and the block's number in it, e.g. ``docs/api.md:block2``. A block
with ``if __name__ == "__main__":`` is saved as a file and run with Python, as its user would. An example
that promises a forecast, a closest approach or an MCAP forecast must show one (``PROMISES``).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


from conftest import cut_clip

pytestmark = pytest.mark.e2e  # the real detector on the bundled video

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCKS = [(page.relative_to(REPO).as_posix(), i, code)
          for page in PAGES for i, code in enumerate(FENCE.findall(page.read_text()))]


# What an example's text promises, and what its run must then show: (namespace after the run, its output).
PROMISES = {
    "when, metres = track.forecast.closest_approach": ("a closest approach", lambda names, out: "when" in names),
    "when, distance = nearest.forecast.closest_approach": ("a closest approach", lambda names, out: "when" in names),
    "read_records(": ("an MCAP forecast", lambda names, out: names.get("frames_with_forecasts", 0) > 0),
    "track.forecast.points_world[-1]": ("a forecast in metres", lambda names, out: out.strip() != ""),
    "times, points = track.forecast.times": ("a forecast", lambda names, out: "times" in names),
    "old enough to forecast": ("a forecast drawn", lambda names, out: any(t.forecast is not None for t in names["result"].tracks)),
}
BATCH_CLIP_FRAMES = 12


@pytest.fixture(scope="module")
def batch_example(tmp_path_factory, concourse):
    """docs/batch.md's run_batch example saved as a file and run as ``python example.py`` from the
    repository root, on a short clip in place of videos/ (the whole videos would take minutes): its output
    directory and what it printed."""
    block = next(code for name, _, code in BLOCKS if name == "docs/batch.md" and "run_batch(" in code)
    root = tmp_path_factory.mktemp("batch_example")
    cut_clip(concourse, root / "videos" / "clip.mp4", BATCH_CLIP_FRAMES)
    out = root / "out"
    script = root / "example.py"
    script.write_text(block.replace('"videos/"', repr(str(root / "videos"))).replace('"runs/batch"', repr(str(out))))
    done = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    return out, done.stdout


def test_examples_found():
    pages = {name for name, _, _ in BLOCKS}
    assert "README.md" in pages and "docs/api.md" in pages, pages


@pytest.mark.parametrize("name, index, code", BLOCKS, ids=[f"{name}:block{i}" for name, i, _ in BLOCKS])
def test_python_example(name, index, code, monkeypatch, tmp_path, concourse, detector_weights, capsys, request):
    needs = {"weights/yolov8n_int8.tflite": "weights/yolov8n_int8.tflite", "videos/concourse.mp4": "videos/concourse.mp4",
             "weights/forecaster.pt": "weights/forecaster.pt", '"lstm"': "weights/forecaster.pt"}
    for marker, needed in needs.items():
        if marker in code and not (REPO / needed).is_file():
            pytest.skip(f"{needed} missing")
    if 'if __name__ == "__main__":' in code:  # saved as a file and run, as a user would
        out, printed = request.getfixturevalue("batch_example")
        assert f"clip.mp4 ok {BATCH_CLIP_FRAMES} " in printed, printed
        assert (out / "tracks.parquet").is_file() and (out / "summary.json").is_file()
        return
    if "runs/batch" in code:  # the query of the batch example's output
        code = code.replace("runs/batch", str(request.getfixturevalue("batch_example")[0]))
    if '"forecaster.onnx"' in code:  # the file the docs' export command makes
        if not (REPO / "weights/forecaster.pt").is_file():
            pytest.skip("weights/forecaster.pt missing")
        onnx_path = tmp_path / "forecaster.onnx"
        export = [sys.executable, "-m", "trajpipe", "export", "--forecaster", str(REPO / "weights/forecaster.pt"),
                  "--format", "onnx", "--out", str(onnx_path)]
        done = subprocess.run(export, cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        code = code.replace('"forecaster.onnx"', repr(str(onnx_path)))
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("ROS_DOMAIN_ID", str(100 + os.getpid() % 100))  # ROS 2 examples: a DDS domain of this run's own
    names = {"__name__": "readme"}
    exec(compile(code, f"{name} (python block {index})", "exec"), names)
    printed = capsys.readouterr().out
    for marker, (promise, shown) in PROMISES.items():
        if marker in code:
            assert shown(names, printed), f"{name} block {index} promises {promise} but shows none"
