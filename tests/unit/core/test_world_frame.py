"""A robot's world frame: poses from odometry, histories in metres, forecasts that stay put while it drives."""

import numpy as np
import pytest

from trajpipe import Forecast, Forecaster
from trajpipe.core.detections import Detections
from trajpipe.forecast.stage import forecast_histories
from trajpipe.core.frames import GroundPlane
from trajpipe.core.frames import FrameMap, pose_matrix
from trajpipe.tracking.history import TrackHistories

# A forward-looking camera 1.2 m above the ground: base point (x ahead, y left) -> pixel (u, v).
BASE_TO_PIXELS = np.array([[320.0, -300.0, 0.0], [200.0, 0.0, 300.0 * 1.2], [1.0, 0.0, 0.0]])
# the homography a robot calibrates, pixels -> base frame; its overall sign is arbitrary (negated here)
GROUND = GroundPlane(-np.linalg.inv(BASE_TO_PIXELS))
RATE = 10  # frames per second


def robot_pose(t: float) -> tuple[float, float, float]:
    """Drives at 1 m/s while turning left at 0.15 rad/s."""
    yaw = 0.15 * t
    return (np.sin(yaw) / 0.15, (1 - np.cos(yaw)) / 0.15, yaw)


def people(t: float) -> dict[int, np.ndarray]:
    """World positions (m): 1 stands still, 2 walks straight across at 0.6 m/s."""
    return {1: np.array([7.0, 1.5]), 2: np.array([6.0, -2.0]) + np.array([0.1, 0.6]) * t}


def detections_seen_from(pose, t: float) -> Detections:
    """Boxes where the robot's camera sees the people (bottom centre = their ground point)."""
    world_to_pixels = BASE_TO_PIXELS @ np.linalg.inv(pose_matrix(pose))
    boxes, ids = [], []
    for track_id, point in people(t).items():
        u, v, w = world_to_pixels @ [*point, 1.0]
        boxes.append([u / w - 15, v / w - 60, u / w + 15, v / w])
        ids.append(track_id)
    n = len(ids)
    return Detections(np.array(boxes, np.float32), np.ones(n, np.float32), np.zeros(n, np.int64), np.array(ids))


def drive(forecaster: Forecaster, seconds: float):
    """The pipeline's bookkeeping after detection, frame by frame: yields (t, pose, view, forecasts)."""
    store = TrackHistories(history_seconds=6, lost_track_ttl=2)
    for step in range(int(seconds * RATE) + 1):
        t = step / RATE
        pose = robot_pose(t)
        detections = detections_seen_from(pose, t)
        view = FrameMap.robot(pose, GROUND, detections.anchors)
        seen = store.update(t, detections, view)
        forecasts = forecast_histories(forecaster, [h.samples() for h in seen], min_age=0.8)
        yield t, pose, view, {h.track_id: view.present(f) for h, f in zip(seen, forecasts) if f is not None}


def test_world_forecasts_do_not_move_with_the_robot():
    made = {1: [], 2: []}
    for t, pose, view, forecasts in drive(Forecaster.load("cv"), seconds=4.0):
        for track_id, forecast in forecasts.items():
            truth = np.stack([people(t + dt)[track_id] for dt in forecast.times])
            np.testing.assert_allclose(forecast.points_world, truth, atol=1e-3)
            np.testing.assert_allclose(forecast.start_world, people(t)[track_id], atol=1e-6)
            made[track_id].append(forecast.points_world[-1] - people(t + forecast.times[-1])[track_id])
            # and in the current image: the world forecast as this camera sees it
            pixels = np.array([BASE_TO_PIXELS @ np.linalg.inv(pose_matrix(pose)) @ [*p, 1.0] for p in forecast.points_world])
            np.testing.assert_allclose(forecast.points, pixels[:, :2] / pixels[:, 2:], atol=1e-3)
    assert len(made[1]) > 20 and len(made[2]) > 20  # forecast over most of the drive


def test_world_forecasts_carry_metric_uncertainty(lstm_forecaster):
    *_, (t, pose, view, forecasts) = drive(lstm_forecaster, seconds=3.0)
    forecast = forecasts[2]
    steps = len(forecast.times)
    assert forecast.sigma_world.shape == (steps, 2) and forecast.covariance_world.shape == (steps, 2, 2)
    np.testing.assert_allclose(np.sqrt(np.diagonal(forecast.covariance_world, axis1=1, axis2=2)), forecast.sigma_world)
    assert (np.diff(forecast.sigma_world.sum(axis=1)) > 0).mean() > 0.8  # uncertainty grows over the horizon
    assert np.isfinite(forecast.sigma).all()  # and carried into pixels


