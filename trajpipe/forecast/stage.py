"""Pipeline stage: track histories -> batched forecaster calls -> per-track forecasts."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..history import TrackHistory
from ..results import Forecast
from .base import Forecaster
from .resample import resample_track

SCALE_SAMPLES = 5  # box heights averaged for the pixel scale, to damp detector jitter


def forecast_histories(forecaster: Forecaster, histories: list[TrackHistory], min_age: float) -> list[Forecast | None]:
    """Forecasts for the tracks old enough to have a velocity (``None`` for the others).

    Each history is resampled onto the forecaster's own time grid ending at its last sighting, so
    the result means the same whatever the frame rate or dropped frames. Tracks seen at the same
    instant form one group (each other's neighbours); tracks with boxes are in pixels and scaled by
    box height, tracks of bare points are taken to be in metres. One forecaster call per kind.
    """
    dt, steps = forecaster.dt, forecaster.obs_steps
    forecasts: list[Forecast | None] = [None] * len(histories)
    batches: dict[bool, list[int]] = defaultdict(list)
    for i, history in enumerate(histories):
        if len(history) >= 2 and history.age >= min_age:
            batches[history.has_box].append(i)
    for has_boxes, members in batches.items():
        obs = np.empty((len(members), steps, 2), np.float32)
        origins = np.empty(len(members))
        for row, i in enumerate(members):
            times, points = histories[i].arrays()
            obs[row] = resample_track(times, points, dt, steps)
            origins[row] = times[-1]
        scale = None
        if has_boxes:
            scale = np.array([histories[i].recent_height(SCALE_SAMPLES) for i in members], np.float32)
        groups = np.unique(origins, return_inverse=True)[1]
        mean, sigma = forecaster.predict_with_sigma(obs, dt=dt, scale=scale, groups=groups)
        times = dt * np.arange(1, mean.shape[1] + 1)
        for row, i in enumerate(members):
            forecasts[i] = Forecast(times=times, points=mean[row], sigma=None if sigma is None else sigma[row],
                                    origin=float(origins[row]))
    return forecasts
