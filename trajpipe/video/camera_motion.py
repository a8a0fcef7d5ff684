"""The camera's own motion, estimated once per frame: it keeps track histories fixed in the scene
(see :mod:`trajpipe.core.frames`) and moves the tracker's Kalman states with the view.

:class:`CameraMotion` estimates the frame-to-frame transform with Ultralytics' ``GMC`` (sparse
optical flow, the estimator BoT-SORT uses) and a RANSAC translation fit.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.frames import Projective

INLIER_PX = 0.25  # full-size pixels: RANSAC inlier threshold of the flow fit (see _flow_estimator)
FLOW_WIDTH = 320  # pixels: frames are downscaled by an integer factor to between this and twice this width


def fit_translation(before: np.ndarray, after: np.ndarray, inlier_px: float) -> np.ndarray | None:
    """(2,) robust shift from the (N, 2) points ``before`` to ``after``: RANSAC with ``inlier_px``
    (OpenCV's ``estimateTranslation2D``; OpenCV versions without it: the median shift, which
    tolerates up to half of the points moving on their own). None when there are too few points."""
    import cv2

    if len(before) < 5:
        return None
    if hasattr(cv2, "estimateTranslation2D"):
        shift, _ = cv2.estimateTranslation2D(before, after, method=cv2.RANSAC, ransacReprojThreshold=inlier_px)
        return None if shift is None else np.asarray(shift, np.float64).ravel()
    return np.median((after - before).reshape(-1, 2), axis=0)


def _flow_estimator(downscale: int, inlier_px: float):
    """Ultralytics' GMC (sparse optical flow) fitting a translation with a tight inlier threshold.

    GMC fits a similarity (shift, rotation, scale) with RANSAC's default threshold of 3 px on the
    downscaled frame (about 9 px at full size). BoT-SORT needs one frame's warp; chained over
    seconds, as histories need, walking people counted as background and the scale's noise add up
    (measured, static concourse video: 86 px drift at the frame's corners over 8 s; panned clip:
    scale off by up to 7 %). A translation fitted at ``inlier_px`` to corners outside the objects
    drifts 3.2 px on average over 3.2 s of the panned clip (benchmarks/camera_motion.py); zoom and
    roll are not compensated. Pyramidal Lucas-Kanade flow, state and reset are GMC's own.
    """
    import cv2
    from ultralytics.trackers.utils.gmc import GMC

    class _TranslationFlow(GMC):
        def apply_sparseoptflow(self, raw_frame: np.ndarray) -> np.ndarray:
            frame = cv2.cvtColor(raw_frame, cv2.COLOR_BGR2GRAY) if raw_frame.ndim == 3 else raw_frame
            if self.downscale > 1:
                frame = cv2.resize(frame, (frame.shape[1] // self.downscale, frame.shape[0] // self.downscale))
            warp = np.eye(2, 3)
            if self.prevFrame is not None:
                if self.prevKeyPoints is None:  # no objects were masked: features from the whole frame
                    self.prevKeyPoints = self.background_features(None)
                if self.prevKeyPoints is not None and len(self.prevKeyPoints) > 4:
                    moved, status, _ = cv2.calcOpticalFlowPyrLK(self.prevFrame, frame, self.prevKeyPoints, None)
                    good = status.ravel().astype(bool)
                    shift = fit_translation(self.prevKeyPoints[good], moved[good], inlier_px / self.downscale)
                    if shift is not None and np.isfinite(shift).all():
                        warp[:, 2] = shift * self.downscale
            self.prevFrame, self.prevKeyPoints = frame, None
            return warp

        def background_features(self, boxes: np.ndarray | None) -> np.ndarray | None:
            """Corners of the last frame outside the (N, 4) full-size pixel boxes, to follow next."""
            mask = None
            if boxes is not None and len(boxes):
                mask = np.full(self.prevFrame.shape, 255, np.uint8)
                for x1, y1, x2, y2 in np.round(boxes / self.downscale).astype(int).clip(0).tolist():
                    mask[y1:y2, x1:x2] = 0
            return cv2.goodFeaturesToTrack(self.prevFrame, mask=mask, **self.feature_params)

    flow = _TranslationFlow("sparseOptFlow", downscale=downscale)
    # Outside the objects, few corners pass GMC's 1 % quality level (median 40 on the panned
    # concourse); more of them, spread out, are steadier (chained drift over 80 frames 7.9 -> 3.2 px).
    flow.feature_params.update(maxCorners=100, qualityLevel=0.002, minDistance=8)
    return flow


class CameraMotion:
    """The camera's motion from frame to frame, estimated once per frame on a downscaled image.

    Wraps Ultralytics' ``GMC`` (``flow``: sparse optical flow of Shi-Tomasi corners taken outside
    the objects, see :meth:`exclude`, then a RANSAC translation fit) and accumulates the warps into
    the transform from the reference frame to the current one.
    """

    def __init__(self):
        self._gmc, self._size = None, None
        self.reset()

    def reset(self) -> None:
        """Start again: the next frame becomes the reference frame."""
        self.reference_to_current = np.eye(3)  # (3, 3) reference-frame pixels -> current pixels
        if self._gmc is not None:
            self._gmc.reset_params()

    def update(self, frame_bgr: np.ndarray) -> np.ndarray:
        """The (2, 3) warp from the previous frame's pixels to this frame's (identity on the first)."""
        if frame_bgr.shape[:2] != self._size:
            # first frame, or a camera that came back at another size: nothing to follow, start over
            self._gmc, self._size = _flow_estimator(max(1, frame_bgr.shape[1] // FLOW_WIDTH), INLIER_PX), frame_bgr.shape[:2]
        warp = np.asarray(self._gmc.apply(frame_bgr), np.float64)
        if not np.isfinite(warp).all():
            warp = np.eye(2, 3)
        self.reference_to_current = Projective.from_affine(warp).matrix @ self.reference_to_current
        return warp

    def exclude(self, boxes_xyxy: np.ndarray, margin: float = 0.1) -> None:
        """Take the features that the next frame's estimate follows from outside these (N, 4) pixel
        boxes of the current frame (grown by ``margin`` of their size): the background, not the
        objects (a crowd walking one way would otherwise read as the camera moving the other)."""
        if self._gmc is None or self._gmc.prevFrame is None:
            return
        boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
        grow = margin * (boxes[:, 2:] - boxes[:, :2])
        self._gmc.prevKeyPoints = self._gmc.background_features(np.hstack([boxes[:, :2] - grow, boxes[:, 2:] + grow]))


def warp_kalman_states(tracker, warp: np.ndarray) -> None:
    """Move an Ultralytics tracker's Kalman states (tracked and lost tracks) by the camera's warp,
    so that a pan does not push every prediction off its object.

    BoT-SORT's state layout (x, y, w, h + velocities) is warped by Ultralytics' own ``multi_gmc``;
    ByteTrack's (x, y, aspect, h + velocities) gets the same treatment with the aspect ratio kept
    and the height scaled (``multi_gmc`` assumes the first layout). Warping before the tracker's
    own prediction step is the same as after it: the constant-velocity step commutes with the warp.
    """
    from ultralytics.trackers.utils.kalman_filter import KalmanFilterXYAH
    from ultralytics.trackers.utils.stracks import multi_gmc

    tracks = [t for t in (*tracker.tracked_stracks, *tracker.lost_stracks) if t.mean is not None]
    if not tracks:
        return
    if type(tracker.kalman_filter) is not KalmanFilterXYAH:  # XYWH (BoT-SORT) and other layouts multi_gmc knows
        multi_gmc(tracks, warp)
        return
    linear = warp[:, :2]
    scale = math.sqrt(abs(np.linalg.det(linear)))
    m = np.eye(8)
    m[0:2, 0:2] = m[4:6, 4:6] = linear
    m[3, 3] = m[7, 7] = scale
    for track in tracks:
        track.mean = m @ track.mean
        track.mean[:2] += warp[:, 2]
        track.covariance = m @ track.covariance @ m.T
