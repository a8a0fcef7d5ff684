"""Per-track histories with timestamps, bounded in time and pruned when tracks are lost."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..core.finite import BAD_VALUES, bad_rows, check_seconds
from ..core.frames import FrameMap
from ..errors import TrajpipeWarning
from ..core.detections import Detections

MAX_SAMPLES = 1024  # hard cap per track, whatever the frame rate
# Seconds between consecutive samples of one track beyond which the timestamps are probably not seconds:
# people are not re-found after this long, but milliseconds make every frame step look like one.
MAX_SAMPLE_GAP = 10.0
_TIME, _POINT, _BOX = 0, slice(1, 3), slice(3, 7)  # columns of a history row: time, anchor x y, box x1 y1 x2 y2
_COLUMNS = 7


@dataclass(frozen=True)
class Samples:
    """A read-only view of a track's samples (or of several tracks' samples one after another).

    ``times`` (T,) seconds; ``points`` (T, 2) anchor points (history coordinates: pixels, or metres for
    tracks of bare points); ``boxes`` (T, 4) ``[x1, y1, x2, y2]`` in the same coordinates, NaN where the
    track was observed as a bare point.
    """

    rows: np.ndarray  # (T, 7): time, x, y, x1, y1, x2, y2

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def times(self) -> np.ndarray:
        return self.rows[:, _TIME]

    @property
    def points(self) -> np.ndarray:
        return self.rows[:, _POINT]

    @property
    def boxes(self) -> np.ndarray:
        return self.rows[:, _BOX]

    @staticmethod
    def concat(parts: list["Samples"]) -> "Samples":
        return Samples(np.concatenate([p.rows for p in parts]))


class TrackHistory:
    """Everything seen of one track in one growing numpy buffer, so reading the whole history costs
    one slice, not one Python object per sample."""

    def __init__(self, track_id: int, class_id: int):
        self.track_id, self.class_id = track_id, class_id
        self._rows = np.empty((64, _COLUMNS))
        self._start = self._end = 0

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def last_seen(self) -> float:
        return float(self._rows[self._end - 1, _TIME])

    @property
    def first_seen(self) -> float:
        """Time (s) of the oldest sample kept (the track's first, for tracks younger than the history)."""
        return float(self._rows[self._start, _TIME])

    def samples(self) -> Samples:
        """The live samples as a read-only view (never rewritten later: safe to hand to another thread)."""
        live = self._rows[self._start:self._end]
        live.flags.writeable = False
        return Samples(live)

    def append(self, t: float, point, box) -> None:
        """One sample at ``t`` seconds: the anchor ``point`` (2,) and its ``box`` (4,), or None for a bare point."""
        if len(self) >= MAX_SAMPLES:
            self._start += 1  # drop the oldest sample
        if self._end == len(self._rows):
            self._make_room()
        row = self._rows[self._end]
        row[_TIME], row[1], row[2] = t, point[0], point[1]
        row[_BOX] = np.nan if box is None else box
        self._end += 1

    def _make_room(self) -> None:
        # Always a new buffer (twice the size when more than half full): a written row is never
        # overwritten, so views handed out by samples() stay valid without copies.
        live = self._rows[self._start:self._end]
        size = len(self._rows) * 2 if len(live) * 2 > len(self._rows) else len(self._rows)
        self._rows = np.empty((size, _COLUMNS))
        self._rows[:len(live)] = live
        self._start, self._end = 0, len(live)

    def remap(self, transform) -> None:
        """Re-express the points and boxes in new coordinates: ``transform`` (a
        :class:`~trajpipe.core.frames.Projective`) maps the old ones to the new ones. Into a new
        buffer: views handed out before keep the old coordinates (they go with the old frame map)."""
        live = self._rows[self._start:self._end].copy()
        live[:, _POINT] = transform(live[:, _POINT])
        boxed = np.isfinite(live[:, 3])
        live[boxed, _BOX] = transform(live[boxed, _BOX].reshape(-1, 2, 2)).reshape(-1, 4)
        self._rows = np.empty((max(64, 2 * len(live)), _COLUMNS))
        self._rows[:len(live)] = live
        self._start, self._end = 0, len(live)

    def trim_before(self, t: float) -> None:
        # Keep one sample before t so that interpolation over [t, now] stays defined. Usually one
        # sample a frame crosses t: a scalar check per sample beats a search.
        rows, start = self._rows, self._start
        while self._end - start > 2 and rows[start + 1, _TIME] <= t:
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
        self._gap_reported = False  # a units mistake shows in every sample: said once is enough

    def __len__(self) -> int:
        return len(self.tracks)

    def check_time(self, timestamp) -> float:
        """``timestamp`` as float seconds if the next frame may have it (finite, not before the last
        frame's); a ValueError otherwise. Callers check before acting on a frame, so that a refused frame
        changes nothing."""
        timestamp = check_seconds(timestamp)
        if self.last_time is not None and timestamp < self.last_time:
            raise ValueError(f"timestamps must not go backwards ({timestamp} s after {self.last_time} s); "
                             "call reset() before frames of another video or clock")
        return timestamp

    def update(self, timestamp: float, detections: Detections,
               frame_map: FrameMap | None = None) -> list[TrackHistory | None]:
        """Add this frame's tracked boxes; returns the histories of the tracks seen in this frame,
        in the order of ``detections``. ``frame_map``: how this frame's pixels map to the coordinates
        the histories are kept in (None: the same). In world metres (``frame_map.metric``) the boxes are
        not kept: the samples are bare points, which the forecast stage takes to be metres.

        A detection whose box, in pixels or in history coordinates, holds NaN, inf or a magnitude over
        1e9 is dropped with a :class:`~trajpipe.errors.TrajpipeWarning`: its entry is None."""
        timestamp = self.check_time(timestamp)
        self.last_time = timestamp
        anchors, boxes = detections.anchors, detections.xyxy
        dropped = bad_rows(boxes)
        if frame_map is not None and frame_map.to_history is not None:
            anchors = frame_map.pixels_to_history(anchors)
            boxes = None if frame_map.metric else frame_map.pixels_to_history(boxes.reshape(-1, 2, 2)).reshape(-1, 4)
            dropped |= bad_rows(anchors) | (False if boxes is None else bad_rows(boxes))  # e.g. beyond a horizon
        if dropped.any():
            # no time in the text: Python's filter then reports each set of bad tracks once, not every frame
            warnings.warn(f"dropped the detections of tracks {detections.tracker_id[dropped].tolist()}: "
                          f"their boxes hold {BAD_VALUES}", TrajpipeWarning, stacklevel=2)
        anchors = anchors.tolist()
        boxes = [None] * len(anchors) if boxes is None else boxes.tolist()
        rows = zip(detections.tracker_id.tolist(), detections.class_id.tolist(), anchors, boxes, dropped.tolist())
        seen = [None if drop else self.add(track_id, class_id, timestamp, point, box)
                for track_id, class_id, point, box, drop in rows]
        self.prune(timestamp)
        return seen

    def remap(self, transform) -> None:
        """Move every history into new coordinates (``transform`` maps old to new, see
        :meth:`TrackHistory.remap`): when the camera-motion estimate moves its reference frame."""
        for history in self.tracks.values():
            history.remap(transform)

    def add(self, track_id: int, class_id: int, t: float, point, box) -> TrackHistory:
        """One sample of one track (see :meth:`TrackHistory.append`); the track's history. Samples more
        than ``MAX_SAMPLE_GAP`` seconds apart get a warning (once): are the timestamps in seconds?"""
        history = self.tracks.get(track_id)
        if history is None:
            history = self.tracks[track_id] = TrackHistory(track_id, class_id)
        elif t - history.last_seen > MAX_SAMPLE_GAP and not self._gap_reported:
            self._gap_reported = True
            warnings.warn(f"track {track_id}: {t - history.last_seen:g} s between consecutive samples (over "
                          f"{MAX_SAMPLE_GAP:g} s); timestamps must be in seconds (milliseconds make everyone "
                          "look still)", TrajpipeWarning, stacklevel=2)
        history.append(t, point, box)
        return history

    def merge(self, track_id: int, into: int) -> None:
        """Track ``track_id`` is the person ``into`` seen again (re-associated): its samples, all later
        than ``into``'s, go on ``into``'s history, and ``track_id`` is forgotten."""
        rows = self.tracks.pop(track_id).samples().rows
        target = self.tracks[into]
        for row in rows:
            target.append(row[0], row[1:3], None if np.isnan(row[3]) else row[3:7])

    def forget_lost(self, now: float) -> None:
        """Forget the tracks not seen for more than ``lost_track_ttl`` before ``now``."""
        for tid in [tid for tid, h in self.tracks.items() if now - h.last_seen > self.lost_track_ttl]:
            del self.tracks[tid]

    def prune(self, now: float) -> None:
        """Forget lost tracks and drop samples older than ``history_seconds`` before ``now``."""
        self.forget_lost(now)
        oldest = now - self.history_seconds
        for history in self.tracks.values():
            history.trim_before(oldest)
