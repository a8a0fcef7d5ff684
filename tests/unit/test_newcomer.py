"""What a newcomer hits first: wrong or missing command-line input, the first lines of a run, the
summary of a batch that failed. None of it loads a model."""

from __future__ import annotations

import json
import os
import re
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from trajpipe import Pipeline, TrajpipeError
from trajpipe.app.cli import build_parser, describe_detector, main
from trajpipe.config import Config, load_config
from trajpipe.core.detections import Detections
from trajpipe.core.frames import GroundPlane
from trajpipe.video.native_log import quiet_runtime_log


@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_a_missing_source_exits_2_and_leaves_no_runs_directory(capsys, tmp_path, monkeypatch, debug):
    monkeypatch.chdir(tmp_path)
    assert main([*debug, "run", "nosuch.mp4"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == "trajpipe: error: source not found: nosuch.mp4"
    assert ("Traceback" in err) == bool(debug)  # --debug adds the traceback, not another exit code
    assert not (tmp_path / "runs").exists()


def test_run_without_a_source_says_what_it_needs(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert "run needs a SOURCE" in err and "key=value" not in err.splitlines()[-1]


@pytest.mark.parametrize("typed, meant", [("confidence", "conf"), ("homograpy", "homography"),
                                          ("forecast_mode", "forecast_modes")])
def test_an_unknown_key_gets_a_did_you_mean(typed, meant):
    with pytest.raises(TrajpipeError, match=f"unknown config key '{typed}'; did you mean '{meant}'"):
        load_config(overrides={typed: "1"})


def test_run_help_gives_every_key_its_meaning_and_allowed_values():
    run = build_parser()._subparsers._group_actions[0].choices["run"]  # the run subcommand's parser
    text = run.format_help()
    for key in fields(Config):
        line = re.search(rf"^  {key.name}=.*\n\s+(.*)$", text, re.M)
        assert line, key.name
        assert line.group(1) == f"{key.metadata['meaning']}; values: {key.metadata['allowed']}"
    assert "values: none | flow | translation" in text and "values: raw | annotated | none" in text


def test_an_image_given_as_homography_is_a_clear_error(tmp_path):
    image = tmp_path / "h.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    with pytest.raises(TrajpipeError, match=r"^homography file .*h.png is not text: give a 3x3 matrix"):
        GroundPlane.from_file(image)


def test_info_outside_the_repository_prints_a_path_that_exists(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no weights/forecaster.pt here: the packaged checkpoint is meant
    assert main(["info"]) == 0
    path = capsys.readouterr().out.splitlines()[0].removeprefix("file: ")
    assert Path(path).is_absolute() and Path(path).is_file()


class _StillDetector:
    names = {0: "person"}

    def __call__(self, frame_bgr):
        return Detections.empty()

    def reset(self):
        pass


@pytest.mark.parametrize("max_frames", [0, -5])
def test_stream_refuses_max_frames_below_one_at_the_call(tmp_path, max_frames):
    pipe = Pipeline(detector=_StillDetector(), forecaster="cv", camera_motion="none")
    with pytest.raises(TrajpipeError, match=f"max_frames must be >= 1 .*got {max_frames}"):
        pipe.stream(tmp_path / "any.mp4", max_frames=max_frames)  # raised before the source is opened


def test_a_failed_batch_input_lists_no_outputs(tmp_path):
    from trajpipe.running.batch import run_batch

    summary = run_batch([str(tmp_path / "nosuch.mp4")], tmp_path / "out", model="weights/yolov8n_int8.tflite"
                        if Path("weights/yolov8n_int8.tflite").is_file() else None, progress=False)
    (entry,) = summary["videos"]
    assert entry["status"] == "failed" and entry["outputs"] == {}
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["videos"][0]["outputs"] == {}


def test_the_detector_line_names_weights_and_runtime():
    class Described:
        def describe(self):
            return "w.xml (OpenVINO, CPU)"

    assert describe_detector(Described()) == "w.xml (OpenVINO, CPU)"
    assert describe_detector(_StillDetector()) == "_StillDetector"


def test_runtime_chatter_is_held_back_and_everything_else_passed_on(capfd):
    with quiet_runtime_log():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\nWARNING: a real problem\n")
    assert capfd.readouterr().err == "WARNING: a real problem\n"
