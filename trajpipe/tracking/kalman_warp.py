"""The tracker's Kalman states moved with the camera: a pan, a zoom or a roll measured by
:class:`~trajpipe.video.camera_motion.CameraMotion` is applied to every track's predicted box before the
next frame is tracked (the detector calls :func:`warp_kalman_states`)."""

from __future__ import annotations

import math

import numpy as np


def local_affine(warp: np.ndarray, point: np.ndarray) -> np.ndarray:
    """(2, 3) affine approximation of the (3, 3) projective ``warp`` around the (2,) ``point``: exact
    there, and with the warp's Jacobian there (how a small box around it is moved and stretched)."""
    x, y = point
    w = warp[2, 0] * x + warp[2, 1] * y + warp[2, 2]
    mapped = (warp[:2, :2] @ point + warp[:2, 2]) / w
    jacobian = (warp[:2, :2] - np.outer(mapped, warp[2, :2])) / w
    return np.hstack([jacobian, (mapped - jacobian @ point)[:, None]])


def warp_kalman_states(tracker, warp: np.ndarray) -> None:
    """Move an Ultralytics tracker's Kalman states (tracked and lost tracks) by the camera's warp
    ((2, 3) affine or (3, 3) projective, previous frame's pixels -> this frame's), so that a pan, a
    zoom or a roll does not push every prediction off its object. A homography moves each track by
    its local affine approximation at the track's centre (:func:`local_affine`).

    BoT-SORT's state layout (x, y, w, h + velocities) is warped by Ultralytics' own ``multi_gmc``;
    ByteTrack's (x, y, aspect, h + velocities) gets the same treatment with the aspect ratio kept
    and the height scaled (``multi_gmc`` assumes the first layout). Warping before the tracker's
    own prediction step is the same as after it: the constant-velocity step commutes with the warp.
    """
    tracks = [t for t in (*tracker.tracked_stracks, *tracker.lost_stracks) if t.mean is not None]
    if not tracks:
        return
    warp = np.asarray(warp, np.float64)
    if warp.shape == (2, 3) or not warp[2, :2].any():
        _warp_tracks(tracker, tracks, warp[:2] / (1.0 if warp.shape == (2, 3) else warp[2, 2]))
        return
    for track in tracks:
        _warp_tracks(tracker, [track], local_affine(warp, track.mean[:2]))


def _warp_tracks(tracker, tracks: list, warp: np.ndarray) -> None:
    """Move the Kalman states of ``tracks`` by one (2, 3) affine ``warp``."""
    from ultralytics.trackers.utils.kalman_filter import KalmanFilterXYAH
    from ultralytics.trackers.utils.stracks import multi_gmc

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


def follow_camera_motion(trackers, warp: np.ndarray) -> None:
    """Move the trackers' predicted boxes by the camera's warp (:func:`warp_kalman_states`); it replaces
    BoT-SORT's own estimate of the same motion (estimated once per frame, not twice)."""
    for tracker in trackers:
        if getattr(tracker, "gmc", None) is not None:
            tracker.gmc.method = None
        warp_kalman_states(tracker, warp)
