"""A frame's tracks as geometry for robotics outputs (Foxglove scenes, RViz markers, predicted objects):
each track's position, forecast path from it, modes and 1-sigma ellipse, in one plane: the ground /
world plane of a homography (and a pose), or the image's pixels. Shared by the MCAP recording, the
Foxglove live server and the ROS 2 topics, and computed once a frame (:class:`~trajpipe.io.frame_scene.FrameScene`)."""

from __future__ import annotations

import math

import numpy as np

from ..core.results import FrameResult, TrackState
from ..draw.annotators import FORECAST_NEAR, track_colour

FORECAST_COLOUR = tuple(int(c) for c in FORECAST_NEAR)  # the overlay's bright forecast yellow (BGR)
MIN_MODE_ALPHA = 0.15  # a mode's line alpha is its probability, but no less: a 5 % future stays visible
SIGMA_ALPHA = 0.25  # the 1-sigma ellipses, under the lines

FRAME_CAMERA = "camera"  # the image's frame (pixels)
FRAME_BASE = "base_link"  # the robot's base (REP 105), child of FRAME_WORLD through the pose
FRAME_WORLD = "world"  # the world / odometry frame the pose is given in (metres)
FRAME_GROUND = "ground"  # a fixed camera's ground plane (the homography's units)


class WorldTrack:
    """A track's geometry in one plane (ground units, metres with a pose, or pixels).

    Args:
        track: the track.
        position: (2,) its current point.
        forecast: (T+1, 2) its forecast from the current position, or None.
        times: (T+1,) seconds ahead of each forecast point (0 first), or None.
        modes: [((T+1, 2) path, probability)] of the forecast's modes, most probable first.
        ellipses: [(centre (2,), diameters (2,), yaw in radians)] of one standard deviation (at the
            forecast's end).
        covariance: (T, 2, 2) per-step covariance of the forecast, or None when unknown.

    Attributes:
        track: the :class:`~trajpipe.core.results.TrackState`.
        id: the track's id.
        bgr: its colour, as the overlay draws it (B, G, R 0-255).
        label: ``"<id> <class>"``.
        position: as given.
        forecast: as given.
        times: as given.
        modes: as given, a list.
        ellipses: as given, a list.
        covariance: as given.
    """

    def __init__(self, track: TrackState, position, forecast=None, times=None, modes=(), ellipses=(), covariance=None):
        self.track, self.id, self.bgr = track, track.id, track_colour(track.id)
        self.label = f"{track.id} {track.class_name}"
        self.position, self.forecast, self.times, self.modes = position, forecast, times, list(modes)
        self.ellipses, self.covariance = list(ellipses), covariance


def _times(forecast) -> np.ndarray:
    return np.concatenate([[0.0], np.asarray(forecast.times, np.float64)])


def world_tracks(result: FrameResult) -> list[WorldTrack]:
    """The tracks of a result on the ground / world plane.

    Args:
        result: the frame's result.

    Returns:
        The tracks with a finite ground point, in the plane's units (metres with a pose), with their
        ground-plane forecast, modes and end ellipse when the forecast has them.
    """
    tracks = []
    for track in result.tracks:
        if track.point_world is None or not np.isfinite(track.point_world).all():
            continue
        position = np.asarray(track.point_world, np.float64)
        f = track.forecast
        if f is None or f.points_world is None:
            tracks.append(WorldTrack(track, position))
            continue
        start = (position if f.start_world is None else np.asarray(f.start_world, np.float64))[None]
        modes = []
        if f.modes is not None and f.modes.points_world is not None:
            modes = [(np.vstack([start, m]), p) for m, p in zip(f.modes.points_world, f.modes.probs.tolist())]
        ellipse = end_ellipse(f.points_world, f.covariance_world, f.sigma_world)
        tracks.append(WorldTrack(track, position, np.vstack([start, f.points_world]), _times(f), modes,
                                 [] if ellipse is None else [ellipse], f.covariance_world))
    return tracks


def pixel_tracks(result: FrameResult) -> list[WorldTrack]:
    """The tracks of a result in the image's pixels (no ground plane): the same geometry as
    :func:`world_tracks`, from the box's bottom-centre point and the pixel forecasts.

    Args:
        result: the frame's result.

    Returns:
        The tracks with a finite last point, in pixels; their covariance is diagonal, from the forecast's
        per-axis sigma.
    """
    tracks = []
    for track in result.tracks:
        position = np.asarray(track.point, np.float64)
        if not np.isfinite(position).all():
            continue
        f = track.forecast
        if f is None:
            tracks.append(WorldTrack(track, position))
            continue
        start = (position if f.start is None else np.asarray(f.start, np.float64))[None]
        modes = [] if f.modes is None else [(np.vstack([start, m]), p)
                                            for m, p in zip(f.modes.points, f.modes.probs.tolist())]
        ellipse = end_ellipse(f.points, None, f.sigma)
        covariance = None if f.sigma is None else np.asarray(f.sigma, np.float64)[:, :, None] ** 2 * np.eye(2)
        tracks.append(WorldTrack(track, position, np.vstack([start, f.points]), _times(f), modes,
                                 [] if ellipse is None else [ellipse], covariance))
    return tracks


def end_ellipse(points, covariance, sigma) -> tuple[np.ndarray, np.ndarray, float] | None:
    """The 1-sigma ellipse at the forecast's end.

    Args:
        points: (T, 2) the forecast's points.
        covariance: (T, 2, 2) per-step covariance, or None; used first.
        sigma: (T, 2) per-step standard deviation along x and y, or None.

    Returns:
        (centre (2,), diameters (2,) along its axes, major first, yaw of its first axis in radians), in
        the units of ``points``; None without an uncertainty or with a non-finite end.
    """
    if covariance is not None:
        (a, b), (_, c) = np.asarray(covariance[-1], np.float64)
    elif sigma is not None:
        a, b, c = float(sigma[-1][0]) ** 2, 0.0, float(sigma[-1][1]) ** 2
    else:
        return None
    # eigen-decomposition of the symmetric 2x2 [[a, b], [b, c]] in closed form
    half_gap = math.hypot((a - c) / 2, b)
    major, minor = (a + c) / 2 + half_gap, max((a + c) / 2 - half_gap, 0.0)
    centre = np.asarray(points[-1], np.float64)
    if not (np.isfinite(centre).all() and math.isfinite(major)):
        return None
    return centre, 2 * np.sqrt([major, minor]), 0.5 * math.atan2(2 * b, a - c)


def yaw_quaternion(yaw: float) -> tuple[float, float, float, float]:
    """The quaternion of a rotation about z.

    Args:
        yaw: the angle in radians, counter-clockwise.

    Returns:
        (x, y, z, w).
    """
    return 0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)


PIXEL_SCALE = 25.0  # marker sizes in pixels against metres: a 0.4 m sphere is 10 px wide in the image frame
