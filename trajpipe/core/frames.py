"""Frames of reference, in one place: a frame's pixels, the scene-fixed coordinates that track
histories are kept in, and the ground or world plane in metres.

- :class:`Projective` is one 3x3 projective transform (a camera warp, a homography, a robot pose):
  points through it, its Jacobian, its inverse, and standard deviations carried through it.
- :class:`GroundPlane` is the user's homography from image pixels to ground coordinates.
- :class:`FrameMap` is one frame's map between its pixels, the history coordinates and the ground,
  built from the camera's motion or the robot's pose; it turns a forecast made in history
  coordinates into what the user gets (:meth:`FrameMap.present`).

History coordinates are fixed in the scene, so that a moving camera does not read as moving objects:
- a static camera (``camera_motion=none``, no pose): the pixels themselves;
- a moving camera (``camera_motion=flow``): the pixels of a reference frame, which the camera-motion
  estimate maps to the current frame; the reference moves on with the view (to a new keyframe, or to
  the view of a still camera) and the histories are then re-expressed in it (see
  :class:`~trajpipe.video.camera_motion.CameraMotion`);
- a robot (``Pipeline.process(..., pose=(x, y, yaw))`` with a ground homography to the robot's base
  frame): the world/odometry frame, in metres.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import TrajpipeError, TrajpipeWarning
from ..resources import existing_file
from .results import Forecast


@dataclass(frozen=True, eq=False)
class Projective:
    """A (3, 3) projective transform of the plane. Points are (..., 2) arrays; ``w`` is their
    homogeneous coordinate after the map (w <= 0: behind the camera / beyond a homography's horizon)."""

    matrix: np.ndarray

    @classmethod
    def from_affine(cls, warp) -> "Projective":
        """A (2, 3) affine warp (OpenCV's layout) as a projective transform."""
        return cls(np.vstack([np.asarray(warp, np.float64), [0.0, 0.0, 1.0]]))

    def compact(self) -> np.ndarray:
        """The matrix as OpenCV's (2, 3) affine warp when it is one (third row ``[0, 0, 1]``), else (3, 3)
        scaled so that its last entry is 1."""
        matrix = self.matrix / self.matrix[2, 2]
        return matrix[:2] if not matrix[2, :2].any() else matrix

    def apply(self, points) -> tuple[np.ndarray, np.ndarray]:
        """(..., 2) points -> ((..., 2) mapped points, (...,) their homogeneous w)."""
        matrix = self.matrix
        points = np.asarray(points, np.float64)
        w = points @ matrix[2, :2] + matrix[2, 2]
        xy = points @ matrix[:2, :2].T + matrix[:2, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            return xy / w[..., None], w

    def __call__(self, points) -> np.ndarray:
        """(..., 2) points -> (..., 2) mapped points."""
        return self.apply(points)[0]

    def __matmul__(self, other: "Projective") -> "Projective":
        """``self @ other``: first ``other``, then ``self``."""
        return Projective(self.matrix @ other.matrix)

    @cached_property
    def inverse(self) -> "Projective":
        return Projective(np.linalg.inv(self.matrix))

    def jacobian(self, points) -> np.ndarray:
        """(..., 2, 2) Jacobian at the (..., 2) input points: how a small step at each point moves its image."""
        matrix = self.matrix
        mapped, w = self.apply(points)
        # d/dp (A p + b) / (c.p + d) = (A - mapped c^T) / w
        return (matrix[:2, :2] - mapped[..., :, None] * matrix[2, :2][..., None, :]) / w[..., None, None]

    def sigma(self, points, sigma) -> np.ndarray:
        """(..., 2) per-axis standard deviations at the (..., 2) input points -> the per-axis standard
        deviations of the mapped points (first-order propagation; correlations dropped)."""
        jac = self.jacobian(points)
        return np.sqrt(np.einsum("...ij,...j->...i", jac ** 2, np.asarray(sigma, np.float64) ** 2))

    def covariance(self, points, sigma) -> np.ndarray:
        """(T, 2) per-axis standard deviations (independent axes) at the (T, 2) input points -> the
        (T, 2, 2) covariance of the mapped points (first-order propagation)."""
        jac = self.jacobian(points)
        return jac @ (np.asarray(sigma, np.float64)[..., None] ** 2 * jac.transpose(0, 2, 1))


def pose_matrix(pose) -> np.ndarray:
    """(3, 3) robot-base -> world transform of a pose ``(x, y, yaw)`` (metres, radians)."""
    values = np.asarray(pose, np.float64).ravel()
    if values.size != 3 or not np.isfinite(values).all():
        raise TrajpipeError(f"pose must be three finite numbers (x, y, yaw) in metres and radians, got {pose!r}")
    x, y, yaw = values
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s, x], [s, c, y], [0.0, 0.0, 1.0]])


