"""The bad inputs a newcomer met, checked without any model: each is one line naming the user's key,
path or device, before anything loads."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from trajpipe.config import Config
from trajpipe.core.frames import FrameMap, GroundPlane
from trajpipe.errors import TrajpipeError, TrajpipeWarning, library_reason
from trajpipe.io.sinks import check_output_path
from trajpipe.video.device import check_device, cuda_indices
from trajpipe.video.sources import check_camera

DOCS_PAIRS = [[100, 470, 2, 1.5], [750, 470, 2, -1.5], [300, 200, 8, 1.5], [560, 200, 8, -1.5]]  # docs' robot example


@pytest.mark.parametrize("text", ["[[100,470,2,1.5],[750,470", "[[1, 2, 3, 4]", "{a: [1, 2"])
def test_malformed_homography_points_name_the_key(text):
    with pytest.raises(TrajpipeError, match=r"^invalid value for homography_points="):
        Config().merged({"homography_points": text})


def test_unwritable_output_is_named_and_nothing_is_left(tmp_path):
    with pytest.raises(TrajpipeError, match=r"cannot write JSON-lines output /proc/trajpipe\.jsonl"):
        check_output_path("/proc/trajpipe.jsonl", [], "JSON-lines")
    assert check_output_path(tmp_path / "o.jsonl", [], "JSON-lines") == tmp_path / "o.jsonl"
    assert list(tmp_path.iterdir()) == []  # the probe's file is gone


def test_library_reason_keeps_the_meaningful_line():
    openvino = RuntimeError("Exception from src/inference/src/cpp/core.cpp:84:\nCheck 'tflite::VerifyModelBuffer(verifier)' "
                            "failed at src/frontends/tensorflow_lite/src/graph_iterator_flatbuffer.cpp:82:\nFrontEnd API "
                            "failed with GeneralFailure:\nTensorFlow Lite Frontend: the model file \"m.tflite\" is "
                            "corrupted or malformed (FlatBuffer verification failed).\n\n")
    assert library_reason(openvino).startswith("TensorFlow Lite Frontend: the model file")
    ultralytics = RuntimeError("ERROR ❌️ /tmp/copy/m.pt is not a loadable checkpoint")
    assert library_reason(ultralytics) == "/tmp/copy/m.pt is not a loadable checkpoint"
    assert library_reason(ValueError("Only:")) == "Only:"
    assert library_reason(KeyError()) == "KeyError"


@pytest.mark.parametrize("device, wanted", [(None, []), ("cpu", []), ("mps", []), ("0", [0]), ("cuda", [0]),
                                            ("cuda:1", [1]), ("0,1", [0, 1]), (1, [1])])
def test_cuda_indices(device, wanted):
    assert cuda_indices(device) == wanted


def test_cuda_device_the_machine_lacks_is_named(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(TrajpipeError, match=r"^device=cuda:0: no CUDA device on this machine"):
        check_device("cuda:0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    check_device("0")
    with pytest.raises(TrajpipeError, match=r"^device=1: this machine has CUDA devices 0..0"):
        check_device("1")
    check_device("cpu")


def test_missing_camera_is_one_error(monkeypatch):
    class Closed:
        def isOpened(self):
            return False

        def release(self):
            pass

    monkeypatch.setattr("trajpipe.video.sources.open_capture", lambda spec, timeout: Closed())
    with pytest.raises(TrajpipeError, match=r"^cannot open live source 3: no such camera"):
        check_camera("3")
    check_camera("videos/concourse.mp4")  # files and stream URLs are not probed
    check_camera("rtsp://camera.local/stream")


def test_beyond_the_horizon_no_ground_point_and_one_warning():
    """The docs' robot homography on the concourse: its horizon is image row 20; a person above it
    would otherwise be at -490 m."""
    plane = GroundPlane.from_points(DOCS_PAIRS)
    frame = FrameMap(ground=plane)
    np.testing.assert_allclose(frame.point_world(np.array([430.0, 470.0])), [2.0, -0.023], atol=1e-3)
    with pytest.warns(TrajpipeWarning, match="beyond the ground homography's horizon"):
        assert frame.point_world(np.array([430.0, 10.0])) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per plane, not once per frame
        assert frame.point_world(np.array([400.0, 5.0])) is None
    assert plane.to_ground(np.array([430.0, 10.0]))[0] < 0  # what it used to report: behind the camera


def test_a_matrix_without_points_has_no_known_horizon():
    plane = GroundPlane(GroundPlane.from_points(DOCS_PAIRS).matrix)
    assert plane.front is None and not plane.beyond_horizon(np.array([430.0, 10.0]))


def test_a_robot_s_person_beyond_the_horizon_has_no_world_point():
    """With a pose the histories are world metres: a person above the horizon gets none, not -490 m."""
    plane = GroundPlane.from_points(DOCS_PAIRS)
    feet = np.array([[430.0, 470.0], [430.0, 10.0]])
    frame = FrameMap.robot((1.0, 0.0, 0.0), plane, feet)
    near, far = frame.pixels_to_history(feet)
    np.testing.assert_allclose(frame.point_world(near), [3.0, -0.023], atol=1e-3)
    with pytest.warns(TrajpipeWarning):
        assert frame.point_world(far) is None


def test_the_command_line_shows_our_warnings_in_one_line():
    from trajpipe.app.cli import _format_warning

    assert _format_warning(TrajpipeWarning("beyond the horizon"), TrajpipeWarning, "x.py", 3) == "trajpipe: warning: beyond the horizon\n"
    assert "UserWarning" in _format_warning(UserWarning("theirs"), UserWarning, "x.py", 3)
