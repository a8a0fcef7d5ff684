import numpy as np
import pytest

from trajpipe.detection import Detections
from trajpipe.history import TrackHistories


def detections(ids, x=0.0):
    n = len(ids)
    xyxy = np.array([[x + 10 * i, 0, x + 10 * i + 4, 20] for i in range(n)], np.float32).reshape(-1, 4)
    return Detections(xyxy, np.full(n, 0.9, np.float32), np.zeros(n, np.int64), np.array(ids, np.int64))


def test_histories_follow_ids_with_timestamps_and_bottom_centre_points():
    store = TrackHistories(history_seconds=10, lost_track_ttl=1)
    store.update(0.0, detections([1, 2]))
    seen = store.update(0.1, detections([2, 1], x=1.0))
    assert [h.track_id for h in seen] == [2, 1]
    times, points = store.tracks[1].arrays()
    np.testing.assert_allclose(times, [0.0, 0.1])
    np.testing.assert_allclose(points, [[2.0, 20.0], [13.0, 20.0]])  # track 1 was first, then second box
    assert store.tracks[2].age == pytest.approx(0.1)


def test_lost_tracks_are_pruned_after_ttl():
    store = TrackHistories(history_seconds=10, lost_track_ttl=1.0)
    store.update(0.0, detections([1, 2]))
    store.update(0.9, detections([2]))
    assert set(store.tracks) == {1, 2}
    store.update(1.05, detections([2]))
    assert set(store.tracks) == {2}


def test_history_is_bounded_in_time_and_memory_stays_flat():
    store = TrackHistories(history_seconds=2.0, lost_track_ttl=0.5)
    for frame in range(10_000):
        t = frame / 30
        ids = [frame // 300 * 5 + k for k in range(5)]  # ids turn over every 10 s, like people passing through
        store.update(t, detections(ids))
        if frame > 300:
            assert len(store) <= 10
    for history in store.tracks.values():
        assert history.times[-1] - history.times[0] <= 2.0 + 1 / 30 + 1e-9
        assert len(history.times) <= 62


def test_timestamps_must_not_go_backwards():
    store = TrackHistories()
    store.update(1.0, detections([1]))
    with pytest.raises(ValueError, match="backwards"):
        store.update(0.5, detections([1]))


def test_empty_frames_are_fine():
    store = TrackHistories(lost_track_ttl=1)
    assert store.update(0.0, Detections.empty()) == []
    store.update(0.1, detections([3]))
    store.update(5.0, Detections.empty())
    assert len(store) == 0
