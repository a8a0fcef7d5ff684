"""The Python examples of README.md and docs/*.md run as written (from the repository root, after `make assets`).

Every ```python block is collected; a block that is not meant to run on its own is written as ```text or
```pycon instead. The ids name the file and the block's number in it, e.g. ``docs/api.md:block2``.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


pytestmark = pytest.mark.e2e  # the real detector on the bundled video

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCKS = [(page.relative_to(REPO).as_posix(), i, code)
          for page in PAGES for i, code in enumerate(FENCE.findall(page.read_text()))]


def test_examples_found():
    pages = {name for name, _, _ in BLOCKS}
    assert "README.md" in pages and "docs/api.md" in pages, pages


@pytest.mark.parametrize("name, index, code", BLOCKS, ids=[f"{name}:block{i}" for name, i, _ in BLOCKS])
def test_python_example(name, index, code, monkeypatch, tmp_path, concourse, detector_weights):
    needs = {"weights/yolov8n_int8.tflite": "weights/yolov8n_int8.tflite", "videos/concourse.mp4": "videos/concourse.mp4",
             "weights/forecaster.pt": "weights/forecaster.pt", '"lstm"': "weights/forecaster.pt"}
    for marker, needed in needs.items():
        if marker in code and not (REPO / needed).is_file():
            pytest.skip(f"{needed} missing")
    if "runs/batch" in code:
        pytest.skip("the batch examples run in tests/e2e/test_batch.py, on short clips")
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
    exec(compile(code, f"{name} (python block {index})", "exec"), {"__name__": "readme"})
