"""Put irregularly timestamped track samples on the fixed time grid a forecaster expects."""

from __future__ import annotations

import numpy as np


def resample_track(times: np.ndarray, points: np.ndarray, dt: float, steps: int, end_time: float | None = None) -> np.ndarray:
    """Linearly interpolate ``points`` (T, D) sampled at increasing ``times`` (T,) onto ``steps``
    instants ``end_time - (steps-1)*dt, ..., end_time`` (default end: the last sample).

    Instants before the first sample hold the first position (the track was not seen moving then),
    so a short track looks stationary at its start rather than inventing motion.
    """
    times = np.asarray(times, dtype=np.float64)
    points = np.asarray(points, dtype=np.float64)
    if times.ndim != 1 or points.ndim != 2 or len(times) != len(points) or len(times) == 0:
        raise ValueError("resample_track needs times (T,) and points (T, D) with T >= 1")
    if end_time is None:
        end_time = times[-1]
    grid = end_time - dt * np.arange(steps - 1, -1, -1)
    # Column by column into one array: this runs for every track of every frame.
    resampled = np.empty((steps, points.shape[1]))
    for d in range(points.shape[1]):
        resampled[:, d] = np.interp(grid, times, points[:, d])
    return resampled
