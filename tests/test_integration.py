"""The real detector and tracker on the first frames of the bundled concourse video."""

import json
from collections import Counter

import cv2
import numpy as np
import pytest

from trajpipe import Pipeline
from trajpipe.runner import run


@pytest.fixture(scope="module")
def pipeline(detector_weights):
    with Pipeline(model=str(detector_weights), forecaster="cv", classes=["person"]) as pipe:
        yield pipe


def test_thirty_frames_give_stable_tracks_forecasts_and_a_thirty_frame_video(pipeline, concourse, tmp_path):
    pipeline.reset()
    video, jsonl = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    summary = run(pipeline, concourse, str(video), str(jsonl), max_frames=30, progress=False)
    assert summary.frames == 30 and not summary.interrupted

    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(30))
    np.testing.assert_allclose([r["timestamp"] for r in records], np.arange(30) / 25, atol=1e-3)
    frames_per_id = Counter(t["id"] for r in records for t in r["tracks"])
    assert sum(n >= 25 for n in frames_per_id.values()) >= 10  # ids stay stable across frames
    forecasts = [t["forecast"] for r in records[-5:] for t in r["tracks"] if "forecast" in t]
    assert len(forecasts) >= 10
    for forecast in forecasts:
        assert forecast["t"] == pytest.approx(0.4 * np.arange(1, 13))
        assert np.isfinite(forecast["xy"]).all()

    cap = cv2.VideoCapture(str(video))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 30
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (854, 480)


def test_interrupt_finalises_outputs_up_to_the_last_frame(pipeline, concourse, tmp_path):
    pipeline.reset()
    results = []

    def interrupted_after_frame_8(result):
        results.append(result)
        if len(results) == 8:
            raise KeyboardInterrupt

    summary = run(pipeline, concourse, str(tmp_path / "o.mp4"), str(tmp_path / "o.jsonl"), progress=False,
                  on_result=interrupted_after_frame_8)
    assert summary.interrupted and summary.frames == 8
    lines = (tmp_path / "o.jsonl").read_text().splitlines()
    assert [json.loads(line)["frame"] for line in lines] == list(range(8))
    assert cv2.VideoCapture(str(tmp_path / "o.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) == 8


def test_push_mode_on_real_frames(pipeline, concourse):
    pipeline.reset()
    cap = cv2.VideoCapture(str(concourse))
    results = []
    for i in range(12):
        ok, frame = cap.read()
        assert ok
        results.append(pipeline.process(frame, timestamp=100.0 + i * 0.08))
    assert [r.frame_index for r in results] == list(range(12))
    last = results[-1]
    assert last.timestamp == pytest.approx(100.88) and len(last.tracks) >= 10
    assert all(t.class_name == "person" and t.box.shape == (4,) for t in last.tracks)
    assert any(t.forecast is not None and t.forecast.points.shape == (12, 2) for t in last.tracks)
