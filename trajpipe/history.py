"""Per-track histories with timestamps, bounded in time and pruned when tracks are lost."""

from __future__ import annotations

import numpy as np

from .detection import Detections
from .motion import View

MAX_SAMPLES = 1024  # hard cap per track, whatever the frame rate
TIME, X, Y, BOX, CONF = 0, 1, 2, slice(3, 7), 7  # columns of a history row


class TrackHistory:
    """Everything seen of one track: rows of (time, anchor x, y, box x1, y1, x2, y2, confidence)
    in one growing numpy buffer, so reading the whole history costs one slice, not one Python
    object per sample. A box of NaN means the track was observed as a bare point."""

    def __init__(self, track_id: int, class_id: int):
        self.track_id, self.class_id = track_id, class_id
        self._rows = np.empty((64, 8))
        self._start = self._end = 0

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def last_seen(self) -> float:
        return float(self._rows[self._end - 1, TIME])

    def rows(self) -> np.ndarray:
        """The live rows (T, 8): (time, x, y, box x1, y1, x2, y2, confidence), as a read-only view."""
        live = self._rows[self._start:self._end]
        live.flags.writeable = False
        return live

    def append(self, t: float, point, box, confidence: float) -> None:
        if len(self) >= MAX_SAMPLES:
            self._start += 1  # drop the oldest sample
        if self._end == len(self._rows):
            self._make_room()
        row = self._rows[self._end]
        row[TIME], row[X], row[Y], row[CONF] = t, point[0], point[1], confidence
        row[BOX] = np.nan if box is None else box
        self._end += 1

    def _make_room(self) -> None:
        # Always a new buffer (twice the size when more than half full): a written row is never
        # overwritten, so views handed out by rows() stay valid without copies.
        live = self._rows[self._start:self._end]
        size = len(self._rows) * 2 if len(live) * 2 > len(self._rows) else len(self._rows)
        self._rows = np.empty((size, 8))
        self._rows[:len(live)] = live
        self._start, self._end = 0, len(live)

    def trim_before(self, t: float) -> None:
        # Keep one sample before t so that interpolation over [t, now] stays defined. Usually one
        # sample a frame crosses t: a scalar check per sample beats a search.
        rows, start = self._rows, self._start
        while self._end - start > 2 and rows[start + 1, TIME] <= t:
            start += 1
        if start != self._start:
            self._start = start


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

    def update(self, timestamp: float, detections: Detections, view: View | None = None) -> list[TrackHistory]:
        """Add this frame's tracked boxes; returns the histories of the tracks seen in this frame,
        in the order of ``detections``. ``view``: how this frame's pixels map to the coordinates the
        histories are kept in (None: the same). In world metres (``view.metric``) the boxes are not
        kept: the rows hold bare points, which the forecast stage takes to be metres."""
        if self.last_time is not None and timestamp < self.last_time:
            raise ValueError(f"timestamps must not go backwards ({timestamp} after {self.last_time})")
        self.last_time = timestamp
        seen = []
        anchors, boxes = detections.anchors, detections.xyxy
        if view is not None and view.to_history is not None:
            anchors = view.pixels_to_history(anchors)
            boxes = [None] * len(boxes) if view.metric else view.pixels_to_history(boxes.reshape(-1, 2, 2)).reshape(-1, 4)
        anchors = anchors.tolist()
        boxes = boxes if isinstance(boxes, list) else boxes.tolist()
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
