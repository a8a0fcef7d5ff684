import math
import warnings

import numpy as np
import pytest

from trajpipe.core.frames import FrameMap, Projective
from trajpipe.errors import TrajpipeWarning
from trajpipe.core.detections import Detections
from trajpipe.tracking.history import TrackHistories


def detections(ids, x=0.0):
    n = len(ids)
    xyxy = np.array([[x + 10 * i, 0, x + 10 * i + 4, 20] for i in range(n)], np.float32).reshape(-1, 4)
    return Detections(xyxy, np.full(n, 0.9, np.float32), np.zeros(n, np.int64), np.array(ids, np.int64))


def test_histories_follow_ids_with_timestamps_and_bottom_centre_points():
    store = TrackHistories(history_seconds=10, lost_track_ttl=1)
    store.update(0.0, detections([1, 2]))
    seen = store.update(0.1, detections([2, 1], x=1.0))
    assert [h.track_id for h in seen] == [2, 1]
    samples = store.tracks[1].samples()
    times, points = samples.times, samples.points
    np.testing.assert_allclose(times, [0.0, 0.1])
    np.testing.assert_allclose(points, [[2.0, 20.0], [13.0, 20.0]])  # track 1 was first, then second box
    track_2 = store.tracks[2].samples().times
    assert track_2[-1] - track_2[0] == pytest.approx(0.1)  # seconds between first and last sighting


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
        times = history.samples().times
        assert times[-1] - times[0] <= 2.0 + 1 / 30 + 1e-9
        assert len(history) <= 62


def test_timestamps_must_not_go_backwards():
    store = TrackHistories()
    store.update(1.0, detections([1]))
    with pytest.raises(ValueError, match=r"backwards \(0.5 s after 1.0 s\); call reset\(\)"):
        store.update(0.5, detections([1]))


def test_timestamps_must_be_finite_and_a_refused_one_changes_nothing():
    store = TrackHistories()
    store.update(1.0, detections([1]))
    for bad in (math.nan, math.inf, None):
        with pytest.raises(ValueError, match="timestamp must be a"):
            store.update(bad, detections([1]))
    assert store.last_time == 1.0 and len(store.tracks[1]) == 1
    assert store.check_time(1.0) == 1.0  # the same instant again is allowed, as before


def test_detections_with_bad_numbers_are_dropped_and_the_others_kept():
    store = TrackHistories()
    store.update(0.0, detections([1, 2, 3]))
    frame = detections([1, 2, 3], x=1.0)
    frame.xyxy[1, 1] = np.nan  # the top of the box only: its height would be the pixel scale
    frame.xyxy[2, 2] = 1e30
    with pytest.warns(TrajpipeWarning, match=r"dropped the detections of tracks \[2, 3\]"):
        seen = store.update(0.1, frame)
    assert seen[0] is store.tracks[1] and seen[1:] == [None, None]
    assert [len(store.tracks[i]) for i in (1, 2, 3)] == [2, 1, 1]
    assert np.isfinite(np.concatenate([h.samples().rows for h in store.tracks.values()])).all()


def test_detections_that_map_to_bad_history_coordinates_are_dropped():
    # w = 0.05 v - 1 is zero on the row v = 20: those points map to infinity (a homography's horizon)
    horizon = FrameMap(to_history=Projective(np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0.05, -1.0]])))
    frame = detections([1, 2])
    frame.xyxy[1, [1, 3]] = [30, 40]  # below the horizon: finite
    store = TrackHistories()
    with pytest.warns(TrajpipeWarning, match=r"tracks \[1\]"):
        seen = store.update(0.0, frame, horizon)
    assert seen[0] is None and set(store.tracks) == {2}
    assert np.isfinite(store.tracks[2].samples().rows).all()


def test_samples_far_apart_warn_once_that_timestamps_are_seconds():
    store = TrackHistories(lost_track_ttl=10_000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for frame in range(5):
            store.update(frame * 40.0, detections([1, 2]))  # milliseconds of a 25 fps video, read as seconds
    assert len(caught) == 1 and issubclass(caught[0].category, TrajpipeWarning)
    assert "40 s between consecutive samples (over 10 s); timestamps must be in seconds" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        store = TrackHistories(lost_track_ttl=10_000)
        store.update(0.0, detections([1]))
        store.update(9.5, detections([1]))  # a long occlusion: plausible, no warning


def test_empty_frames_are_fine():
    store = TrackHistories(lost_track_ttl=1)
    assert store.update(0.0, Detections.empty()) == []
    store.update(0.1, detections([3]))
    store.update(5.0, Detections.empty())
    assert len(store) == 0


def test_history_buffer_grows_compacts_and_caps():
    from trajpipe.tracking.history import MAX_SAMPLES, TrackHistory

    history = TrackHistory(1, 0)
    for i in range(3000):
        history.append(i * 0.001, [i, -i], [0, 0, 1, 2 + i % 3])
        if i % 500 == 499:
            history.trim_before((i - 100) * 0.001)  # keep ~100 samples: they move to a fresh buffer
    assert len(history) == 101
    samples = history.samples()
    points = samples.points
    np.testing.assert_allclose(points[-1], [2999, -2999])
    assert not points.flags.writeable
    early_view, early_copy = samples.rows, samples.rows.copy()
    for i in range(3000, 6000):  # no trimming: capped at MAX_SAMPLES, oldest dropped
        history.append(i * 0.001, [i, -i], [0, 0, 1, 3])
    samples = history.samples()
    assert len(history) == MAX_SAMPLES and samples.times[0] == pytest.approx((6000 - MAX_SAMPLES) * 0.001)
    assert samples.points.shape == (MAX_SAMPLES, 2) and not samples.rows.flags.writeable
    np.testing.assert_allclose(samples.boxes[-1], [0, 0, 1, 3])
    np.testing.assert_array_equal(early_view, early_copy)  # a view handed out earlier never changes


def test_remap_moves_points_and_boxes_and_leaves_views_handed_out_alone():
    from trajpipe.core.frames import Projective

    histories = TrackHistories()
    boxes = np.array([[10.0, 20.0, 30.0, 60.0]], np.float32)
    detections = Detections(boxes, np.ones(1, np.float32), np.zeros(1, np.int64), np.array([7]))
    for i in range(3):
        [history] = histories.update(0.1 * i, detections)
    before = history.samples()
    histories.remap(Projective(np.array([[2.0, 0, 5], [0, 2.0, -1], [0, 0, 1]])))  # a zoom by 2 and a shift
    after = histories.tracks[7].samples()
    np.testing.assert_allclose(after.points, before.points * 2 + [5, -1])
    np.testing.assert_allclose(after.boxes, before.boxes * 2 + [5, -1, 5, -1])
    np.testing.assert_allclose(before.points, [[20.0, 60.0]] * 3)  # the old view still holds the old coordinates
    [history] = histories.update(0.3, detections)
    assert len(history) == 4 and np.allclose(history.samples().points[-1], [20.0, 60.0])
