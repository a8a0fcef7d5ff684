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
class ModeSet:
    """A track's alternative futures, most probable first, on the same time grid as its forecast.

    Attributes:
        points: (M, T, 2) positions in the track's units (pixels for video).
        probs: (M,) probabilities, renormalised over these M modes (they sum to 1).
        sigma: (M, T, 2) per-step standard deviation of each mode, same units, or None.
        points_world: (M, T, 2) ground-plane points (metres), when a homography is configured.
    """

    points: np.ndarray
    probs: np.ndarray
    sigma: np.ndarray | None = None
    points_world: np.ndarray | None = None


@dataclass(frozen=True)
class Forecast:
    """Where a track will be: ``points[i]`` at ``origin + times[i]``, the most likely single path, with
    its per-step standard deviation and, when asked for, the few most probable alternatives (``modes``).

    Attributes:
        times: (T,) seconds after ``origin``.
        points: (T, 2) positions in the track's units: pixels (bottom centre of the box) for video.
        sigma: (T, 2) per-step standard deviation, same units, when the forecaster gives one.
        origin: timestamp (s) of the last observation, which ``times`` count from.
        points_world: (T, 2) ground-plane points (metres), when a homography is configured.
        modes: the most probable alternative futures (:class:`ModeSet`; config key ``forecast_modes``).
        start: (2,) the track's position at ``origin`` (t = 0), same units as ``points``.
        start_world: (2,) the same on the ground plane.
        sigma_world: (T, 2) per-step standard deviation on the ground plane (x, y).
        covariance_world: (T, 2, 2) per-step covariance on the ground plane.

    Example:
        >>> seconds, metres = forecast.closest_approach((2.0, 5.0))  # doctest: +SKIP
    """

    times: np.ndarray
    points: np.ndarray
    sigma: np.ndarray | None = None
    origin: float = 0.0
    points_world: np.ndarray | None = None
    modes: ModeSet | None = None
    start: np.ndarray | None = None
    start_world: np.ndarray | None = None
    sigma_world: np.ndarray | None = None
    covariance_world: np.ndarray | None = None

    def mapped(self, fn: Callable[[np.ndarray], np.ndarray]) -> "Forecast":
        """A copy with every position array (``start``, ``points``, ``modes.points``) mapped.

        Args:
            fn: a map of (..., 2) points, e.g. from history coordinates to this frame's pixels.

        Returns:
            The mapped copy. Uncertainties are the caller's to carry (they need the map's Jacobian).
        """
        modes = None if self.modes is None else dataclasses.replace(self.modes, points=fn(self.modes.points))
        return dataclasses.replace(self, points=fn(self.points), start=None if self.start is None else fn(self.start),
                                   modes=modes)

    def closest_approach(self, point, world: bool | None = None) -> tuple[float, float]:
        """Where and when the forecast path comes closest to ``point``.

        The path runs from ``start`` through ``points``, straight between steps (exact, no sampling).
        The closest point may be the path's end: it does not imply a crossing.

        Args:
            point: (2,) the point, in the units of the path used.
            world: True uses ``points_world`` (ground units, e.g. metres), False pixels; None: the
                ground whenever it exists.

        Returns:
            ``(seconds after origin, distance)``.

        Raises:
            ValueError: ``world`` asked for and the forecast has no ground-plane points.
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
    """One tracked object in one frame: its box, its past and its forecast.

    Attributes:
        id: the track id (per tracker; restarts after ``Pipeline.reset``).
        class_id: the detector's class index.
        class_name: its name (COCO: ``person``, ``car``, ...).
        confidence: the detection's confidence, 0 to 1.
        box: (4,) ``[x1, y1, x2, y2]`` pixels.
        history: (T, 2) past anchor points (bottom centres), oldest first, pixels.
        history_times: (T,) their timestamps in seconds.
        forecast: the :class:`Forecast`, None until the track has been seen for ``min_track_age``.
        point_world: (2,) current ground-plane point (metres), when a homography is configured.
        visible: False for a hidden track (config key ``keep_hidden_tracks``): one the tracker lost
            ``hidden_for`` seconds ago and still looks for; ``history`` then ends where it was last seen,
            ``box`` is the last box moved to ``position``, ``forecast`` the rest of its last forecast from now.
        hidden_for: seconds since the track was last seen (0 while visible).
        position: (2,) pixels: where a hidden track is estimated to be now (None while visible).
    """

    id: int
    class_id: int
    class_name: str
    confidence: float
    box: np.ndarray
    history: np.ndarray
    history_times: np.ndarray
    forecast: Forecast | None = None
    point_world: np.ndarray | None = None
    visible: bool = True
    hidden_for: float = 0.0
    position: np.ndarray | None = None

    @property
    def point(self) -> np.ndarray:
        """(2,) pixels: the track's point now (where it was seen, or for a hidden track where it is estimated)."""
        return self.history[-1] if self.position is None else self.position


@dataclass(frozen=True)
class FrameResult:
    """Everything the pipeline made of one frame; ``to_json()`` is its JSON-lines record (docs/outputs.md).

    Attributes:
        frame_index: the frame's index in the source.
        timestamp: seconds since the start of the source.
        tracks: the :class:`TrackState` of every track in the frame.
        process_seconds: time the pipeline spent on this frame.
        latency: seconds from capture to this result (live sources), else None.
        image: (H, W, 3) uint8 BGR, the frame processed (the overlay is drawn into it).
        camera: previous frame's pixels -> this frame's: (2, 3) affine or (3, 3) homography; None: not estimated.
        pose: (3,) the robot base's ``(x, y, yaw)`` in the world frame given with this frame (metres, radians).
        adaptation: the scene adaptation's state (config key ``adapt_to_scene``), else None.
    """

    frame_index: int
    timestamp: float
    tracks: list[TrackState] = field(default_factory=list)
    process_seconds: float = 0.0
    latency: float | None = None
    image: np.ndarray | None = field(default=None, repr=False, compare=False)
    camera: np.ndarray | None = None
    pose: np.ndarray | None = None
    adaptation: Adaptation | None = None

    def to_json(self, ndigits: int = 2) -> dict:
        """The JSON-lines record of this frame (docs/outputs.md; made by :func:`trajpipe.core.schema.encode_frame`).

        Args:
            ndigits: decimals of positions and times.

        Returns:
            The record as plain Python values.
        """
        from .schema import encode_frame

        return encode_frame(self, ndigits)
