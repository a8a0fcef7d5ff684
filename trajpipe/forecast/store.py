"""The stateful side of a forecaster, for callers that already have detections (no YOLO): feed
observations one by one (:meth:`TrackStore.update`), then ask for every live track's forecast
(:meth:`TrackStore.forecast_all`). One producer and one consumer thread may share it.

Tracks are each other's neighbours (the LSTM's social input) only when their last updates carry the
same timestamp: update all tracks of one sensor frame with that frame's time.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np

from ..core.anchors import bottom_centre
from ..core.finite import BAD_VALUES, bad_rows, check_seconds
from ..errors import TrajpipeWarning
from ..tracking.history import TrackHistories
from .adapt import ADAPT_BY_DEFAULT, SceneAdapter
from .stage import forecast_histories

UNKNOWN_CLASS = -1  # the stateful API is not told classes


class TrackStore:
    """Track histories kept for ``forecaster``, pruned by its ``lost_track_ttl`` and trimmed to what its
    input window needs."""

    def __init__(self, forecaster):
        self.forecaster = forecaster
        self._histories = TrackHistories(lost_track_ttl=forecaster.lost_track_ttl)
        self._lock = threading.Lock()
        self._adapting = ADAPT_BY_DEFAULT
        self._adapter: SceneAdapter | None = None

    @property
    def adapter(self) -> SceneAdapter | None:
        """The scene adaptation (None: off), made at first use: the forecaster's grid is known by then."""
        if self._adapting and self._adapter is None:
            with self._lock:
                if self._adapter is None:
                    forecaster = self.forecaster
                    self._adapter = SceneAdapter(forecaster.dt, forecaster.pred_steps, forecaster.obs_steps)
        return self._adapter if self._adapting else None

    def adapt(self, on: bool) -> None:
        """Scene adaptation on (a new scene: what was learnt is forgotten) or off."""
        self._adapting, self._adapter = bool(on), None

    def update(self, track_id: int, timestamp: float, box_or_point) -> None:
        """See :meth:`trajpipe.forecast.base.Forecaster.update`."""
        timestamp = check_seconds(timestamp)
        value = np.asarray(box_or_point, np.float64).ravel()
        if value.size == 4:
            point, box = bottom_centre(value).tolist(), value.tolist()
        elif value.size == 2:
            point, box = value.tolist(), None
        else:
            raise ValueError(f"expected a box [x1, y1, x2, y2] or a point [x, y], got {value.size} values")
        if bad_rows(value[None])[0]:
            # the track's text only (no value, no time): Python's filter then reports each bad track once
            warnings.warn(f"track {track_id}: dropped a sample holding {BAD_VALUES}", TrajpipeWarning, stacklevel=3)
            return
        forecaster, adapting = self.forecaster, self.adapter is not None
        with self._lock:
            history = self._histories.tracks.get(track_id)
            if history is not None and timestamp <= history.last_seen:
                raise ValueError(f"track {track_id}: timestamp {timestamp} is not after {history.last_seen}")
            history = self._histories.add(track_id, UNKNOWN_CLASS, timestamp, point, box)
            self._forget_lost(timestamp)
            # the input window and a second to spare (adapting: the horizon, to score the forecasts):
            # each track is trimmed when it is updated
            steps = max(forecaster.obs_steps, forecaster.pred_steps) if adapting else forecaster.obs_steps
            history.trim_before(timestamp - (steps * forecaster.dt + 1.0))

    def forecast_all(self, now: float | None = None) -> dict:
        """See :meth:`trajpipe.forecast.base.Forecaster.forecast_all`."""
        if now is not None:
            now = check_seconds(now, "now")
        with self._lock:  # samples are never rewritten once appended: the views can leave the lock
            if now is not None:
                self._forget_lost(now)
            tracks = list(self._histories.tracks.values())
            ids, samples = [h.track_id for h in tracks], [h.samples() for h in tracks]
        forecasts = forecast_histories(self.forecaster, samples, self.forecaster.min_track_age,
                                       adapter=self.adapter, track_ids=ids)
        return {track_id: f for track_id, f in zip(ids, forecasts) if f is not None}

    def _forget_lost(self, now: float) -> None:
        self._histories.lost_track_ttl = self.forecaster.lost_track_ttl  # set_tracking may have changed it
        self._histories.forget_lost(now)
