import itertools

import cv2
import numpy as np

from trajpipe.video.sources import VideoFileSource


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
