"""Bad numbers never spread: a non-finite or absurd track is a clear error at predict, a dropped sample
(with a warning) in the stateful API, and never changes another track's forecast."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from trajpipe import Forecaster
from trajpipe.core.finite import MAX_COORDINATE, bad_rows, check_seconds, check_step
from trajpipe.errors import TrajpipeWarning
from trajpipe.forecast.kalman import KalmanForecaster
from trajpipe.forecast.lstm import LSTMForecaster, TrajectoryNet

BAD = {"NaN": math.nan, "inf": math.inf, "-inf": -math.inf, "1e30": 1e30}


def small_lstm() -> LSTMForecaster:
    torch.manual_seed(0)  # the same weights every time
    return LSTMForecaster(TrajectoryNet(cell="lstm", hidden=16, k=4, modes=3))


FACTORIES = {"cv": lambda: Forecaster.load("cv"), "kalman": KalmanForecaster, "lstm, 3 modes": small_lstm}


def walkers(n: int = 3) -> np.ndarray:
    """(n, 8, 2) tracks walking along x at 1 m/s, 1 m apart, on the 0.4 s grid."""
    obs = np.cumsum(np.full((n, 8, 2), 0.4, np.float32), axis=1)
    obs[..., 1] += np.arange(n, dtype=np.float32)[:, None]
    return obs


def test_the_rule_flags_nan_inf_and_absurd_magnitudes_row_by_row():
    values = np.zeros((5, 8, 2))
    values[1, 3, 0], values[2, 0, 1], values[3, 7, 1] = math.nan, -math.inf, 1e30
    values[4] = MAX_COORDINATE  # the bound itself is still a number
    assert bad_rows(values).tolist() == [False, True, True, True, False]
    assert bad_rows(np.array([1.0, math.nan])).tolist() == [False, True]
    assert bad_rows(np.zeros((0, 4))).shape == (0,)
    assert bad_rows(np.float32([[3e38, 0]])).tolist() == [True]  # finite in float32, absurd all the same


@pytest.mark.parametrize("name", list(FACTORIES))
@pytest.mark.parametrize("label", list(BAD))
def test_predict_names_the_bad_rows(name, label):
    forecaster, obs = FACTORIES[name](), walkers(4)
    obs[2, 3, 1] = BAD[label]
    calls = {
        "predict": lambda: forecaster.predict(obs, groups=np.zeros(4, int)),
        "predict_with_sigma": lambda: forecaster.predict_with_sigma(obs, groups=np.zeros(4, int)),
        "predict_modes": lambda: forecaster.predict_modes(obs, groups=np.zeros(4, int), k=3),
        "predict_batch": lambda: forecaster.predict_batch(obs, groups=np.zeros(4, int), k=3),
    }
    for call, run in calls.items():
        with pytest.raises(ValueError, match=r"obs rows 2 \(tracks of this batch\) hold NaN, inf or a magnitude"):
            run()


def test_many_bad_rows_are_counted():
    obs = walkers(15)
    obs[3:15, 0, 0] = math.nan
    with pytest.raises(ValueError, match=r"rows 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, \.\.\. \(12 in all\)"):
        Forecaster.load("cv").predict(obs)


@pytest.mark.parametrize("name", list(FACTORIES))
def test_dt_must_be_positive_and_finite(name):
    forecaster, obs = FACTORIES[name](), walkers()
    for dt in (0.0, -1.0, -0.4, math.nan, math.inf, "fast"):
        with pytest.raises(ValueError, match="dt must be a"):
            forecaster.predict(obs, dt=dt)
    with pytest.raises(ValueError, match="dt must be a positive"):
        forecaster.predict(np.zeros((0, 8, 2), np.float32), dt=0)  # an empty batch is no excuse
    assert np.isfinite(forecaster.predict(obs, dt=0.2)).all()
    assert np.isfinite(forecaster.predict(obs)).all()  # None: the forecaster's own grid


def test_time_rules():
    assert check_seconds(1.7e9) == 1.7e9  # epoch seconds are fine
    assert check_step(np.float32(0.04)) == pytest.approx(0.04)
    for bad in (math.nan, math.inf, None, "noon"):
        with pytest.raises(ValueError, match="timestamp must be a"):
            check_seconds(bad)


def feed(forecaster: Forecaster, nan_at: int | None = None, skip_at: int | None = None, ms: bool = False):
    """Three tracks walking side by side for 4 s at 10 Hz, updated frame by frame; track 2's sample of
    frame ``nan_at`` is NaN, or that sample is left out at frame ``skip_at``."""
    for i in range(40):
        t = i * 0.1 * (1000 if ms else 1)
        for track_id in (1, 2, 3):
            if i == skip_at and track_id == 2:
                continue
            point = [math.nan, 1.0] if i == nan_at and track_id == 2 else [i * 0.1, float(track_id)]
            forecaster.update(track_id, t, point)


@pytest.mark.parametrize("name", list(FACTORIES))
def test_update_drops_a_bad_sample_and_nobody_else_notices(name):
    with_bad, without = FACTORIES[name](), FACTORIES[name]()
    with pytest.warns(TrajpipeWarning, match="track 2: dropped a sample holding NaN"):
        feed(with_bad, nan_at=25)
    feed(without, skip_at=25)  # the same histories, the sample simply never given
    got, expected = with_bad.forecast_all(), without.forecast_all()
    assert set(got) == set(expected) == {1, 2, 3}
    for track_id in expected:
        np.testing.assert_array_equal(got[track_id].points, expected[track_id].points)
        assert np.isfinite(got[track_id].points).all()


def test_update_drops_bad_boxes_and_points_of_every_kind():
    forecaster = Forecaster.load("cv")
    samples = [[math.nan, 0.0], [0.0, math.inf], [1e30, 0.0], [0, 0, 10, math.nan], [0, -math.inf, 10, 20]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i, sample in enumerate(samples):
            forecaster.update(7, 0.1 * i, sample)
    assert len(caught) == len(samples) and all(issubclass(w.category, TrajpipeWarning) for w in caught)
    assert all("dropped" in str(w.message) for w in caught)
    assert caught[0].filename == __file__  # the warning points at the caller's line
    forecaster.update(7, 0.0, [1.0, 1.0])  # nothing was recorded: time 0 is still free for track 7


def test_update_and_forecast_all_refuse_timestamps_that_are_not_finite():
    forecaster = Forecaster.load("cv")
    forecaster.update(1, 0.0, [0.0, 0.0])
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="timestamp must be a finite number of seconds"):
            forecaster.update(1, bad, [0.0, 0.0])
        with pytest.raises(ValueError, match="now must be a finite number of seconds"):
            forecaster.forecast_all(now=bad)
    forecaster.update(1, 0.1, [0.1, 0.0])  # the refused calls left the track as it was


def test_milliseconds_warn_once_that_timestamps_are_seconds():
    forecaster = Forecaster.load("cv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        feed(forecaster, ms=True)
    assert len(caught) == 1 and issubclass(caught[0].category, TrajpipeWarning)
    assert "100 s between consecutive samples" in str(caught[0].message) and "seconds" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        feed(Forecaster.load("cv"))  # seconds: not a word
