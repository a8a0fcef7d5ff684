"""Image -> ground-plane mapping, for forecasts in metres."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from .errors import TrajpipeError


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
