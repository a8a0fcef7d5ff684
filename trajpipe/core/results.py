"""Typed results handed from the pipeline to overlays, sinks and user code: immutable snapshots, safe to
hand to another thread. Positions are in the current frame's pixels (the box's bottom centre for a
track), ``*_world`` fields in ground units (metres) when a ground homography or a robot pose is given;
times in seconds."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import numpy as np



@dataclass(frozen=True)
class Modes:
    """A track's alternative futures, most probable first, on the same time grid as its forecast."""

    points: np.ndarray  # (M, T, 2) in the track's units
    probs: np.ndarray  # (M,) probabilities, renormalised over these M modes (they sum to 1)
    sigma: np.ndarray | None = None  # (M, T, 2) per-step standard deviation of each mode
    points_world: np.ndarray | None = None  # (M, T, 2) ground-plane points, when a homography is configured


@dataclass(frozen=True)
class Forecast:
    """Where a track will be: ``points[i]`` at ``origin + times[i]``, the most likely single path, with
    its per-step standard deviation and, when asked for, the few most probable alternatives (``modes``)."""

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
class Adaptation:
    """The scene adaptation's state (config key ``adapt_to_scene``, :mod:`trajpipe.forecast.adapt`):
    whether the factors have left the shipped values, on how many finished windows, and the per-step
    factors (1 = as shipped)."""

    adapted: bool
    windows: int
    shrink: np.ndarray  # (P,) factor of cv + factor * (forecast - cv)
    sigma_scale: np.ndarray  # (P,) factor on sigma

    def to_json(self) -> dict:
        return {"adapted": self.adapted, "windows": self.windows, "shrink": np.round(self.shrink, 3).tolist(),
                "sigma_scale": np.round(self.sigma_scale, 3).tolist()}


@dataclass(frozen=True)
class TrackState:
    """One tracked object in one frame: its box, its past (``history``, oldest first) and its forecast
    (None until it has been seen for ``min_track_age``).

    A hidden track (``visible`` False; config key ``keep_hidden_tracks``) is one the tracker lost
    ``hidden_for`` seconds ago and still looks for: ``history`` ends where it was last seen, ``position``
    is where its last forecast puts it now, ``box`` the last box moved there, ``forecast`` the rest of
    that forecast from now on."""

    id: int
    class_id: int
    class_name: str
    confidence: float
    box: np.ndarray  # (4,) xyxy pixels
    history: np.ndarray  # (T, 2) past anchor points, oldest first
    history_times: np.ndarray  # (T,) their timestamps in seconds
    forecast: Forecast | None = None
    point_world: np.ndarray | None = None  # (2,) current ground-plane point, when a homography is configured
    visible: bool = True  # False: lost by the tracker, its position continued from its last forecast
    hidden_for: float = 0.0  # seconds since the track was last seen (0 while visible)
    position: np.ndarray | None = None  # (2,) pixels: where a hidden track is estimated to be now

    @property
    def point(self) -> np.ndarray:
        """(2,) pixels: the track's point now (where it was seen, or for a hidden track where it is estimated)."""
        return self.history[-1] if self.position is None else self.position


@dataclass(frozen=True)
class FrameResult:
    """Everything the pipeline made of one frame; ``to_json()`` is its JSON-lines record (docs/outputs.md)."""

    frame_index: int
    timestamp: float  # seconds since the start of the source
    tracks: list[TrackState] = field(default_factory=list)
    process_seconds: float = 0.0  # time spent on this frame by the pipeline
    latency: float | None = None  # seconds from capture to this result (live sources)
    image: np.ndarray | None = field(default=None, repr=False, compare=False)  # the frame processed (BGR)
    camera: np.ndarray | None = None  # previous frame's pixels -> this frame's: (2, 3) affine, (3, 3) homography (None: not estimated)
    pose: np.ndarray | None = None  # (3,) the robot base's (x, y, yaw) in the world frame given with this frame (m, rad)
    adaptation: Adaptation | None = None  # the scene adaptation's state (adapt_to_scene)

    def to_json(self, ndigits: int = 2) -> dict:
        """The JSON-lines record of this frame (docs/outputs.md; written by :func:`trajpipe.core.schema.encode_frame`)."""
        from .schema import encode_frame

        return encode_frame(self, ndigits)
