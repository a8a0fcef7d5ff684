"""The output process: what crosses the process boundary, failures, and a parent that dies."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from trajpipe.errors import TrajpipeError
from trajpipe.results import Forecast, FrameResult, TrackState
from trajpipe.writer import OutputProcess, TrailMemory, pack_result, unpack_result

OVERLAY = {"trail_seconds": 2.0, "boxes": True, "hud": True, "uncertainty": True}


def result_at(t: float, index: int, image=None) -> FrameResult:
    """Two tracks walking right; the first has a forecast with sigma and ground-plane points."""
    tracks = []
    for track_id, y in ((3, 100.0), (4, 200.0)):
        times = np.arange(0, t + 1e-9, 0.04)
        history = np.stack([10 + 50 * times, np.full_like(times, y)], axis=1)
        forecast = None
        if track_id == 3:
            steps = 0.4 * np.arange(1, 13)
            points = history[-1] + np.stack([50 * steps, 0 * steps], axis=1)
            forecast = Forecast(steps, points, np.full((12, 2), 3.0), origin=t, points_world=points / 100)
        x = history[-1, 0]
        tracks.append(TrackState(track_id, 0, "person", 0.9, np.array([x - 10, y - 60, x + 10, y]), history, times,
                                 forecast, point_world=history[-1] / 100))
    return FrameResult(index, t, tracks, 0.01, None, image)


def test_a_packed_result_gives_the_same_json_and_the_recent_trail():
    trails = TrailMemory(seconds=2.0)
    for index, t in enumerate(np.arange(0, 3.0, 0.04)):
        original = result_at(t, index)
        copy = unpack_result(pack_result(original), None, trails)
        assert copy.to_json() == original.to_json()
    track = copy.tracks[0]
    recent = original.tracks[0].history_times >= t - 2.0
    np.testing.assert_allclose(track.history_times, original.tracks[0].history_times[recent])
    np.testing.assert_allclose(track.history, original.tracks[0].history[recent])
    empty = FrameResult(5, 1.0, [], 0.0, 0.02)
    assert unpack_result(pack_result(empty), None, trails).to_json() == empty.to_json()


def test_outputs_are_written_by_the_child_process(tmp_path):
    video, jsonl = tmp_path / "o.mp4", tmp_path / "o.jsonl"
    writer = OutputProcess(str(video), 25.0, str(jsonl), OVERLAY)
    for index in range(30):
        image = np.full((120, 160, 3), 40, np.uint8)
        writer.submit(result_at(1 + index * 0.04, index, image), ["hud"], 1)
    writer.close()
    assert writer.video_frames == 30 and writer.jsonl_lines == 30
    assert [json.loads(line)["frame"] for line in jsonl.read_text().splitlines()] == list(range(30))
    capture = cv2.VideoCapture(str(video))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 30
    ok, frame = capture.read()
    assert ok and frame.max() > 100  # the overlay was drawn on the grey frame
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.jsonl", "o.mp4"]


def test_frames_that_change_size_are_all_written(tmp_path):
    video = tmp_path / "o.mp4"
    writer = OutputProcess(str(video), 25.0, None, OVERLAY)
    for index in range(20):  # a stream that comes back at another resolution: new frame slots, same file
        shape = (48, 64, 3) if index < 10 else (96, 128, 3)
        writer.submit(result_at(1 + index * 0.04, index, np.full(shape, 50, np.uint8)), None)
    writer.close()
    capture = cv2.VideoCapture(str(video))
    assert writer.video_frames == 20 and capture.get(cv2.CAP_PROP_FRAME_COUNT) == 20
    assert capture.get(cv2.CAP_PROP_FRAME_WIDTH) == 64


def test_a_write_failure_in_the_child_is_one_clear_error(tmp_path):
    jsonl = tmp_path / "gone" / "o.jsonl"  # its directory does not exist: the child cannot open it
    writer = OutputProcess(None, 25.0, str(jsonl), OVERLAY)
    with pytest.raises(TrajpipeError, match="writing outputs failed: .*No such file or directory"):
        for index in range(50):
            writer.submit(result_at(1.0, index, np.zeros((48, 64, 3), np.uint8)), None)
        writer.close()


def test_a_parent_that_dies_leaves_existing_outputs_untouched(tmp_path):
    jsonl = tmp_path / "o.jsonl"
    jsonl.write_text("previous run\n")
    script = textwrap.dedent(f"""
        import os, numpy as np
        from tests.test_writer import result_at, OVERLAY
        from trajpipe.writer import OutputProcess
        writer = OutputProcess(None, 25.0, {str(jsonl)!r}, OVERLAY)
        for index in range(10):
            writer.submit(result_at(1.0, index, np.zeros((48, 64, 3), np.uint8)), None)
        os._exit(1)  # killed without closing
    """)
    # stderr stays open until the output process, which inherited it, has cleaned up and exited
    died = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parents[1])
    assert died.returncode == 1 and died.stderr == ""
    assert jsonl.read_text() == "previous run\n"
    assert [p.name for p in tmp_path.iterdir()] == ["o.jsonl"]
