"""Camera-motion compensation: histories in a scene-fixed frame, everything handed out in current pixels."""

import math

import cv2
import numpy as np
import pytest

from trajpipe.core.detections import Detections
from trajpipe.forecast import ConstantVelocityForecaster
from trajpipe.forecast.stage import forecast_histories
from trajpipe.core.frames import FrameMap, Projective
from trajpipe.tracking.history import TrackHistories
from trajpipe.tracking.kalman_warp import local_affine, warp_kalman_states
from trajpipe.video.camera_motion import STILL_AFTER, STILL_CHECK_EVERY, CameraMotion
from trajpipe.video.motion_models import choose_model, corner_motion

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
            np.testing.assert_allclose(warp, [[1, 0, -PAN[0]], [0, 1, -PAN[1]], [0, 0, 1]], atol=0.05)
        if motion.rebased is not None:
            store.remap(Projective(motion.rebased))
        reference_to_current = motion.reference_to_current
        foot = SCENE_START + WALK * t - offset(frame)  # where the camera sees the person now
        box = np.array([[foot[0] - 10, foot[1] - 50, foot[0] + 10, foot[1]]], np.float32)
        view = FrameMap.moving_camera(reference_to_current)
        [history] = store.update(t, Detections(box, np.ones(1, np.float32), np.zeros(1, np.int64), np.array([1])), view)
        motion.exclude(box)

    samples = history.samples()
    times = samples.times
    # history: the scene path in the reference frame's pixels (fixed in the scene), not the path on screen
    reference_offset = offset(59) + reference_to_current[:2, 2]  # the scene point at the reference frame's origin
    np.testing.assert_allclose(samples.points, SCENE_START + WALK * times[:, None] - reference_offset, atol=0.5)
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
    np.testing.assert_array_equal(motion.update(np.ascontiguousarray(scene[:300, :400])), np.eye(3))
    np.testing.assert_allclose(motion.update(np.ascontiguousarray(scene[:300, 4:404]))[:2, 2], [-4, 0], atol=0.05)


def scene_view(scene: np.ndarray, scene_to_view: np.ndarray, size=(320, 240)) -> np.ndarray:
    return cv2.warpPerspective(scene, scene_to_view, size, flags=cv2.INTER_LINEAR)


def around_centre(scale=1.0, roll_deg=0.0, tilt=0.0, centre=(450.0, 250.0)) -> np.ndarray:
    """Scene -> (320, 240) view: the view's centre shows ``centre``, zoomed by ``scale``, rolled, and
    ``tilt`` a perspective term (points lower in the view spread out, as when riding forward)."""
    c, s = math.cos(math.radians(roll_deg)) * scale, math.sin(math.radians(roll_deg)) * scale
    to_centre = np.array([[1, 0, -centre[0]], [0, 1, -centre[1]], [0, 0, 1.0]])
    similarity = np.array([[c, -s, 0], [s, c, 0], [0, -tilt, 1.0]])
    return np.array([[1, 0, 160], [0, 1, 120], [0, 0, 1.0]]) @ similarity @ to_centre


@pytest.mark.parametrize("name, path, model", [
    ("zoom in and out", lambda i: around_centre(scale=1 + 0.3 * math.sin(math.pi * i / 60)), "similarity"),
    ("roll", lambda i: around_centre(roll_deg=8 * math.sin(2 * math.pi * i / 60)), "similarity"),
    ("forward", lambda i: around_centre(tilt=0.0012 * math.sin(math.pi * i / 60)), "homography"),
])
def test_zoom_roll_and_perspective_are_followed_without_drift(name, path, model):
    """The transforms handed out, chained over 60 frames, stay on the known ones (corners of the view)."""
    scene, motion = textured_scene(), CameraMotion()
    total, models, worst = np.eye(3), set(), 0.0
    for i in range(60):
        total = motion.update(scene_view(scene, path(i))) @ total
        models.add(motion.model)
        truth = path(i) @ np.linalg.inv(path(0))
        worst = max(worst, corner_motion(np.linalg.inv(truth) @ total, (320, 240)))
    assert worst < 1.0, f"{name}: {worst:.2f} px off at the view's corners"
    assert model in models


