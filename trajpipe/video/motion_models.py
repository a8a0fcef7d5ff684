"""The camera-motion models and their fitting: translation, similarity (zoom, roll), affine and
homography (perspective), the simplest that a set of point matches supports (:func:`choose_model`),
fitted robustly (RANSAC, OpenCV) then by least squares. :class:`~trajpipe.video.camera_motion.CameraMotion`
fits them to a keyframe's corners followed through the video.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

INLIER_PX = 1.0  # downscaled pixels: RANSAC inlier threshold of the keyframe -> frame fits
MODELS = ("translation", "similarity", "affine", "homography")  # simplest first
NOISE_PX = 0.1  # downscaled pixels: a fit whose RMS residual is below this leaves nothing for a more general model
MIN_POINTS = 12  # fewer inliers than this: the estimate is not trusted (kept from the last frame)


@dataclass(frozen=True)
class Fit:
    """The chosen keyframe -> frame transform: ``model``, its (3, 3) ``matrix`` (downscaled pixels)
    and the (N,) ``inliers`` mask of the points it was fitted to."""

    model: str
    matrix: np.ndarray
    inliers: np.ndarray

    @property
    def count(self) -> int:
        return int(self.inliers.sum())


def least_squares(model: str, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """(3, 3) least-squares fit of ``model`` mapping the (N, 2) points ``before`` to ``after``."""
    import cv2

    if model == "translation":
        matrix = np.eye(3)
        matrix[:2, 2] = (after - before).mean(axis=0)
    elif model == "similarity":  # Umeyama: centred points, rotation and scale from their cross-covariance
        mb, ma = before.mean(axis=0), after.mean(axis=0)
        b, a = before - mb, after - ma
        dot, cross = (b * a).sum(), (b[:, 0] * a[:, 1] - b[:, 1] * a[:, 0]).sum()
        k = 1.0 / max((b * b).sum(), 1e-12)
        linear = np.array([[dot, -cross], [cross, dot]]) * k
        matrix = np.eye(3)
        matrix[:2, :2], matrix[:2, 2] = linear, ma - linear @ mb
    elif model == "affine":
        design = np.hstack([before, np.ones((len(before), 1))])
        matrix = np.vstack([np.linalg.lstsq(design, after, rcond=None)[0].T, [0.0, 0.0, 1.0]])
    else:
        matrix, _ = cv2.findHomography(before, after, 0)
        if matrix is None:
            return np.full((3, 3), np.nan)
    return matrix


def residuals(matrix: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """(N,) distances between the (N, 2) points ``before`` mapped by ``matrix`` and ``after``."""
    return np.linalg.norm(apply_points(matrix, before) - after, axis=1)


def well_conditioned(model: str, matrix: np.ndarray, points: np.ndarray, size: tuple[int, int]) -> bool:
    """Whether the (N, 2) inlier ``points`` pin ``model`` down over the whole (width, height) frame:
    enough of them, spread over the frame (an affine or a homography fitted to one corner of the
    frame extrapolates wildly), and a transform that keeps the frame's orientation and does not
    fold it (the frame's corners stay in front of the camera)."""
    if len(points) < MIN_POINTS or not np.isfinite(matrix).all():
        return False
    if model in ("translation", "similarity"):
        return True
    spread = points.std(axis=0) / np.asarray(size, np.float64)
    if (spread < 0.15).any():  # a uniform spread over the frame gives 0.29
        return False
    corners = np.array([[0.0, 0.0], [size[0], 0.0], [0.0, size[1]], [size[0], size[1]]])
    w = (corners @ matrix[2, :2] + matrix[2, 2]) / matrix[2, 2]
    return bool((w > 0.5).all() and (w < 2.0).all() and np.linalg.det(matrix[:2, :2] / matrix[2, 2]) > 0)


def choose_model(before: np.ndarray, after: np.ndarray, size: tuple[int, int], models=MODELS,
                 inlier_px: float = INLIER_PX) -> Fit | None:
    """The simplest model that the evidence supports, fitted to the (N, 2) keyframe points
    ``before`` found at ``after`` in a frame of (width, height) downscaled pixels; None without a fit.

    One RANSAC fit of the most general model in ``models`` (OpenCV, threshold ``inlier_px``) splits
    the points into the background's consensus and the rest (objects moving on their own, lost
    points). Every model is then fitted to those inliers by least squares, and a simpler one is
    kept unless the next more general one brings its residual (RMS, pixels) clearly down: below
    1/1.25 of it (noise alone lowers it by a few percent for the few extra parameters; a zoom of
    1 % leaves a translation off by over a pixel at the frame's edges), and only above ``NOISE_PX`` (what
    the flow's own error leaves: a more general model would fit that noise, and a still camera's
    estimate would jitter between models). Fits that the points do not
    pin down (:func:`well_conditioned`) are skipped: a simpler model is the fallback. The returned
    inliers are all the points within ``inlier_px`` of the chosen fit.
    """
    import cv2

    if len(before) < MIN_POINTS:
        return None
    general = models[-1]
    if general == "homography":
        matrix, mask = cv2.findHomography(before, after, cv2.RANSAC, inlier_px, maxIters=500, confidence=0.995)
    elif general == "translation":
        shift, mask = cv2.estimateTranslation2D(before, after, method=cv2.RANSAC, ransacReprojThreshold=inlier_px)
        matrix = None if shift is None else np.eye(3)
    else:
        estimate = cv2.estimateAffinePartial2D if general == "similarity" else cv2.estimateAffine2D
        matrix, mask = estimate(before, after, method=cv2.RANSAC, ransacReprojThreshold=inlier_px, maxIters=500)
    if matrix is None:
        return None
    inliers = np.asarray(mask).ravel().astype(bool)
    if inliers.sum() < MIN_POINTS:
        return None
    inside, arrived = before[inliers], after[inliers]
    chosen = None
    for model in models:
        matrix = least_squares(model, inside, arrived)
        if not well_conditioned(model, matrix, inside, size):
            continue
        rms = math.sqrt(np.mean(residuals(matrix, inside, arrived) ** 2))
        if chosen is None or (chosen[2] > NOISE_PX and rms < chosen[2] / 1.25):
            chosen = (model, matrix, rms)
    if chosen is None:
        return None
    model, matrix, _ = chosen
    # RANSAC's threshold lets in points that creep (slow walkers, shadows, corners sliding along an
    # edge): the chosen model fitted again to the points within half of it is steadier
    close = residuals(matrix, before, after) < inlier_px / 2
    if close.sum() >= MIN_POINTS:
        refined = least_squares(model, before[close], after[close])
        matrix = refined if well_conditioned(model, refined, before[close], size) else matrix
    # the inliers of the chosen model among all the points: what the keyframe still has in view
    return Fit(model, matrix / matrix[2, 2], residuals(matrix, before, after) < inlier_px)


def corner_motion(matrix: np.ndarray, size: tuple[int, int]) -> float:
    """Furthest (full-size) pixel that the (3, 3) transform moves one of the four corners of a
    (width, height) frame: how far it is from the identity where it matters most."""
    corners = np.array([[0.0, 0.0, 1.0], [size[0], 0.0, 1.0], [0.0, size[1], 1.0], [size[0], size[1], 1.0]])
    moved = corners @ matrix.T
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.nanmax(np.linalg.norm(moved[:, :2] / moved[:, 2:] - corners[:, :2], axis=1)))


def apply_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 2) points through a (3, 3) projective transform."""
    mapped = points @ matrix[:2, :2].T + matrix[:2, 2]
    return mapped / (points @ matrix[2, :2] + matrix[2, 2])[:, None]
