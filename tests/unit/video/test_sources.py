import itertools
import re

import cv2
import numpy as np
import pytest

from trajpipe.errors import TrajpipeError
from trajpipe.video.sources import VideoFileSource, as_bgr_frame


def write_clip(path, frames=3, fps=25):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 60 * i, np.uint8))
    writer.release()
    return path


def test_file_frames_carry_container_timestamps(tmp_path):
    with VideoFileSource(write_clip(tmp_path / "c.avi", 3, fps=20)) as source:
        frames = list(source)
    assert [f.index for f in frames] == [0, 1, 2]
    np.testing.assert_allclose([f.timestamp for f in frames], [0, 0.05, 0.1])
    assert all(f.captured_at is None for f in frames)


def test_looping_replays_with_time_running_on(tmp_path):
    with VideoFileSource(write_clip(tmp_path / "c.avi", 3, fps=20), loop=True) as source:
        frames = list(itertools.islice(source, 8))
    np.testing.assert_allclose([f.timestamp for f in frames], 0.05 * np.arange(8), atol=1e-6)
    assert [int(f.image[0, 0, 0]) // 50 for f in frames] == [0, 1, 2, 0, 1, 2, 0, 1]  # content restarts


def test_frames_must_be_hxwx3_uint8_bgr_and_say_so():
    colour = np.zeros((48, 64, 3), np.uint8)
    colour[10:20, 5:9] = (255, 128, 0)
    assert as_bgr_frame(colour) is colour  # the normal case costs nothing
    cases = {
        "None": (None, "frame is None.*did the camera's read\\(\\) fail"),
        "a list": (colour.tolist(), "frame is a list"),
        "empty": (np.zeros((0, 0, 3), np.uint8), "frame is empty \\(shape \\(0, 0, 3\\)\\)"),
        "empty rows": (np.zeros((0, 64, 3), np.uint8), "frame is empty"),
        "CHW": (np.ascontiguousarray(colour.transpose(2, 0, 1)), "shape \\(3, 48, 64\\).*channels-first.*transpose\\(1, 2, 0\\)"),
        "float 0..1": (colour.astype(np.float32) / 255, "dtype float32.*\\(frame \\* 255\\)"),
        "float64": (colour.astype(np.float64), "dtype float64"),
        "uint16": (colour.astype(np.uint16), "dtype uint16"),
        "BGRA": (np.zeros((48, 64, 4), np.uint8), "shape \\(48, 64, 4\\)"),
        "a batch": (np.zeros((2, 48, 64, 3), np.uint8), "shape \\(2, 48, 64, 3\\)"),
    }
    for name, (frame, message) in cases.items():
        with pytest.raises(TrajpipeError, match="expected an HxWx3 uint8 BGR image") as error:
            as_bgr_frame(frame)
        assert re.search(message, str(error.value)), (name, str(error.value))
    grey = colour[..., 1].copy()
    for frame in (grey, grey[..., None]):  # HxW and HxWx1 grey: converted, unambiguous
        converted = as_bgr_frame(frame)
        assert converted.shape == (48, 64, 3) and converted.dtype == np.uint8
        assert (converted == grey[..., None]).all()
