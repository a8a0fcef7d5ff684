"""Python API for robots: ground-plane forecasts, the detector-free forecaster, threads."""

import json
import threading

import numpy as np
import pytest

from trajpipe import Forecaster, TrajpipeError
from trajpipe.config import load_config
from trajpipe.core.frames import GroundPlane

# Image (u, v) -> ground (x, y): x = (u - 100) / 50, y = (400 - v) / 25, by hand.
PAIRS = [[100, 400, 0, 0], [600, 400, 10, 0], [100, 150, 0, 10], [600, 150, 10, 10]]


def test_homography_from_points_maps_hand_computed_points():
    ground = GroundPlane.from_points(PAIRS)
    np.testing.assert_allclose(ground.to_ground([[350, 275], [100, 400]]), [[5, 5], [0, 0]], atol=1e-9)
    np.testing.assert_allclose(ground.to_ground(np.array([150.0, 375.0])), [1, 1], atol=1e-9)


def test_homography_perspective_matrix_from_files(tmp_path):
    # A real perspective: points further up the image are further away and closer together.
    matrix = np.array([[0.02, 0.0, -5.0], [0.0, -0.05, 20.0], [0.0, 0.002, 1.0]])
    u, v = 300.0, 200.0
    w = 0.002 * v + 1.0
    expected = [(0.02 * u - 5.0) / w, (-0.05 * v + 20.0) / w]
    np.save(tmp_path / "h.npy", matrix)
    (tmp_path / "h.json").write_text(json.dumps(matrix.tolist()))
    (tmp_path / "h.txt").write_text("\n".join(" ".join(map(str, row)) for row in matrix))
    for name in ("h.npy", "h.json", "h.txt"):
        np.testing.assert_allclose(GroundPlane.from_file(tmp_path / name).to_ground([u, v]), expected, rtol=1e-9)


def test_bad_homographies_are_clear_errors(tmp_path):
    with pytest.raises(TrajpipeError, match="at least four"):
        GroundPlane.from_points(PAIRS[:3])
    with pytest.raises(TrajpipeError, match="degenerate"):
        GroundPlane.from_points([[0, 0, 0, 0], [1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]])
    (tmp_path / "bad.txt").write_text("1 2 3\n")
    with pytest.raises(TrajpipeError, match="3x3"):
        GroundPlane.from_file(tmp_path / "bad.txt")
    with pytest.raises(TrajpipeError, match="not both"):
        load_config(overrides={"homography": "h.txt", "homography_points": PAIRS})


def test_forecaster_without_yolo_on_boxes_and_points():
    forecaster = Forecaster.load("cv")
    for step in range(11):
        t = 10.0 + step * 0.1
        forecaster.update(1, t, [100 + 20 * step, 50, 120 + 20 * step, 150])  # pixels, moving right 200 px/s
        forecaster.update(2, t, [1.0 * step * 0.1, 2.0])  # metres, 1 m/s along x
    forecaster.update(3, 11.0, [5.0, 5.0])  # too young to forecast
    forecasts = forecaster.forecast_all()
    assert set(forecasts) == {1, 2}
    box_forecast, point_forecast = forecasts[1], forecasts[2]
    assert box_forecast.origin == pytest.approx(11.0)
    np.testing.assert_allclose(box_forecast.times, 0.4 * np.arange(1, 13))
    np.testing.assert_allclose(box_forecast.points[-1], [310 + 200 * 4.8, 150], atol=1e-3)
    np.testing.assert_allclose(point_forecast.points[-1], [1.0 + 4.8, 2.0], atol=1e-4)
    forecaster.update(2, 20.0, [0.0, 0.0])  # much later: tracks 1 and 3 are forgotten
    assert set(forecaster.forecast_all()) == {2}


def test_forecaster_rejects_bad_observations():
    forecaster = Forecaster.load("cv")
    forecaster.update(1, 1.0, [0, 0])
    with pytest.raises(ValueError, match="not after"):
        forecaster.update(1, 1.0, [1, 1])
    with pytest.raises(ValueError, match="box"):
        forecaster.update(1, 2.0, [1, 2, 3])


def test_one_producer_and_one_consumer_thread():
    forecaster = Forecaster.load("cv")
    errors, done = [], threading.Event()

    def produce():
        try:
            for step in range(3000):
                for track_id in range(5):
                    forecaster.update(track_id, step * 0.01, [step * 0.01, track_id])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    results = 0
    while not done.is_set():
        for forecast in forecaster.forecast_all().values():
            assert np.isfinite(forecast.points).all()
            results += 1
    producer.join()
    assert not errors and results > 0
