import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def find_asset(kind: str, name: str) -> Path | None:
    """A bundled asset from the repository's ``weights/``/``videos/`` or ``../shared`` beside the repository."""
    for base in (REPO / kind, SHARED / kind):
        if (base / name).is_file():
            return base / name
    return None


@pytest.fixture(scope="session")
def concourse() -> Path:
    path = find_asset("videos", "concourse.mp4")
    if path is None:
        pytest.skip("videos/concourse.mp4 not available (run `make assets` where ../shared exists)")
    return path


@pytest.fixture(scope="session")
def detector_weights(tmp_path_factory) -> Path:
    path = find_asset("weights", "yolov8n_int8.tflite")
    if path is None:
        pytest.skip("weights/yolov8n_int8.tflite not available (run `make assets` where ../shared exists)")
    copy = tmp_path_factory.mktemp("weights") / path.name
    shutil.copyfile(path, copy)
    return copy


def pytest_collection_modifyitems(items):
    """Everything under tests/e2e/ is end to end (real detector, videos, subprocesses): ``-m "not e2e"`` skips it."""
    for item in items:
        if "/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)
