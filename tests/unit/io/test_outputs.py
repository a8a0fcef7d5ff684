import json

import numpy as np
import pytest

from trajpipe.errors import TrajpipeError
from trajpipe.core.results import Forecast, FrameResult, TrackState
from trajpipe.io.sinks import JsonlSink, VideoSink, check_output_path


def frame_result():
    forecast = Forecast(np.array([0.4, 0.8]), np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.5, 0.5], [1.0, 1.0]]))
    tracks = [
        TrackState(3, 0, "person", 0.87654, np.array([1, 2, 3, 4.0]), np.array([[2.0, 4.0]]), np.array([1.0]), forecast),
        TrackState(4, 2, "car", 0.5, np.array([5, 6, 7, 8.0]), np.array([[6.0, 8.0]]), np.array([1.0])),
    ]
    return FrameResult(12, 0.48, tracks)


def test_jsonl_record_schema():
    record = json.loads(json.dumps(frame_result().to_json()))
    assert record["frame"] == 12 and record["timestamp"] == 0.48
    person, car = record["tracks"]
    assert person == {"id": 3, "class": "person", "conf": 0.877, "box": [1, 2, 3, 4], "point": [2, 4],
                      "forecast": {"t": [0.4, 0.8], "xy": [[1, 2], [3, 4]], "sigma": [[0.5, 0.5], [1, 1]]}}
    assert "forecast" not in car and car["class"] == "car"
    assert record["camera"] == [[1, 0, 0], [0, 1, 0]]  # no camera motion estimated: identity


def test_jsonl_carries_the_camera_transform():
    warp = np.array([[1.0, 0.0, -2.5], [0.0, 1.0, 0.75]])
    record = json.loads(json.dumps(FrameResult(1, 0.04, [], camera=warp).to_json()))
    assert record["camera"] == warp.tolist()


def test_a_homography_is_written_3x3_with_its_small_perspective_terms_kept():
    from trajpipe.core.frames import Projective

    homography = np.array([[1.01, 0.002, -2.5], [0.001, 1.02, 0.75], [3.2e-7, -4.5e-6, 1.0]])
    assert Projective(homography).compact() is not None and Projective(homography).compact().shape == (3, 3)
    assert Projective(np.vstack([homography[:2], [0, 0, 2.0]])).compact().shape == (2, 3)  # affine: OpenCV's 2x3
    record = json.loads(json.dumps(FrameResult(1, 0.04, [], camera=Projective(homography).compact()).to_json()))
    np.testing.assert_allclose(record["camera"], homography, rtol=1e-6, atol=1e-12)


def test_jsonl_sink_is_atomic_and_keeps_old_output_when_nothing_was_written(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text("previous run\n")
    sink = JsonlSink(path)
    sink.close()
    assert path.read_text() == "previous run\n"
    sink = JsonlSink(path)
    sink.write(frame_result().to_json())
    assert path.read_text() == "previous run\n"  # not replaced until complete
    sink.close()
    assert json.loads(path.read_text())["frame"] == 12
    assert list(tmp_path.iterdir()) == [path]


def test_video_sink_writes_readable_video(tmp_path):
    import cv2

    path = tmp_path / "v.mp4"
    sink = VideoSink(path, fps=25)
    for i in range(5):
        sink.write(np.full((48, 64, 3), i * 40, np.uint8))
    sink.close()
    cap = cv2.VideoCapture(str(path))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 5 and cap.get(cv2.CAP_PROP_FPS) == 25
    with pytest.raises(TrajpipeError, match="must end in"):
        VideoSink(tmp_path / "v.gif", fps=25)


def test_video_sink_keeps_frames_whose_size_changes(tmp_path):
    import cv2

    path = tmp_path / "v.mp4"
    sink = VideoSink(path, fps=25)
    for i in range(10):  # a camera that comes back at another resolution: resized, not dropped
        sink.write(np.full((48, 64, 3) if i < 5 else (96, 128, 3), 80, np.uint8))
    sink.close()
    cap = cv2.VideoCapture(str(path))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 10 and cap.get(cv2.CAP_PROP_FRAME_WIDTH) == 64


def test_output_path_checks(tmp_path):
    source = tmp_path / "in.mp4"
    source.write_bytes(b"x")
    with pytest.raises(TrajpipeError, match="directory does not exist"):
        check_output_path(tmp_path / "nope" / "out.mp4", [source], "video")
    with pytest.raises(TrajpipeError, match="overwrite its input"):
        check_output_path(tmp_path / "." / "in.mp4", [source], "video")
    assert check_output_path(tmp_path / "out.mp4", [source], "video") == tmp_path / "out.mp4"


def test_jsonl_carries_the_modes_with_probabilities():
    from trajpipe.core.results import ModeSet

    points = np.array([[[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [1.0, 6.0]]])
    modes = ModeSet(points, np.array([0.6, 0.4]), sigma=np.full((2, 2, 2), 0.5))
    forecast = Forecast(np.array([0.4, 0.8]), points[0], modes=modes)
    track = TrackState(3, 0, "person", 0.9, np.array([1, 2, 3, 4.0]), np.array([[2.0, 4.0]]), np.array([1.0]), forecast)
    record = json.loads(json.dumps(FrameResult(1, 0.04, [track]).to_json()))
    assert record["tracks"][0]["forecast"]["modes"] == [
        {"p": 0.6, "xy": [[1, 2], [3, 4]], "sigma": [[0.5, 0.5], [0.5, 0.5]]},
        {"p": 0.4, "xy": [[1, 2], [1, 6]], "sigma": [[0.5, 0.5], [0.5, 0.5]]}]
