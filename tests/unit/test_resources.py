"""The packaged defaults are found from any working directory; a user's own file always wins."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import trajpipe
from trajpipe import Config, Forecaster, TrajpipeError, load_config
from trajpipe.app.cli import main
from trajpipe.forecast.info import checkpoint_info
from trajpipe.registry import forecaster_checkpoint
from trajpipe.resources import PACKAGED, packaged_file, resolve
from trajpipe.video.detector import resolve_tracker

REPO = Path(__file__).resolve().parents[2]
PACKAGE = Path(trajpipe.__file__).parent


def test_repository_paths_are_the_packaged_files():
    """One copy: configs/*.yaml and weights/forecaster.pt in the repository lead to the package's files."""
    for name in PACKAGED:
        assert packaged_file(name).is_file() and packaged_file(name).parent.parent == PACKAGE, name
        assert (REPO / name).resolve() == packaged_file(name).resolve(), name


def test_defaults_from_another_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert forecaster_checkpoint(Config()) == packaged_file("weights/forecaster.pt")
    assert Path(resolve_tracker(Config().tracker)) == packaged_file("configs/tracker.yaml")
    assert load_config("configs/default.yaml") == Config()
    assert Forecaster.load("weights/forecaster.pt").n_modes == 20
    # a file of the user's under the same name wins; any other missing path stays a one-line error
    (tmp_path / "weights").mkdir()
    shutil.copyfile(packaged_file("weights/forecaster.pt"), tmp_path / "weights" / "forecaster.pt")
    assert resolve("weights/forecaster.pt") == Path("weights/forecaster.pt")
    with pytest.raises(TrajpipeError, match="forecaster checkpoint not found: weights/other.pt"):
        forecaster_checkpoint(Config(forecaster_weights="weights/other.pt"))
    with pytest.raises(TrajpipeError, match="tracker must be"):
        resolve_tracker("configs/other.yaml")


def test_info_command(capsys, tmp_path):
    assert main(["info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "file: weights/forecaster.pt"
    info = dict(line.split(": ", 1) for line in lines[1:])
    # the default run's detector too: its weights and the runtime measured for them here (or that none was yet)
    assert info.pop("detector weights") in ("weights/yolov8n_int8.tflite", "yolo26n.pt")  # bundled, or the fallback
    assert any(key.startswith("detector runtime") for key in info)
    info = {key: value for key, value in info.items() if not key.startswith("detector runtime")}
    assert info == checkpoint_info("weights/forecaster.pt")
    assert info["grid"].startswith("8 steps in, 12 out, 0.4 s apart")
    # the shipped checkpoint says what it was trained with (see benchmarks/record_checkpoint_meta.py)
    for key in ("trajpipe version", "training data", "trained"):
        assert "not recorded" not in info[key], (key, info[key])
    assert main(["info", str(tmp_path / "missing.pt")]) == 2
    err = capsys.readouterr()
    assert err.out == "" and err.err.strip() == f"trajpipe: error: forecaster checkpoint not found: {tmp_path / 'missing.pt'}"
