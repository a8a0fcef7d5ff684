"""Image -> ground-plane mapping, for forecasts in metres."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np

from .errors import TrajpipeError
from .results import Forecast


def apply_projective(matrix: np.ndarray, points) -> tuple[np.ndarray, np.ndarray]:
    """Map (..., 2) points through a (3, 3) matrix; returns the points and their (...,) homogeneous w
    (w <= 0: the point lies behind the camera / beyond the horizon of a homography)."""
    points = np.asarray(points, np.float64)
    w = points @ matrix[2, :2] + matrix[2, 2]
    xy = points @ matrix[:2, :2].T + matrix[:2, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        return xy / w[..., None], w


def projective_jacobian(matrix: np.ndarray, points) -> np.ndarray:
    """(..., 2, 2) Jacobian of the (3, 3) projective map at the (..., 2) input points: how a small
    step at each point moves its image (used to carry covariances between pixels and metres)."""
    points = np.asarray(points, np.float64)
    mapped, w = apply_projective(matrix, points)
    # d/dp (A p + b) / (c.p + d) = (A - mapped c^T) / w
    return (matrix[:2, :2] - mapped[..., :, None] * matrix[2, :2][..., None, :]) / w[..., None, None]


class GroundPlane:
    """A 3x3 homography from image pixels to ground-plane coordinates (e.g. metres)."""

    def __init__(self, matrix):
        matrix = np.asarray(matrix, np.float64)
        if matrix.shape != (3, 3):
            raise TrajpipeError(f"a homography must be a 3x3 matrix, got shape {matrix.shape}")
        if not np.isfinite(matrix).all() or abs(np.linalg.det(matrix)) < 1e-12:
            raise TrajpipeError("the homography matrix is singular or not finite (degenerate points?)")
        self.matrix = matrix

    @classmethod
    def from_file(cls, path: str | Path) -> "GroundPlane":
        """A 3x3 matrix from ``.npy``, ``.json`` (nested list) or text (9 numbers, spaces or commas)."""
        path = Path(path)
        if not path.is_file():
            raise TrajpipeError(f"homography file not found: {path}")
        try:
            if path.suffix == ".npy":
                values = np.load(path, allow_pickle=False)
            elif path.suffix == ".json":
                values = np.asarray(json.loads(path.read_text()), np.float64)
            else:
                values = np.asarray(path.read_text().replace(",", " ").split(), np.float64)
            return cls(np.asarray(values, np.float64).reshape(3, 3))
        except (ValueError, OSError) as exc:
            raise TrajpipeError(f"cannot read a 3x3 homography from {path}: {exc}") from None

    @classmethod
    def from_points(cls, pairs) -> "GroundPlane":
        """From at least four ``[u, v, x, y]`` rows: image point (u, v) lies at ground point (x, y)."""
        pairs = np.asarray(pairs, np.float64)
        if pairs.ndim != 2 or pairs.shape[1] != 4 or len(pairs) < 4:
            raise TrajpipeError("homography_points needs at least four [u, v, x, y] rows")
        matrix, _ = cv2.findHomography(pairs[:, :2], pairs[:, 2:], 0)
        if matrix is None:
            raise TrajpipeError("homography_points are degenerate (three or more on one line?)")
        return cls(matrix)

    def to_ground(self, points) -> np.ndarray:
        """Map (..., 2) image points to (..., 2) ground points."""
        points = np.asarray(points, np.float64)
        flat = points.reshape(-1, 1, 2)
        return cv2.perspectiveTransform(flat, self.matrix).reshape(points.shape)

    def forecast_on_ground(self, forecast: Forecast) -> Forecast:
        """``forecast`` (pixels) with its ground-plane twin: ``points_world``, ``start_world`` and, when
        it has a pixel ``sigma``, ``covariance_world`` (T, 2, 2) and ``sigma_world`` (T, 2), the pixel
        uncertainty carried to the ground through the homography's Jacobian at each forecast point."""
        covariance = sigma = None
        if forecast.sigma is not None:
            jac = projective_jacobian(self.matrix, forecast.points)  # (T, 2, 2)
            covariance = jac @ (np.asarray(forecast.sigma, np.float64)[..., None] ** 2 * jac.transpose(0, 2, 1))
            sigma = np.sqrt(np.diagonal(covariance, axis1=1, axis2=2))
        modes = forecast.modes
        if modes is not None:
            modes = dataclasses.replace(modes, points_world=self.to_ground(modes.points))
        return dataclasses.replace(
            forecast, points_world=self.to_ground(forecast.points), covariance_world=covariance, sigma_world=sigma,
            start_world=None if forecast.start is None else self.to_ground(forecast.start), modes=modes)
