"""Live sources: freshest-frame policy, drop counting, reconnects, and a real loopback MJPEG stream."""

import json
import threading
import time

import cv2
import numpy as np
import pytest

from trajpipe.errors import TrajpipeError
from trajpipe.video.sources import LiveSource, is_live, open_source


class FakeCamera:
    """A capture that produces numbered frames at ``fps`` and can be told to fail after ``lifetime`` frames."""

    produced = 0  # across reconnections, like a real camera's clock

    def __init__(self, fps=200.0, lifetime=None, opens=True):
        self.fps, self.lifetime, self.opens, self.frames = fps, lifetime, opens, 0

    def isOpened(self):
        return self.opens

    def grab(self):
        if self.lifetime is not None and self.frames >= self.lifetime:
            return False
        time.sleep(1 / self.fps)
        self.frames += 1
        FakeCamera.produced += 1
        return True

    def retrieve(self):
        return True, np.full((4, 4, 3), FakeCamera.produced % 256, np.uint8)

    def get(self, prop):
        return self.fps if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self):
        pass


def quiet(message):
    pass


def test_sources_are_recognised():
    assert all(is_live(s) for s in (0, "1", "/dev/video2", "rtsp://cam/1", "http://127.0.0.1:8080/x.mjpg"))
    assert not any(is_live(s) for s in ("videos/concourse.mp4", "0.mp4"))


def test_slow_consumer_gets_the_freshest_frame_and_drops_are_counted():
    source = LiveSource("fake", capture_factory=lambda spec, timeout: FakeCamera(fps=200), log=quiet)
    delivered = []
    with source:
        for frame in source:
            assert frame.index >= source.captured - 2  # nothing older than the newest one or two
            delivered.append(frame)
            time.sleep(0.02)  # a consumer ~4x slower than the camera
            if len(delivered) == 30:
                break
        captured, dropped = source.captured, source.dropped
    indices = [f.index for f in delivered]
    times = [f.timestamp for f in delivered]
    assert all(b > a for a, b in zip(indices, indices[1:]))
    assert all(b > a for a, b in zip(times, times[1:]))
    assert dropped >= 30  # most frames are dropped, not queued
    assert captured - dropped - len(delivered) in (0, 1)  # every frame is delivered, dropped, or the one waiting
    assert all(f.captured_at is not None and f.outage == 0 for f in delivered)


def test_lost_stream_reconnects_with_backoff_and_reports_the_outage():
    attempts = []
    messages = []

    def factory(spec, timeout):
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            return FakeCamera(fps=100, lifetime=20)  # the first connection dies after 20 frames
        return FakeCamera(fps=100, opens=len(attempts) >= 4)  # two failed attempts, then back

    source = LiveSource("fake", reconnect_max_delay=2.0, capture_factory=factory, log=messages.append)
    frames = []
    with source:
        for frame in source:
            frames.append(frame)
            if len(frames) > 5 and source.outages and frame.index > 40:
                break
    [outage] = source.outages
    assert outage.attempts == 3 and 0.25 + 0.5 + 1.0 <= outage.seconds < 3
    gaps = np.diff(attempts[1:])
    assert gaps[1] > gaps[0] * 1.5  # exponential backoff
    assert any(f.outage >= outage.seconds for f in frames)  # the first frame after it says so
    assert any("lost" in m for m in messages) and any("back after" in m for m in messages)


def test_gives_up_after_the_reconnect_timeout():
    calls = []

    def factory(spec, timeout):
        calls.append(1)
        return FakeCamera(lifetime=3) if len(calls) == 1 else FakeCamera(opens=False)

    source = LiveSource("cam", reconnect_timeout=0.6, reconnect_max_delay=0.2, capture_factory=factory, log=quiet)
    with pytest.raises(TrajpipeError, match="lost for 0.6 s; giving up"):
        for _ in source:
            pass


def test_missing_camera_is_a_clear_error():
    with pytest.raises(TrajpipeError, match="cannot open live source"):
        open_source("/dev/video99")
