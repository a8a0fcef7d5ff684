"""Per-track histories with timestamps, bounded in time and pruned when tracks are lost."""

from __future__ import annotations

import numpy as np

from .detection import Detections

MAX_SAMPLES = 1024  # hard cap per track, whatever the frame rate
_T, _X, _Y, _BOX, _CONF = 0, 1, 2, slice(3, 7), 7  # columns of a history row


class TrackHistory:
    """Everything seen of one track: rows of (time, anchor x, y, box x1, y1, x2, y2, confidence)
    in one growing numpy buffer, so reading the whole history costs one slice, not one Python
    object per sample. A box of NaN means the track was observed as a bare point."""

    def __init__(self, track_id: int, class_id: int):
        self.track_id, self.class_id = track_id, class_id
        self._rows = np.empty((64, 8))
        self._start = self._end = 0
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def last_seen(self) -> float:
        return float(self._rows[self._end - 1, _T])

    @property
    def age(self) -> float:
        """Seconds between the first and the last sighting."""
        return float(self._rows[self._end - 1, _T] - self._rows[self._start, _T])

    @property
    def has_box(self) -> bool:
        """Whether the latest observation was a box (pixels) rather than a bare point."""
        return not np.isnan(self._rows[self._end - 1, 3])

    def recent_height(self, samples: int) -> float:
        """Mean box height over the last ``samples`` observations."""
        boxes = self._rows[max(self._start, self._end - samples):self._end, _BOX]
        return float(np.mean(boxes[:, 3] - boxes[:, 1]))

    def append(self, t: float, point, box, confidence: float) -> None:
        if len(self) >= MAX_SAMPLES:
            self._start += 1  # drop the oldest sample
        if self._end == len(self._rows):
            self._make_room()
        row = self._rows[self._end]
        row[_T], row[_X], row[_Y], row[_CONF] = t, point[0], point[1], confidence
        row[_BOX] = np.nan if box is None else box
        self._end += 1
        self._arrays = None

    def _make_room(self) -> None:
        live = self._rows[self._start:self._end]
        if len(live) * 2 > len(self._rows):  # more than half full: grow, else compact in place
            self._rows = np.empty((len(self._rows) * 2, 8))
        self._rows[:len(live)] = live.copy()
        self._start, self._end = 0, len(live)

    def trim_before(self, t: float) -> None:
        # Keep one sample before t so that interpolation over [t, now] stays defined.
        times = self._rows[self._start:self._end, _T]
        drop = min(int(np.searchsorted(times, t, side="right")) - 1, len(times) - 2)
        if drop > 0:
            self._start += drop
            self._arrays = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(times (T,), points (T, 2))``: read-only copies, shared until the next change."""
        if self._arrays is None:
            live = self._rows[self._start:self._end]
            times, points = live[:, _T].copy(), live[:, _X:_Y + 1].copy()
            times.flags.writeable = points.flags.writeable = False
            self._arrays = times, points
        return self._arrays


class TrackHistories:
    """The pipeline's memory of tracks. ``update`` once per frame; memory stays flat on long videos
    because samples older than ``history_seconds`` are dropped and tracks lost for longer than
    ``lost_track_ttl`` are forgotten."""

    def __init__(self, history_seconds: float = 6.0, lost_track_ttl: float = 2.0):
        self.history_seconds = history_seconds
        self.lost_track_ttl = lost_track_ttl
        self.tracks: dict[int, TrackHistory] = {}
        self.last_time: float | None = None

    def __len__(self) -> int:
        return len(self.tracks)

    def update(self, timestamp: float, detections: Detections) -> list[TrackHistory]:
        """Add this frame's tracked boxes; returns the histories of the tracks seen in this frame,
        in the order of ``detections``."""
        if self.last_time is not None and timestamp < self.last_time:
            raise ValueError(f"timestamps must not go backwards ({timestamp} after {self.last_time})")
        self.last_time = timestamp
        seen = []
        anchors = detections.anchors.tolist()
        boxes = detections.xyxy.tolist()
        for i, track_id in enumerate(detections.tracker_id.tolist()):
            history = self.tracks.get(track_id)
            if history is None:
                history = self.tracks[track_id] = TrackHistory(track_id, int(detections.class_id[i]))
            history.append(timestamp, anchors[i], boxes[i], float(detections.confidence[i]))
            seen.append(history)
        self.prune(timestamp)
        return seen

    def prune(self, now: float) -> None:
        lost = [tid for tid, h in self.tracks.items() if now - h.last_seen > self.lost_track_ttl]
        for tid in lost:
            del self.tracks[tid]
        oldest = now - self.history_seconds
        for history in self.tracks.values():
            history.trim_before(oldest)
