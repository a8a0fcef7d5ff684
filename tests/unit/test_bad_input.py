"""Pipeline.process with bad input, around a scripted detector (no YOLO): bad frames and timestamps are
clear errors that change nothing, bad detections are dropped without touching the other tracks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trajpipe import Pipeline, TrajpipeError
from trajpipe.errors import TrajpipeWarning
from trajpipe.core.detections import Detections

FPS = 25
FRAME = np.zeros((48, 64, 3), np.uint8)


class ScriptedDetector:
    """Three people walking right, side by side; ``edit(step, xyxy, ids)`` may change a frame's boxes."""

    names = {0: "person"}

    def __init__(self, edit=None):
        self.calls, self.shapes, self.edit = 0, [], edit

    def __call__(self, frame_bgr: np.ndarray) -> Detections:
        self.shapes.append(frame_bgr.shape)
        step, self.calls = self.calls, self.calls + 1
        ids = np.array([1, 2, 3], np.int64)
        xyxy = np.array([[4.0 * step, 100.0 * k, 4.0 * step + 20, 100.0 * k + 60] for k in range(3)], np.float32)
        if self.edit is not None:
            xyxy, ids = self.edit(step, xyxy, ids)
        n = len(ids)
        return Detections(xyxy, np.full(n, 0.9, np.float32), np.zeros(n, np.int64), ids)

    def reset(self) -> None:
        self.calls = 0


def pipeline(edit=None) -> Pipeline:
    return Pipeline(detector=ScriptedDetector(edit), forecaster="cv", camera_motion="none", min_track_age=0.4)


def run(pipe: Pipeline, frames: int = 30):
    return [pipe.process(FRAME, step / FPS) for step in range(frames)]


def test_a_bad_detection_is_dropped_and_the_others_never_notice():
    def nan_box(step, xyxy, ids):
        if step == 20:
            xyxy[1, 0] = np.nan
        return xyxy, ids

    def no_box(step, xyxy, ids):
        keep = [0, 2] if step == 20 else [0, 1, 2]
        return xyxy[keep], ids[keep]

    with pytest.warns(TrajpipeWarning, match=r"dropped the detections of tracks \[2\]"):
        got = run(pipeline(nan_box))
    expected = run(pipeline(no_box))
    assert [t.id for t in got[20].tracks] == [1, 3]  # not in that frame's result
    for a, b in zip(got, expected):
        assert [t.id for t in a.tracks] == [t.id for t in b.tracks]
        for x, y in zip(a.tracks, b.tracks):
            np.testing.assert_array_equal(x.box, y.box)
            assert (x.forecast is None) == (y.forecast is None)
            if x.forecast is not None:
                np.testing.assert_array_equal(x.forecast.points, y.forecast.points)
                assert np.isfinite(x.forecast.points).all()


@pytest.mark.parametrize("frame, message", [
    (None, "frame is None"),
    (np.zeros((3, 48, 64), np.uint8), "channels-first"),
    (FRAME.astype(np.float32), "dtype float32"),
    (np.zeros((0, 0, 3), np.uint8), "frame is empty"),
])
def test_bad_frames_are_clear_errors_that_change_nothing(frame, message):
    pipe = pipeline()
    pipe.process(FRAME, 0.0)
    with pytest.raises(TrajpipeError, match=f"{message}.*expected an HxWx3 uint8 BGR image|expected an HxWx3 uint8 BGR image.*{message}"):
        pipe.process(frame, 0.04)
    assert pipe.detector.calls == 1  # the detector never saw it
    assert pipe.process(FRAME, 0.04).frame_index == 1


def test_grey_frames_are_converted_to_bgr():
    pipe = pipeline()
    result = pipe.process(np.full((48, 64), 7, np.uint8), 0.0)
    assert pipe.detector.shapes == [(48, 64, 3)] and result.image.shape == (48, 64, 3)


def test_timestamps_finite_and_increasing_and_the_error_says_reset():
    pipe = pipeline()
    pipe.process(FRAME, 5.0)
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="timestamp must be a finite number of seconds"):
            pipe.process(FRAME, bad)
    with pytest.raises(ValueError, match=r"backwards \(4.0 s after 5.0 s\); call reset\(\)"):
        pipe.process(FRAME, 4.0)
    assert pipe.detector.calls == 1  # refused before the detector's state moved on
    pipe.reset()
    assert pipe.process(FRAME, 4.0).frame_index == 0


def test_milliseconds_warn_that_timestamps_are_seconds():
    pipe = pipeline()
    with pytest.warns(TrajpipeWarning, match=r"40 s between consecutive samples .*timestamps must be in seconds"):
        for step in range(3):
            pipe.process(FRAME, step * 40.0)
