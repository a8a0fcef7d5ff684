"""Per-track histories with timestamps, bounded in time and pruned when tracks are lost."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .detection import Detections

MAX_SAMPLES = 1024  # hard cap per track, whatever the frame rate


@dataclass
class TrackHistory:
    """Everything seen of one track: parallel sequences of time, anchor point, box and confidence."""

    track_id: int
    class_id: int
    times: deque = field(default_factory=lambda: deque(maxlen=MAX_SAMPLES))
    points: deque = field(default_factory=lambda: deque(maxlen=MAX_SAMPLES))
    boxes: deque = field(default_factory=lambda: deque(maxlen=MAX_SAMPLES))
    confidences: deque = field(default_factory=lambda: deque(maxlen=MAX_SAMPLES))
    _arrays: tuple | None = field(default=None, repr=False)  # arrays() of the current samples, built once

    @property
    def last_seen(self) -> float:
        return self.times[-1]

    @property
    def age(self) -> float:
        """Seconds between the first and the last sighting."""
        return self.times[-1] - self.times[0]

    def append(self, t: float, point, box, confidence: float) -> None:
        self._arrays = None
        self.times.append(t)
        self.points.append(point)
        self.boxes.append(box)
        self.confidences.append(confidence)

    def trim_before(self, t: float) -> None:
        # Keep one sample before t so that interpolation over [t, now] stays defined.
        while len(self.times) > 2 and self.times[1] <= t:
            self._arrays = None
            for seq in (self.times, self.points, self.boxes, self.confidences):
                seq.popleft()

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(times (T,), points (T, 2))``, read-only and shared until the next change."""
        if self._arrays is None:
            times = np.fromiter(self.times, np.float64, len(self.times))
            points = np.asarray(self.points, np.float64).reshape(-1, 2)
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
