"""People the tracker has lost but still looks for (config key ``keep_hidden_tracks``): kept in the
results, not visible, where the forecast made at their last sighting puts them now.

The forecast is the one the track had on the frame it was last seen (made from its history up to that
observation, with that frame's neighbours), read ``elapsed`` seconds later: the position is the forecast
at ``elapsed``, the forecast from now on is the rest of it (so its sigma keeps growing). Nothing is
re-forecast while a track is hidden: it costs nothing per frame and does not jump.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..core.anchors import bottom_centre
from ..core.frames import FrameMap
from ..core.results import Forecast, TrackState
from ..tracking.history import Samples


def _read_at(grid: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``values`` (..., G, 2) given at the times ``grid`` (G,), linearly interpolated at ``query`` (Q,)
    (clamped to the grid): (..., Q, 2)."""
    right = np.clip(np.searchsorted(grid, query, side="right"), 1, len(grid) - 1)
    left = right - 1
    weight = np.clip((query - grid[left]) / (grid[right] - grid[left]), 0.0, 1.0)[:, None]
    return values[..., left, :] * (1.0 - weight) + values[..., right, :] * weight


def continue_forecast(forecast: Forecast, elapsed: float) -> tuple[np.ndarray, Forecast | None]:
    """(position, forecast) ``elapsed`` seconds after ``forecast.origin``: the forecast's point at that
    time (its path runs from ``start`` at 0) and the remaining forecast, its times counted from the
    new origin and only those still within the original horizon (None when none is left). Sigma is
    read the same way (0 at the start), so it is the grown uncertainty of the elapsed time plus the
    step. ``start`` must be set, as the forecast stage sets it."""
    times = np.asarray(forecast.times, np.float64)
    grid = np.concatenate([[0.0], times])
    elapsed = float(np.clip(elapsed, 0.0, times[-1]))
    position = _read_at(grid, np.vstack([forecast.start, forecast.points]), np.array([elapsed]))[0]
    left = times[elapsed + times <= times[-1] + 1e-9]
    if not len(left):
        return position, None
    query = elapsed + left

    def path(points: np.ndarray) -> np.ndarray:  # (..., T, 2) from the same start
        start = np.broadcast_to(forecast.start, points.shape[:-2] + (1, 2))
        return _read_at(grid, np.concatenate([start, points], axis=-2), query)

    def spread(sigma: np.ndarray | None) -> np.ndarray | None:
        if sigma is None:
            return None
        return _read_at(grid, np.concatenate([np.zeros(sigma.shape[:-2] + (1, 2)), sigma], axis=-2), query)

    modes = forecast.modes
    if modes is not None:
        modes = dataclasses.replace(modes, points=path(modes.points), sigma=spread(modes.sigma), points_world=None)
    continued = Forecast(times=left, points=path(forecast.points), sigma=spread(forecast.sigma),
                         origin=forecast.origin + elapsed, start=position, modes=modes)
    return position, continued


@dataclass(frozen=True)
class LastSighting:
    """What a track was when last seen: its forecast then (history coordinates; None for a track too
    young to forecast), its box (pixels) and detector confidence."""

    forecast: Forecast | None
    box: np.ndarray
    confidence: float


class HiddenTracks:
    """The last sighting of every visible track, turned into a hidden :class:`TrackState` on the frames
    the tracker has lost it. One per pipeline; called in frame order."""

    def __init__(self):
        self._last: dict[int, LastSighting] = {}

    def __len__(self) -> int:
        return len(self._last)

    def remember(self, track_id: int, forecast: Forecast | None, box: np.ndarray, confidence: float) -> None:
        self._last[track_id] = LastSighting(forecast, np.asarray(box, np.float64), confidence)

    def keep_only(self, track_ids) -> None:
        """Forget every track but these (the ones visible or hidden on this frame)."""
        keep = set(track_ids)
        for track_id in [i for i in self._last if i not in keep]:
            del self._last[track_id]

    def remap(self, transform) -> None:
        """History coordinates moved (``transform`` maps old to new, see :meth:`TrackHistories.remap`):
        move the remembered forecasts with them."""
        for track_id, last in self._last.items():
            if last.forecast is not None:
                self._last[track_id] = dataclasses.replace(last, forecast=last.forecast.mapped(transform))

    def state(self, track_id: int, class_id: int, class_name: str, history: Samples, timestamp: float,
              frame_map: FrameMap) -> TrackState | None:
        """The hidden track ``track_id`` at ``timestamp`` (None if it was never seen by this memory)."""
        last = self._last.get(track_id)
        if last is None:
            return None
        elapsed = timestamp - float(history.times[-1])
        position, forecast = history.points[-1], None
        if last.forecast is not None:
            position, forecast = continue_forecast(last.forecast, elapsed)
        pixels = frame_map.history_to_pixels(np.asarray(position, np.float64))
        box = last.box + np.tile(pixels - bottom_centre(last.box), 2)
        return TrackState(
            id=track_id, class_id=class_id, class_name=class_name, confidence=last.confidence, box=box,
            history=frame_map.history_to_pixels(history.points), history_times=history.times,
            forecast=None if forecast is None else frame_map.present(forecast),
            point_world=frame_map.point_world(position), visible=False, hidden_for=elapsed, position=pixels)