def test_pixel_uncertainty_reaches_the_ground_through_the_homography():
    ground = GroundPlane(np.diag([0.01, 0.02, 1.0]))  # 1 cm per pixel across, 2 cm down
    forecast = Forecast(times=np.array([0.4, 0.8]), points=np.array([[10.0, 10.0], [20.0, 20.0]]),
                        sigma=np.array([[3.0, 4.0], [6.0, 8.0]]), start=np.array([0.0, 0.0]))
    on_ground = FrameMap(ground=ground).present(forecast)
    np.testing.assert_allclose(on_ground.sigma_world, [[0.03, 0.08], [0.06, 0.16]])
    np.testing.assert_allclose(on_ground.covariance_world[0], np.diag([0.03 ** 2, 0.08 ** 2]))
    np.testing.assert_allclose(on_ground.start_world, [0.0, 0.0])


def test_closest_approach_is_exact_between_steps():
    # start at (0, 0), walk along +x at 1 m/s: passes (2.5, 1) closest at t = 2.5 s, 1 m away
    times = np.arange(1, 5) * 1.0
    forecast = Forecast(times=times, points=np.stack([times, 0 * times], 1), start=np.zeros(2),
                        points_world=np.stack([times, 0 * times], 1), start_world=np.zeros(2))
    when, distance = forecast.closest_approach([2.5, 1.0])
    assert when == pytest.approx(2.5) and distance == pytest.approx(1.0)
    assert forecast.closest_approach([-3.0, 4.0]) == pytest.approx((0.0, 5.0))  # behind: closest now
    assert forecast.closest_approach([9.0, 0.0]) == pytest.approx((4.0, 5.0))  # ahead: closest at the end


def test_standalone_forecaster_drops_tracks_not_updated_for_the_ttl():
    forecaster = Forecaster.load("cv", min_track_age=0.2, lost_track_ttl=1.0)
    assert (forecaster.min_track_age, forecaster.lost_track_ttl) == (0.2, 1.0)
    for step in range(6):
        forecaster.update(3, 0.1 * step, [1.0 + 0.1 * step, 2.0])
    assert set(forecaster.forecast_all(now=1.0)) == {3}
    assert forecaster.forecast_all(now=1.6) == {}  # last update at 0.5 s: gone after 1.0 s


def test_robot_feeds_world_points_while_driving():
    """A robot with its own detections: base-frame points moved by its pose before update()."""
    forecaster = Forecaster.load("cv")
    for step in range(int(3.0 * RATE) + 1):
        t = step / RATE
        to_base = np.linalg.inv(pose_matrix(robot_pose(t)))
        for track_id, world in people(t).items():
            in_base = (to_base @ [*world, 1.0])[:2]  # what the robot's detector reports
            forecaster.update(track_id, t, (pose_matrix(robot_pose(t)) @ [*in_base, 1.0])[:2])
    forecasts = forecaster.forecast_all(now=3.0)
    np.testing.assert_allclose(forecasts[1].points[-1], people(0)[1], atol=1e-4)
    np.testing.assert_allclose(forecasts[2].points[-1], people(3.0 + 4.8)[2], atol=1e-4)


def test_load_takes_the_constructors_settings(lstm_path):
    forecaster = Forecaster.load(lstm_path, min_track_age=1.5, lost_track_ttl=0.5)
    assert (forecaster.min_track_age, forecaster.lost_track_ttl) == (1.5, 0.5)


@pytest.fixture(scope="module")
def lstm_path():
    from conftest import REPO

    path = REPO / "weights" / "forecaster.pt"
    if not path.is_file():
        pytest.skip("weights/forecaster.pt not available")
    return path


@pytest.fixture(scope="module")
def lstm_forecaster(lstm_path):
    return Forecaster.load(lstm_path)


def test_a_detection_with_bad_numbers_does_not_decide_what_is_in_front():
    seen = detections_seen_from(robot_pose(0.0), 0.0).anchors
    flipped = GroundPlane(-GROUND.matrix)  # the same map with the homography's other overall sign
    for ground in (GROUND, flipped):
        expected = FrameMap.robot(robot_pose(0.0), ground, seen).front
        for bad in (np.nan, np.inf):
            with_bad = np.vstack([seen, [[bad, 240.0]], [[bad, bad]]])
            assert FrameMap.robot(robot_pose(0.0), ground, with_bad).front == expected
    assert FrameMap.robot(robot_pose(0.0), flipped, seen).front == -FrameMap.robot(robot_pose(0.0), GROUND, seen).front
