"""Pipeline stage: track histories -> one batched forecaster call -> per-track forecasts."""

from __future__ import annotations

import numpy as np

from ..history import TrackHistory
from ..results import Forecast
from .base import Forecaster
from .resample import resample_track

SCALE_SAMPLES = 5  # box heights averaged for the pixel scale, to damp detector jitter


def forecast_histories(forecaster: Forecaster, histories: list[TrackHistory], now: float,
                       min_age: float) -> list[Forecast | None]:
    """Forecasts for the tracks old enough to have a velocity (``None`` for the others).

    Every history is resampled onto the forecaster's own time grid ending at ``now``, so the
    result means the same whatever the video's frame rate or dropped frames.
    """
    ready = [i for i, h in enumerate(histories) if h.age >= min_age and len(h.times) >= 2]
    forecasts: list[Forecast | None] = [None] * len(histories)
    if not ready:
        return forecasts
    dt, steps = forecaster.dt, forecaster.obs_steps
    obs = np.empty((len(ready), steps, 2), np.float32)
    scale = np.empty(len(ready), np.float32)
    for row, i in enumerate(ready):
        history = histories[i]
        times, points = history.arrays()
        obs[row] = resample_track(times, points, dt, steps, end_time=now)
        recent = list(history.boxes)[-SCALE_SAMPLES:]
        scale[row] = np.mean([b[3] - b[1] for b in recent])
    mean, sigma = forecaster.predict_with_sigma(obs, dt=dt, scale=scale, groups=np.zeros(len(ready), np.int64))
    times = dt * np.arange(1, mean.shape[1] + 1)
    for row, i in enumerate(ready):
        forecasts[i] = Forecast(times=times, points=mean[row], sigma=None if sigma is None else sigma[row])
    return forecasts