def _normaliser(points: np.ndarray) -> np.ndarray:
    """The (3, 3) similarity that moves ``points`` (N, 2) to their centroid and a mean distance of
    sqrt(2) from it (Hartley's normalisation: it keeps the DLT well conditioned in pixels)."""
    centre = points.mean(axis=0)
    spread = np.sqrt(((points - centre) ** 2).sum(axis=1)).mean()
    scale = math.sqrt(2) / spread if spread > 0 else 1.0
    return np.array([[scale, 0.0, -scale * centre[0]], [0.0, scale, -scale * centre[1]], [0.0, 0.0, 1.0]])


def _dlt_rows(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The (2N, 9) linear system ``A h = 0`` of the homography ``h`` mapping ``src`` onto ``dst``."""
    x, y = src[:, 0], src[:, 1]
    u, v = dst[:, 0], dst[:, 1]
    zero, one = np.zeros_like(x), np.ones_like(x)
    rows_u = np.stack([x, y, one, zero, zero, zero, -u * x, -u * y, -u], axis=1)
    rows_v = np.stack([zero, zero, zero, x, y, one, -v * x, -v * y, -v], axis=1)
    return np.concatenate([rows_u, rows_v])


def _refine_homography(matrix: np.ndarray, src: np.ndarray, dst: np.ndarray, iterations: int = 20) -> np.ndarray:
    """``matrix`` moved to the least squared transfer error in ``dst`` (Gauss-Newton over its eight
    free entries, ``matrix[2, 2]`` held at 1), as OpenCV's ``findHomography(method=0)`` refines its DLT."""
    h = (matrix / matrix[2, 2]).ravel()[:8].copy()
    x, y = src[:, 0], src[:, 1]
    zero, one = np.zeros_like(x), np.ones_like(x)
    for _ in range(iterations):
        w = h[6] * x + h[7] * y + 1.0
        u = (h[0] * x + h[1] * y + h[2]) / w
        v = (h[3] * x + h[4] * y + h[5]) / w
        residual = np.concatenate([u - dst[:, 0], v - dst[:, 1]])
        jacobian = np.concatenate([np.stack([x, y, one, zero, zero, zero, -u * x, -u * y], axis=1),
                                   np.stack([zero, zero, zero, x, y, one, -v * x, -v * y], axis=1)]) / np.tile(w, 2)[:, None]
        step = np.linalg.lstsq(jacobian, -residual, rcond=None)[0]
        h += step
        if np.abs(step).max() <= 1e-12 * max(np.abs(h).max(), 1.0):
            break
    return np.append(h, 1.0).reshape(3, 3)


def fit_homography(src, dst) -> np.ndarray | None:
    """The least-squares homography mapping points ``src`` onto ``dst``.

    Args:
        src: (N, 2) points, N >= 4 (e.g. image pixels).
        dst: (N, 2) points they map to (e.g. ground metres).

    Returns:
        The (3, 3) matrix, ``[2, 2]`` = 1: exact for four points, else the normalised DLT refined to
        the least squared error in ``dst``; None when the points do not fix one (three or more of
        the four on a line).
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    to_src, to_dst = _normaliser(src), _normaliser(dst)
    a = Projective(to_src).apply(src)[0]
    b = Projective(to_dst).apply(dst)[0]
    _, singular, vt = np.linalg.svd(_dlt_rows(a, b), full_matrices=True)
    if singular[7] <= 1e-10 * singular[0]:  # more than one solution: the points are degenerate
        return None
    matrix = np.linalg.inv(to_dst) @ vt[-1].reshape(3, 3) @ to_src
    if abs(matrix[2, 2]) < 1e-15:
        return None
    matrix = matrix / matrix[2, 2]
    return _refine_homography(matrix, src, dst) if len(src) > 4 else matrix


class GroundPlane(Projective):
    """A 3x3 homography from image pixels to ground-plane coordinates (e.g. metres).

    ``front``: the sign of ``w`` on the ground in view (known from ``homography_points``: the
    calibration pixels are on it; None for a bare matrix, whose overall sign is arbitrary). Pixels on the
    other side of the horizon (the sky, or far ground the four points do not describe) have no ground point.
    """

    def __init__(self, matrix, front: float | None = None):
        matrix = np.asarray(matrix, np.float64)
        if matrix.shape != (3, 3):
            raise TrajpipeError(f"a homography must be a 3x3 matrix, got shape {matrix.shape}")
        if not np.isfinite(matrix).all() or abs(np.linalg.det(matrix)) < 1e-12:
            raise TrajpipeError("the homography matrix is singular or not finite (degenerate points?)")
        super().__init__(matrix)
        object.__setattr__(self, "front", front)
        object.__setattr__(self, "warned", False)

    def beyond_horizon(self, pixel) -> bool:
        """Whether the (2,) ``pixel`` lies beyond the horizon (no ground point), warning once per plane
        with a :class:`~trajpipe.errors.TrajpipeWarning`; False where ``front`` is unknown."""
        if not np.isfinite(pixel).all():  # a robot's world point the camera cannot see (FrameMap.front)
            beyond = True
        elif self.front is None:
            return False
        else:
            beyond = bool(self.apply(pixel)[1] * self.front <= 1e-9)  # on the horizon itself: at infinity
        if beyond and not self.warned:
            object.__setattr__(self, "warned", True)
            warnings.warn(TrajpipeWarning(
                f"pixel ({pixel[0]:.0f}, {pixel[1]:.0f}) lies beyond the ground homography's horizon: tracks "
                "there get no point_world or forecast xy_world (homography_points describe the ground nearer "
                "the camera)"), stacklevel=2)
        return beyond

    @classmethod
    def from_file(cls, path: str | Path) -> "GroundPlane":
        """A 3x3 matrix from ``.npy``, ``.json`` (nested list) or text (9 numbers, spaces or commas)."""
        path = existing_file(path, "homography file")
        try:
            if path.suffix == ".npy":
                values = np.load(path, allow_pickle=False)
            elif path.suffix == ".json":
                values = np.asarray(json.loads(path.read_text()), np.float64)
            else:
                values = np.asarray(path.read_text().replace(",", " ").split(), np.float64)
            return cls(np.asarray(values, np.float64).reshape(3, 3))
        except UnicodeDecodeError:  # an image or other binary file given by mistake
            raise TrajpipeError(f"homography file {path} is not text: give a 3x3 matrix as .npy, .json "
                                "or text of 9 numbers (or homography_points=)") from None
        except (ValueError, OSError) as exc:
            raise TrajpipeError(f"cannot read a 3x3 homography from {path}: {exc}") from None

    @classmethod
    def from_points(cls, pairs) -> "GroundPlane":
        """From at least four ``[u, v, x, y]`` rows: image point (u, v) lies at ground point (x, y)."""
        pairs = np.asarray(pairs, np.float64)
        if pairs.ndim != 2 or pairs.shape[1] != 4 or len(pairs) < 4:
            raise TrajpipeError("homography_points needs at least four [u, v, x, y] rows")
        matrix = fit_homography(pairs[:, :2], pairs[:, 2:])
        if matrix is None:
            raise TrajpipeError("homography_points are degenerate (three or more on one line?)")
        w = pairs[:, :2] @ matrix[2, :2] + matrix[2, 2]
        return cls(matrix, front=1.0 if np.median(w) > 0 else -1.0)

    @classmethod
    def from_config(cls, homography: str | None, homography_points) -> "GroundPlane | None":
        """The ground plane of the config keys ``homography`` (a file) or ``homography_points``; None without."""
        if homography is not None:
            return cls.from_file(homography)
        if homography_points is not None:
            return cls.from_points(homography_points)
        return None

    def to_ground(self, points) -> np.ndarray:
        """Map (..., 2) image points to (..., 2) ground points."""
        return self(points)


@dataclass(frozen=True, eq=False)
class FrameMap:
    """How one frame's pixels relate to history coordinates and to the ground.

    ``to_history``: pixels -> history coordinates, or None when they are the same (a static camera:
    nothing to map, nothing to pay). ``metric``: history coordinates are world metres (a robot's pose
    was given). ``front``: the sign of the homogeneous w of points in front of the camera (a
    homography's overall sign is arbitrary). ``ground``: pixels -> ground plane, when configured.
    """

    to_history: Projective | None = None
    metric: bool = False
    front: float = 1.0
    ground: GroundPlane | None = None

    @classmethod
    def moving_camera(cls, reference_to_current: np.ndarray, ground: GroundPlane | None = None) -> "FrameMap":
        """A moving camera's frame: history coordinates are the reference frame's pixels."""
        return cls(Projective(np.linalg.inv(reference_to_current)), ground=ground)

    @classmethod
    def robot(cls, pose, ground: GroundPlane, seen) -> "FrameMap":
        """A robot's frame: ``ground`` maps pixels to its base frame and ``pose`` ``(x, y, yaw)`` places
        the base in the world; ``seen`` (N, 2) pixels of this frame known to be on the ground in front
        (its detections) fix the homography's sign."""
        to_world = Projective(pose_matrix(pose)) @ ground
        w = np.asarray(seen, np.float64) @ to_world.matrix[2, :2] + to_world.matrix[2, 2]
        w = w[np.isfinite(w)]  # a detection with bad numbers (dropped by the histories) must not flip the sign
        front = ground.front or (-1.0 if len(w) and np.median(w) < 0 else 1.0)  # the pose keeps w: its last row is 0 0 1
        return cls(to_world, metric=True, front=front, ground=ground)

    def pixels_to_history(self, points) -> np.ndarray:
        """(..., 2) pixels of this frame -> (..., 2) history coordinates."""
        if self.to_history is None:
            return np.asarray(points, np.float64)
        return self.to_history(points)

    def history_to_pixels(self, points) -> np.ndarray:
        """(..., 2) history coordinates -> (..., 2) pixels of this frame; NaN for points that this
        frame cannot see (behind the camera)."""
        if self.to_history is None:
            return np.asarray(points)
        xy, w = self.to_history.inverse.apply(points)
        xy[w * self.front <= 0] = np.nan
        return xy

    def sigma_to_pixels(self, sigma: np.ndarray | None, points: np.ndarray) -> np.ndarray | None:
        """(..., 2) per-axis standard deviations at the (..., 2) history points -> the same in pixels."""
        if sigma is None or self.to_history is None:
            return sigma
        return self.to_history.inverse.sigma(points, sigma)

    def point_world(self, history_point: np.ndarray) -> np.ndarray | None:
        """(2,) ground/world point of a track at ``history_point``, or None without a ground plane."""
        if self.ground is None:
            return np.array(history_point, np.float64) if self.metric else None
        pixel = self.history_to_pixels(history_point)
        if self.ground.beyond_horizon(pixel):
            return None
        return np.array(history_point, np.float64) if self.metric else self.ground.to_ground(pixel)

    def present(self, forecast: Forecast) -> Forecast:
        """A forecast made in history coordinates, as the user gets it: in this frame's pixels (where
        the object will be in the scene, seen from the current view; the camera's own future motion is
        not guessed) and, with a ground plane, in ground units with their uncertainty."""
        if self.to_history is not None:
            shown = forecast.mapped(self.history_to_pixels)
            modes = shown.modes
            if modes is not None:
                modes = dataclasses.replace(modes, sigma=self.sigma_to_pixels(forecast.modes.sigma, forecast.modes.points),
                                            points_world=forecast.modes.points if self.metric else None)
            shown = dataclasses.replace(shown, sigma=self.sigma_to_pixels(forecast.sigma, forecast.points), modes=modes)
            start = forecast.points[0] if forecast.start is None else forecast.start
            if self.metric and not self.ground.beyond_horizon(self.history_to_pixels(start)):  # made in world metres
                sigma = forecast.sigma
                return dataclasses.replace(
                    shown, points_world=forecast.points, start_world=forecast.start, sigma_world=sigma,
                    covariance_world=None if sigma is None else sigma[:, :, None] * sigma[:, None, :] * np.eye(2))
            forecast = shown
        return forecast if self.ground is None else self._on_ground(forecast)

    def _on_ground(self, forecast: Forecast) -> Forecast:
        """``forecast`` (pixels) with its ground-plane twin: ``points_world``, ``start_world`` and, when it
        has a pixel ``sigma``, ``covariance_world`` (T, 2, 2) and ``sigma_world`` (T, 2), the pixel
        uncertainty carried to the ground through the homography's Jacobian at each forecast point."""
        ground = self.ground
        if ground.beyond_horizon(forecast.points[0] if forecast.start is None else forecast.start):
            return forecast  # no ground point to start from: pixels only
        covariance = sigma = None
        if forecast.sigma is not None:
            covariance = ground.covariance(forecast.points, forecast.sigma)
            sigma = np.sqrt(np.diagonal(covariance, axis1=1, axis2=2))
        modes = forecast.modes
        if modes is not None:
            modes = dataclasses.replace(modes, points_world=ground.to_ground(modes.points))
        return dataclasses.replace(
            forecast, points_world=ground.to_ground(forecast.points), covariance_world=covariance, sigma_world=sigma,
            start_world=None if forecast.start is None else ground.to_ground(forecast.start))
