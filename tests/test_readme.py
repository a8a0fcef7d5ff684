"""The README's Python examples run as written (from the repository root, after `make assets`)."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_python_example(code, monkeypatch, concourse, detector_weights):
    needs = {"weights/yolov8n_int8.tflite": "weights/yolov8n_int8.tflite", "videos/concourse.mp4": "videos/concourse.mp4",
             "weights/forecaster.pt": "weights/forecaster.pt", '"lstm"': "weights/forecaster.pt"}
    for marker, needed in needs.items():
        if marker in code and not (REPO / needed).is_file():
            pytest.skip(f"{needed} missing")
    if "runs/batch" in code:
        pytest.skip("the batch examples run in tests/test_batch.py, on short clips")
    monkeypatch.chdir(REPO)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
