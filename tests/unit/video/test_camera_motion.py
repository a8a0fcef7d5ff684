"""Camera-motion compensation: histories in a scene-fixed frame, everything handed out in current pixels."""

import cv2
import numpy as np
import pytest

from trajpipe.video.detector import Detections
from trajpipe.forecast import ConstantVelocityForecaster
from trajpipe.forecast.stage import forecast_histories
from trajpipe.core.frames import FrameMap, Projective
from trajpipe.tracking.history import TrackHistories
from trajpipe.video.camera_motion import CameraMotion, warp_kalman_states

FPS = 25
PAN = np.array([3.0, -1.0])  # camera window moves this many scene pixels per frame
WALK = np.array([40.0, 10.0])  # the person's scene velocity, pixels per second
SCENE_START = np.array([300.0, 260.0])  # the person's bottom centre in the scene at t = 0


def textured_scene(width=900, height=500) -> np.ndarray:
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 255, (height // 4, width // 4), np.uint8)
    return cv2.cvtColor(cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2BGR)


def offset(frame: int) -> np.ndarray:
    """Top-left corner of the camera's window in the scene at ``frame``."""
    return np.array([100.0, 120.0]) + PAN * frame


def test_histories_live_in_the_reference_frame_and_outputs_in_current_pixels():
    scene, motion = textured_scene(), CameraMotion()
    store = TrackHistories(history_seconds=6, lost_track_ttl=2)
    for frame in range(60):
        t = frame / FPS
        x0, y0 = offset(frame).astype(int)
        warp = motion.update(np.ascontiguousarray(scene[y0:y0 + 240, x0:x0 + 320]))
        if frame:  # a pan of PAN scene pixels moves the image by -PAN
            np.testing.assert_allclose(warp, [[1, 0, -PAN[0]], [0, 1, -PAN[1]]], atol=0.05)
        foot = SCENE_START + WALK * t - offset(frame)  # where the camera sees the person now
        box = np.array([[foot[0] - 10, foot[1] - 50, foot[0] + 10, foot[1]]], np.float32)
        view = FrameMap.moving_camera(motion.reference_to_current)
        [history] = store.update(t, Detections(box, np.ones(1, np.float32), np.zeros(1, np.int64), np.array([1])), view)

    samples = history.samples()
    times = samples.times
    # history: the scene path in the reference (first) frame's pixels, not the path on screen
    np.testing.assert_allclose(samples.points, SCENE_START + WALK * times[:, None] - offset(0), atol=0.5)
    [forecast] = forecast_histories(ConstantVelocityForecaster(), [samples], min_age=0.8)
    shown = view.present(forecast)
    # handed out in the current view: where the person will be in the scene, seen from the camera now
    now = times[-1]
    expected = SCENE_START + WALK * (now + shown.times[:, None]) - offset(59)
    np.testing.assert_allclose(shown.points, expected, atol=1.0)
    np.testing.assert_allclose(shown.start, foot, atol=0.5)
    trail = view.history_to_pixels(samples.points)
    np.testing.assert_allclose(trail, SCENE_START + WALK * times[:, None] - offset(59), atol=0.5)


def test_a_static_view_maps_nothing():
    view = FrameMap()
    points = np.array([[1.0, 2.0]])
    assert view.pixels_to_history(points) is not None and view.history_to_pixels(points) is points


def test_uncertainty_follows_the_zoom():
    view = FrameMap(Projective(np.diag([2.0, 2.0, 1.0])))  # history units are twice the current pixels
    sigma = view.sigma_to_pixels(np.array([[4.0, 2.0]]), np.array([[10.0, 10.0]]))
    np.testing.assert_allclose(sigma, [[2.0, 1.0]])


@pytest.mark.parametrize("tracker_type", ["bytetrack", "botsort"])
def test_tracker_predictions_follow_the_camera(tracker_type):
    from types import SimpleNamespace

    from ultralytics.trackers import BOTSORT, BYTETracker

    args = SimpleNamespace(track_high_thresh=0.25, track_low_thresh=0.1, new_track_thresh=0.25, track_buffer=30,
                           match_thresh=0.8, fuse_score=True, gmc_method="none", proximity_thresh=0.5,
                           appearance_thresh=0.8, with_reid=False, model="auto")
    tracker = (BYTETracker if tracker_type == "bytetrack" else BOTSORT)(args)
    boxes = SimpleNamespace(conf=np.array([0.9]), cls=np.array([0.0]), xywh=np.array([[200.0, 150.0, 40.0, 100.0]]),
                            xyxy=np.array([[180.0, 100.0, 220.0, 200.0]]))
    [track] = tracker.init_track(_Results(boxes))
    track.activate(tracker.kalman_filter, 1)
    tracker.tracked_stracks = [track]
    before = track.xyxy.copy()
    warp = np.array([[1.02, 0.0, -15.0], [0.0, 1.02, 4.0]])  # pan and a 2 % zoom
    warp_kalman_states(tracker, warp)
    corners = before.reshape(2, 2) @ warp[:, :2].T + warp[:, 2]
    np.testing.assert_allclose(track.xyxy, corners.ravel(), atol=1e-3)  # box moved and scaled, shape kept


class _Results:
    """The few fields of Ultralytics' Boxes that a tracker's init_track reads."""

    def __init__(self, boxes):
        self.conf, self.cls, self.xywh, self.xyxy = boxes.conf, boxes.cls, boxes.xywh, boxes.xyxy

    def __len__(self):
        return len(self.conf)


def test_camera_motion_rejects_unknown_methods():
    from trajpipe.config import Config
    from trajpipe.errors import TrajpipeError

    with pytest.raises(TrajpipeError, match="camera_motion"):
        Config().merged({"camera_motion": "gyro"})


def test_a_camera_that_comes_back_at_another_size_starts_over():
    scene, motion = textured_scene(), CameraMotion()
    motion.update(np.ascontiguousarray(scene[:240, :320]))
    motion.update(np.ascontiguousarray(scene[:240, 4:324]))
    np.testing.assert_array_equal(motion.update(np.ascontiguousarray(scene[:300, :400])), np.eye(2, 3))
    np.testing.assert_allclose(motion.update(np.ascontiguousarray(scene[:300, 4:404]))[:, 2], [-4, 0], atol=0.05)