def test_a_pan_is_a_translation_and_translation_mode_ignores_the_zoom():
    scene = textured_scene()
    motion = CameraMotion()
    for i in range(10):
        motion.update(scene_view(scene, around_centre(centre=(450.0 + 2 * i, 250.0))))
        assert motion.model == "translation"
    translation_only = CameraMotion(models=("translation",))
    for i in range(10):
        warp = translation_only.update(scene_view(scene, around_centre(scale=1 + 0.01 * i)))
        assert not warp[2, :2].any() and np.allclose(warp[:2, :2], np.eye(2))


def test_a_still_camera_is_exactly_still_and_checked_rarely_until_it_pans():
    scene, motion = textured_scene(), CameraMotion()
    registered = []
    original = motion._register
    motion._register = lambda grey: registered.append(1) or original(grey)
    still_view = scene_view(scene, around_centre())
    for _ in range(STILL_AFTER + 1 + 3 * STILL_CHECK_EVERY):
        np.testing.assert_array_equal(motion.update(still_view), np.eye(3))
        assert motion.still
    assert len(registered) <= STILL_AFTER + 4  # then one frame in STILL_CHECK_EVERY
    total = np.eye(3)
    for i in range(1, 30):  # a pan starts: followed within STILL_CHECK_EVERY frames, then every frame
        total = motion.update(scene_view(scene, around_centre(centre=(450.0 + 2 * i, 250.0)))) @ total
        if i >= STILL_CHECK_EVERY:
            np.testing.assert_allclose(total[:2, 2], [-2 * i, 0], atol=0.3)
    assert not motion.still


def test_objects_moving_in_their_boxes_are_not_the_camera():
    """A textured patch (a crowd) sliding across a still view, its box given to exclude(): no motion."""
    scene, motion = textured_scene(), CameraMotion()
    crowd = textured_scene(200, 200)[:120, :120]
    total = np.eye(3)
    for i in range(30):
        view = scene_view(scene, around_centre()).copy()
        x = 20 + 5 * i
        view[60:180, x:x + 120] = crowd
        total = motion.update(view) @ total
        motion.exclude(np.array([[x, 60, x + 120, 180]]))
    assert corner_motion(total, (320, 240)) < 0.25


def test_points_bunched_in_a_corner_fall_back_to_a_simpler_model():
    rng = np.random.default_rng(2)
    truth = around_centre(tilt=0.001, scale=1.1, centre=(160, 120))
    spread = rng.uniform([0, 0], [320, 240], (80, 2))
    bunched = rng.uniform([0, 0], [40, 30], (80, 2))
    moved = cv2.perspectiveTransform(spread[None], truth)[0] + rng.normal(0, 0.05, (80, 2))
    assert choose_model(spread, moved, (320, 240)).model == "homography"
    moved = cv2.perspectiveTransform(bunched[None], truth)[0] + rng.normal(0, 0.05, (80, 2))
    assert choose_model(bunched, moved, (320, 240)).model in ("translation", "similarity")


def test_local_affine_of_a_homography_is_exact_at_its_point_and_follows_it_nearby():
    warp = around_centre(tilt=0.002, scale=1.2, roll_deg=5)
    point = np.array([300.0, 200.0])
    affine = local_affine(warp, point)
    for step in ([0, 0], [3, -2]):
        near = point + step
        exact = cv2.perspectiveTransform(near[None, None], warp)[0, 0]
        np.testing.assert_allclose(affine[:, :2] @ near + affine[:, 2], exact, atol=0.02 if any(step) else 1e-9)


def test_a_pan_easing_in_from_rest_is_followed_without_loss():
    """Still for a second (the still-camera mode sets in), then a pan creeping in by whole pixels up to
    2 px a frame: the transforms handed out, chained, stay on the crop's offset (the first pixel may
    wait for the still camera's next check, at most STILL_CHECK_EVERY - 1 frames), and nothing of the
    creeping motion is lost."""
    scene, motion = textured_scene(), CameraMotion()
    total, errors = np.eye(3), []
    for i in range(90):
        u = max(0, i - FPS) / FPS  # seconds into the pan
        x = round(50 * (u / 2 - 1.5 / math.pi * math.sin(math.pi * u / 3)))  # sin^2 speed up to 50 px/s over 3 s
        total = motion.update(np.ascontiguousarray(scene[100:340, 100 + x:420 + x])) @ total
        errors.append(abs(total[0, 2] + x))
    late = [i for i, e in enumerate(errors) if e > 0.1]
    assert x > 40 and max(errors) <= 1.05 and len(late) < STILL_CHECK_EVERY
