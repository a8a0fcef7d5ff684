"""Pipeline stage: track histories -> batched forecaster calls -> per-track forecasts."""

from __future__ import annotations

import numpy as np

from ..core.anchors import box_height
from ..core.interp import resample_tracks
from ..core.results import Forecast, ModeSet
from ..tracking.history import Samples
from .adapt import SceneAdapter

SCALE_SAMPLES = 5  # box heights averaged for the pixel scale, to damp detector jitter


def forecast_histories(forecaster, histories: list[Samples], min_age: float, modes: int = 0,
                       adapter: SceneAdapter | None = None, track_ids=None) -> list[Forecast | None]:
    """Forecasts of ``forecaster`` for the tracks old enough to have a velocity (``None`` for the others).

    ``histories``: each track's :class:`~trajpipe.tracking.history.Samples`. ``modes``: how many of the
    most probable alternative futures each forecast carries (``Forecast.modes``; modes a forecaster
    gives probability 0, such as the repeats of a single-future forecaster, are left out).

    Each history is resampled onto the forecaster's own time grid ending at its last sighting, so
    the result means the same whatever the frame rate or dropped frames. Tracks seen at the same
    instant form one group (each other's neighbours); tracks with boxes are in pixels and scaled by
    box height, tracks of bare points are taken to be in metres. One forecaster call per kind.
    All tracks are gathered into one array first: this runs on every frame, for every track.

    ``adapter`` (with each history's ``track_ids``): the scene adaptation
    (:class:`~trajpipe.forecast.adapt.SceneAdapter`) scores its earlier windows against these histories,
    keeps these forecasts as they were made, and adapts them (``modes`` are left as they are).
    """
    forecasts: list[Forecast | None] = [None] * len(histories)
    if adapter is not None and histories:
        adapter.resolve(track_ids, histories, max(float(h.times[-1]) for h in histories if len(h)))
    members = [i for i, h in enumerate(histories) if len(h) >= 2 and h.times[-1] - h.times[0] >= min_age]
    if not members:
        return forecasts
    dt, steps = forecaster.dt, forecaster.obs_steps
    tracks = [histories[i] for i in members]
    lengths = np.array([len(t) for t in tracks])
    samples = Samples.concat(tracks)
    last = np.cumsum(lengths) - 1
    obs = resample_tracks(samples.times, samples.points, lengths, dt, steps).astype(np.float32)
    origins = samples.times[last]
    # mean height of each track's last SCALE_SAMPLES boxes (NaN for tracks of bare points)
    recent = last[:, None] - np.arange(SCALE_SAMPLES)[None, :]
    valid = recent > (last - lengths)[:, None]
    heights = (box_height(samples.boxes[np.where(valid, recent, last[:, None])]) * valid).sum(axis=1) / valid.sum(axis=1)
    has_box = np.isfinite(samples.boxes[last, 0])
    for kind in (has_box, ~has_box):
        if not kind.any():
            continue
        groups = np.unique(origins[kind], return_inverse=True)[1]
        scale = heights[kind].astype(np.float32) if kind is has_box else None
        mean, sigma, alternatives = forecaster.predict_batch(obs[kind], dt=dt, scale=scale, groups=groups, k=modes)
        if adapter is not None:
            cv = _constant_velocity(obs[kind], mean.shape[1])
            ages = origins - samples.times[last - lengths + 1]
            adapter.record([track_ids[members[k]] for k in np.flatnonzero(kind)], origins[kind], ages[kind], mean, cv,
                           sigma, np.ones(kind.sum()) if scale is None else scale)
            mean, sigma = adapter.apply(mean, cv, sigma)
        times = dt * np.arange(1, mean.shape[1] + 1)
        for row, k in enumerate(np.flatnonzero(kind)):
            forecasts[members[k]] = Forecast(times=times, points=mean[row], origin=float(origins[k]),
                                             sigma=None if sigma is None else sigma[row],
                                             start=samples.points[last[k]].copy(),
                                             modes=None if alternatives is None else _track_modes(alternatives, row))
    return forecasts


def _constant_velocity(obs: np.ndarray, steps: int) -> np.ndarray:
    """(N, steps, 2): the last step of ``obs`` (N, T, 2) continued, on the same grid."""
    return obs[:, -1:] + np.arange(1, steps + 1, dtype=obs.dtype)[None, :, None] * (obs[:, -1:] - obs[:, -2:-1])


def _track_modes(modes, row: int) -> ModeSet:
    keep = modes.probs[row] > 0
    return ModeSet(points=modes.points[row, keep], probs=modes.probs[row, keep],
                 sigma=None if modes.sigma is None else modes.sigma[row, keep])
