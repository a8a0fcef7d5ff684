"""Looking for a lost person where the forecaster expects them, not where the tracker's constant-velocity
Kalman filter does (issue 26, measured by ``benchmarks/occlusion.py``; not yet wired into the detector).

Ultralytics' trackers (ByteTrack, BoT-SORT) keep a lost track's Kalman state and move it by its last
velocity every frame until a detection overlaps its predicted box. :func:`steer_lost_tracks` moves
those states so that the tracker's next prediction puts each lost track's bottom centre where its
continued forecast (:mod:`trajpipe.forecast.hidden`) is at the next frame's time.
"""

from __future__ import annotations

import numpy as np

from ..core.results import TrackState


def targets_at(hidden: list[TrackState], timestamp: float, origin: float) -> dict[int, np.ndarray]:
    """{track id: (2,) pixels} where each hidden track (states of the frame at ``origin`` seconds) is
    expected at ``timestamp``: its continued forecast read at the elapsed time (straight from its
    current point to the forecast's first step)."""
    targets = {}
    for track in hidden:
        forecast = track.forecast
        if track.visible or forecast is None or not len(forecast.times):
            continue
        times = np.concatenate([[0.0], forecast.times])
        path = np.vstack([track.point[None], forecast.points])
        elapsed = timestamp - origin
        targets[track.id] = np.array([np.interp(elapsed, times, path[:, 0]), np.interp(elapsed, times, path[:, 1])])
    return targets


def steer_lost_tracks(tracker, targets: dict[int, np.ndarray]) -> int:
    """Move the Kalman states of ``tracker``'s lost tracks (an Ultralytics ``BYTETracker`` or ``BOTSORT``;
    both keep centre x, centre y at 0, 1, height at 3 and the velocities of x, y at 4, 5) so that the
    next frame's prediction puts their bottom centre at ``targets`` (pixels); before that frame is
    tracked. Returns how many were moved."""
    moved = 0
    for track in tracker.lost_stracks:
        target = targets.get(int(track.track_id))
        if target is None or track.mean is None or not np.isfinite(target).all():
            continue
        mean = track.mean.copy()
        centre = np.array([target[0], target[1] - mean[3] / 2])
        mean[:2] = centre - mean[4:6]  # the prediction adds one frame's velocity
        track.mean = mean
        moved += 1
    return moved
