"""The pipeline's forecasting stage: histories at any frame rate -> forecasts on the forecaster's grid."""

import numpy as np
import pytest

from trajpipe.core.detections import Detections
from trajpipe.forecast import ConstantVelocityForecaster
from trajpipe.forecast.stage import forecast_histories
from trajpipe.tracking.history import TrackHistories

VELOCITY = np.array([30.0, -12.0])  # pixels per second
START = np.array([100.0, 400.0])


def walk(times):
    """A 40 px tall box whose bottom centre moves at VELOCITY; returns the histories after the last time."""
    store = TrackHistories(history_seconds=6, lost_track_ttl=2)
    for t in times:
        x, y = START + VELOCITY * t
        box = np.array([[x - 10, y - 40, x + 10, y]], np.float32)
        store.update(t, Detections(box, np.ones(1, np.float32), np.zeros(1, np.int64), np.array([7])))
    return store, times[-1]


@pytest.mark.parametrize("fps", [10, 25, 30, 60])
def test_forecast_is_the_same_whatever_the_frame_rate(fps):
    store, now = walk(np.arange(0, 3.2 + 1e-9, 1 / fps))
    [forecast] = forecast_histories(ConstantVelocityForecaster(), [h.samples() for h in store.tracks.values()], min_age=0.8)
    np.testing.assert_allclose(forecast.times, 0.4 * np.arange(1, 13))
    expected = START + VELOCITY * (now + forecast.times[:, None])
    np.testing.assert_allclose(forecast.points, expected, atol=1e-3)


def test_dropped_frames_and_irregular_timestamps_keep_the_meaning():
    rng = np.random.default_rng(0)
    times = np.sort(rng.uniform(0, 3.2, 40))
    times = np.append(times[times < 2.0], [2.9, 3.2])  # a burst of dropped frames before the end
    store, now = walk(times)
    [forecast] = forecast_histories(ConstantVelocityForecaster(), [h.samples() for h in store.tracks.values()], min_age=0.8)
    np.testing.assert_allclose(forecast.points[-1], START + VELOCITY * (now + 4.8), atol=1e-3)


def test_young_tracks_are_not_forecast():
    store, now = walk(np.arange(0, 0.5, 0.04))
    assert forecast_histories(ConstantVelocityForecaster(), [h.samples() for h in store.tracks.values()], min_age=0.8) == [None]


def test_cv_forecaster_is_exact_on_straight_lines():
    obs = START + VELOCITY * 0.4 * np.arange(8)[:, None]
    pred = ConstantVelocityForecaster().predict(obs[None], dt=0.4)
    assert pred.shape == (1, 12, 2)
    np.testing.assert_allclose(pred[0], START + VELOCITY * 0.4 * np.arange(8, 20)[:, None], rtol=1e-6)


def test_stage_hands_out_modes_without_zero_probability_padding():
    import torch

    from trajpipe.forecast.lstm import LSTMForecaster, TrajectoryNet

    store, _ = walk(np.arange(0, 3.2 + 1e-9, 1 / 25))
    rows = [h.samples() for h in store.tracks.values()]
    torch.manual_seed(0)
    multimodal = LSTMForecaster(TrajectoryNet(hidden=8, modes=5))
    [forecast] = forecast_histories(multimodal, rows, min_age=0.8, modes=3)
    assert forecast.modes.points.shape == (3, 12, 2) and forecast.modes.sigma.shape == (3, 12, 2)
    assert abs(forecast.modes.probs.sum() - 1) < 1e-5 and (np.diff(forecast.modes.probs) <= 0).all()
    [single] = forecast_histories(ConstantVelocityForecaster(), rows, min_age=0.8, modes=3)
    assert single.modes.points.shape == (1, 12, 2) and single.modes.probs.tolist() == [1.0]
    np.testing.assert_allclose(single.modes.points[0], single.points)
    [none] = forecast_histories(multimodal, rows, min_age=0.8, modes=0)
    assert none.modes is None
