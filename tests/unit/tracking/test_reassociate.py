"""Looking for a lost person where the forecast expects them: Ultralytics' ByteTrack re-finds the same id
where its own Kalman prediction would not."""

from __future__ import annotations

import numpy as np

from trajpipe.tracking.reassociate import steer_lost_tracks
from trajpipe.video.detector import resolve_tracker


def tracker():
    from ultralytics.trackers.track import TRACKER_MAP
    from ultralytics.utils import YAML, IterableSimpleNamespace

    settings = IterableSimpleNamespace(**YAML.load(resolve_tracker("configs/tracker.yaml")))
    return TRACKER_MAP[settings.tracker_type](args=settings)


def update(bytetrack, boxes):
    from ultralytics.engine.results import Boxes

    data = np.array([[*b, 0.9, 0] for b in boxes], np.float32).reshape(-1, 6)
    return bytetrack.update(Boxes(data, (480, 640)), np.zeros((480, 640, 3), np.uint8))


def walk_then_hide(steer: bool) -> int:
    """A person walks right 2 px a frame for 20 frames, is hidden 20 frames and reappears 60 px lower
    (turned a corner): the id of the track that has them then."""
    bytetrack = tracker()
    box = np.array([100.0, 100.0, 130.0, 180.0])
    for step in range(20):
        update(bytetrack, [box + [2 * step, 0, 2 * step, 0]])
    for _ in range(20):
        update(bytetrack, [])
    reappears = box + [80, 60, 80, 60]
    if steer:
        (lost,) = bytetrack.lost_stracks
        assert steer_lost_tracks(bytetrack, {int(lost.track_id): np.array([reappears[[0, 2]].mean(), reappears[3]])}) == 1
    tracks = update(bytetrack, [reappears])
    return int(tracks[0, 4]) if len(tracks) else -1


def test_a_lost_track_looked_for_where_the_forecast_is_keeps_its_id():
    assert walk_then_hide(steer=True) == 1
    assert walk_then_hide(steer=False) != 1  # the Kalman filter looks along the old line: a new id
