"""Time grids and planar rotation, written once.

Tracks are sampled at irregular timestamps; forecasters read and write fixed grids (0.4 s for the
shipped models). Every change of grid in trajpipe, at inference and in training, goes through the
linear interpolation here, so a result means the same whatever the frame rate or dropped frames.
"""

from __future__ import annotations

import numpy as np


def resample(times, values, instants) -> np.ndarray:
    """``values`` (T, D) sampled at increasing ``times`` (T,), linearly interpolated at ``instants``
    (S,) -> (S, D) float64. Instants outside the samples hold the nearest one (no extrapolation)."""
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    out = np.empty((len(instants), values.shape[1]))
    for d in range(values.shape[1]):  # column by column into one array: this runs for every track
        out[:, d] = np.interp(instants, times, values[:, d])
    return out


def resample_track(times: np.ndarray, points: np.ndarray, dt: float, steps: int, end_time: float | None = None) -> np.ndarray:
    """A track's samples interpolated onto a uniform time grid that ends at ``end_time``.

    Instants before the first sample hold the first position (the track was not seen moving then),
    so a short track looks stationary at its start rather than inventing motion.

    Args:
        times: (T,) increasing sample times, seconds.
        points: (T, D) positions at those times.
        dt: the grid's step in seconds.
        steps: instants on the grid: ``end_time - (steps-1)*dt, ..., end_time``.
        end_time: the grid's last instant; None: the last sample's time.

    Returns:
        (steps, D) positions.

    Example:
        >>> resample_track(np.array([0.0, 1.0]), np.array([[0.0, 0.0], [1.0, 0.0]]), 0.5, 3).tolist()
        [[0.0, 0.0], [0.5, 0.0], [1.0, 0.0]]
    """
    times = np.asarray(times, dtype=np.float64)
    points = np.asarray(points, dtype=np.float64)
    if times.ndim != 1 or points.ndim != 2 or len(times) != len(points) or len(times) == 0:
        raise ValueError("resample_track needs times (T,) and points (T, D) with T >= 1")
    if end_time is None:
        end_time = times[-1]
    return resample(times, points, end_time - dt * np.arange(steps - 1, -1, -1))


def resample_tracks(times: np.ndarray, points: np.ndarray, lengths: np.ndarray, dt: float, steps: int) -> np.ndarray:
    """:func:`resample_track` for many tracks at once, each on the grid ending at its own last sample.

    ``times`` (S,) and ``points`` (S, D) are the tracks' samples one track after another, ``lengths``
    (M,) how many belong to each. Returns (M, steps, D). Same result as one call per track, without
    a Python loop over tracks (the pipeline calls this for every frame).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    track = np.repeat(np.arange(len(lengths)), lengths)
    rel = times - times[ends - 1][track]  # <= 0: seconds before the track's last sample
    # One sorted key over all tracks: each track's relative times shifted into its own band.
    band = float(max(-rel.min(), 0.0)) + dt * steps + 1.0
    key = rel + band * track
    grid = -dt * np.arange(steps - 1, -1, -1)  # (steps,) relative to each track's last sample
    grid_key = grid[None, :] + band * np.arange(len(lengths))[:, None]
    upper = np.searchsorted(key, grid_key, side="right")  # first sample after each instant
    # clip = min(max(., lo), hi): a one-sample track gets upper = lower = its sample
    upper = np.clip(upper, starts[:, None] + 1, ends[:, None] - 1)
    lower = np.maximum(upper - 1, starts[:, None])
    t0, t1 = rel[lower], rel[upper]
    span = t1 - t0
    w = np.where(span > 0, (grid[None, :] - t0) / np.where(span > 0, span, 1.0), 1.0)
    w = np.clip(w, 0.0, 1.0)[..., None]
    return (1.0 - w) * points[lower] + w * points[upper]


def interp_weights(instants, times) -> np.ndarray:
    """(S, T) weights ``W`` such that ``W @ values`` is :func:`resample` of ``values`` (T, ...) sampled
    at ``times`` (T,) onto ``instants`` (S,): for many series on the same two grids, one matrix
    product instead of one interpolation per series."""
    eye = np.eye(len(times))
    return np.stack([np.interp(instants, times, eye[j]) for j in range(len(times))], axis=1)


def rotate(v, c, s, stack=np.stack):
    """(..., 2) vectors ``v`` into a frame turned by the angle whose cosine and sine are ``c`` and ``s``
    (broadcastable to ``v[..., 0]``): ``[c x + s y, -s x + c y]``. ``rotate(v, c, -s)`` turns back.
    Works on torch tensors too, with ``stack=torch.stack``."""
    x, y = v[..., 0], v[..., 1]
    return stack([c * x + s * y, -s * x + c * y], -1)
