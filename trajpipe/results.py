"""Typed results handed from the pipeline to overlays, sinks and user code."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .errors import TrajpipeError


@dataclass(frozen=True)
class Modes:
    """A track's alternative futures, most probable first, on the same time grid as its forecast."""

    points: np.ndarray  # (M, T, 2) in the track's units
    probs: np.ndarray  # (M,) probabilities, renormalised over these M modes (they sum to 1)
    sigma: np.ndarray | None = None  # (M, T, 2) per-step standard deviation of each mode
    points_world: np.ndarray | None = None  # (M, T, 2) ground-plane points, when a homography is configured


@dataclass(frozen=True)
class Forecast:
    times: np.ndarray  # (T,) seconds after ``origin``
    points: np.ndarray  # (T, 2) in the track's units: pixels (bottom-centre of the box) for video
    sigma: np.ndarray | None = None  # (T, 2) per-step standard deviation, when the forecaster gives one
    origin: float = 0.0  # timestamp (s) of the last observation, which ``times`` count from
    points_world: np.ndarray | None = None  # (T, 2) ground-plane points, when a homography is configured
    modes: Modes | None = None  # the most probable alternative futures (config key forecast_modes)
    start: np.ndarray | None = None  # (2,) the track's position at ``origin`` (t = 0), same units as ``points``
    start_world: np.ndarray | None = None  # (2,) the same on the ground plane
    sigma_world: np.ndarray | None = None  # (T, 2) per-step standard deviation on the ground plane (x, y)
    covariance_world: np.ndarray | None = None  # (T, 2, 2) per-step covariance on the ground plane

    def mapped(self, fn: Callable[[np.ndarray], np.ndarray]) -> "Forecast":
        """A copy with every position array (``start``, ``points``, ``modes.points``) passed through ``fn``, a map of
        (..., 2) points, e.g. from history coordinates to this frame's pixels. Uncertainties are the
        caller's to carry (they need the map's Jacobian)."""
        modes = None if self.modes is None else dataclasses.replace(self.modes, points=fn(self.modes.points))
        return dataclasses.replace(self, points=fn(self.points), start=None if self.start is None else fn(self.start),
                                   modes=modes)

    def closest_approach(self, point, world: bool | None = None) -> tuple[float, float]:
        """(seconds after ``origin``, distance) of the forecast path's closest point to ``point``.

        The path runs from ``start`` through ``points``, straight between steps (exact, no sampling).
        ``world``: use ``points_world`` (ground units, e.g. metres); default: whenever they exist,
        else pixels. The closest point may be the path's end: it does not imply a crossing.
        """
        use_world = self.points_world is not None if world is None else world
        points, start = (self.points_world, self.start_world) if use_world else (self.points, self.start)
        if points is None:
            raise ValueError("this forecast has no ground-plane points (configure a homography)")
        times = np.asarray(self.times, np.float64)
        path = np.asarray(points, np.float64)
        if start is not None:
            times, path = np.concatenate([[0.0], times]), np.vstack([start, path])
        target = np.asarray(point, np.float64).reshape(2)
        if len(path) == 1:
            return float(times[0]), float(np.linalg.norm(path[0] - target))
        a, step = path[:-1], np.diff(path, axis=0)
        length2 = (step ** 2).sum(axis=1)
        u = np.clip(((target - a) * step).sum(axis=1) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
        distance = np.linalg.norm(a + u[:, None] * step - target, axis=1)
        best = int(np.argmin(distance))
        return float(times[best] + u[best] * (times[best + 1] - times[best])), float(distance[best])


@dataclass(frozen=True)
class TrackState:
    id: int
    class_id: int
    class_name: str
    confidence: float
    box: np.ndarray  # (4,) xyxy pixels
    history: np.ndarray  # (T, 2) past anchor points, oldest first
    history_times: np.ndarray  # (T,) their timestamps in seconds
    forecast: Forecast | None = None
    point_world: np.ndarray | None = None  # (2,) current ground-plane point, when a homography is configured


@dataclass(frozen=True)
class FrameResult:
    frame_index: int
    timestamp: float  # seconds since the start of the source
    tracks: list[TrackState] = field(default_factory=list)
    process_seconds: float = 0.0  # time spent on this frame by the pipeline
    latency: float | None = None  # seconds from capture to this result (live sources)
    image: np.ndarray | None = field(default=None, repr=False, compare=False)  # the frame processed (BGR)
    camera: np.ndarray | None = None  # (2, 3) warp from the previous frame's pixels to this frame's (None: not estimated)

    def to_json(self, ndigits: int = 2) -> dict:
        """The JSON-lines record of this frame (see README, "Outputs")."""
        def r(a) -> list:
            return np.round(np.asarray(a, np.float64), ndigits).tolist()

        tracks = []
        for t in self.tracks:
            record = {"id": t.id, "class": t.class_name, "conf": round(t.confidence, 3), "box": r(t.box),
                      "point": r(t.history[-1])}
            if t.point_world is not None:
                record["point_world"] = r(t.point_world)
            if t.forecast is not None:
                forecast = record["forecast"] = {"t": r(t.forecast.times), "xy": r(t.forecast.points)}
                if t.forecast.sigma is not None:
                    forecast["sigma"] = r(t.forecast.sigma)
                if t.forecast.points_world is not None:
                    forecast["xy_world"] = r(t.forecast.points_world)
                if t.forecast.sigma_world is not None:
                    forecast["sigma_world"] = np.round(t.forecast.sigma_world, 4).tolist()
                if t.forecast.modes is not None:
                    forecast["modes"] = _mode_records(t.forecast.modes, r)
            tracks.append(record)
        camera = np.eye(2, 3) if self.camera is None else self.camera
        record = {"frame": self.frame_index, "timestamp": round(self.timestamp, 4),
                  "camera": np.round(np.asarray(camera, np.float64), 6).tolist(), "tracks": tracks}
        if self.latency is not None:
            record["latency"] = round(self.latency, 4)
        return record


def _mode_records(modes: Modes, r) -> list[dict]:
    """The ``forecast.modes`` list of a JSON record. Each array is rounded once for all modes: this
    runs for every track of every frame on the output thread."""
    fields = {"xy": modes.points, "sigma": modes.sigma, "xy_world": modes.points_world}
    rounded = {key: r(value) for key, value in fields.items() if value is not None}
    return [{"p": round(float(p), 3), **{key: value[m] for key, value in rounded.items()}}
            for m, p in enumerate(modes.probs.tolist())]


def read_jsonl(path: str | Path) -> Iterator[dict]:
    """The frame records of a JSON-lines file written by :meth:`FrameResult.to_json`, in order.
    Blank lines are skipped; a line that is not a frame record is a :class:`TrajpipeError` naming it."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as lines:
            for line_no, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise TrajpipeError(f"{path}:{line_no}: not a JSON line ({exc})") from None
                if not isinstance(record, dict) or not isinstance(record.get("tracks"), list) or "timestamp" not in record:
                    raise TrajpipeError(f"{path}:{line_no}: not a trajpipe frame record (needs 'timestamp' and 'tracks')")
                yield record
    except OSError as exc:
        raise TrajpipeError(f"cannot read tracks file {path}: {exc}") from None
