"""Hidden people (keep_hidden_tracks): a track the tracker lost stays in the results, not visible, where its
last forecast puts it; the same id goes on when it is found again; with the switch off nothing changes."""

from __future__ import annotations

import json

import numpy as np

from trajpipe import Pipeline
from trajpipe.core.detections import Detections
from trajpipe.core.results import Forecast
from trajpipe.core.schema import parquet_row, read_jsonl
from trajpipe.training.data import track_samples
from trajpipe.draw.annotators import Boxes, Forecasts, Trails, default_hud_lines
from trajpipe.forecast.hidden import continue_forecast

FPS = 25
FRAME = np.zeros((480, 640, 3), np.uint8)
SPEED = 50.0  # px/s, to the right
GAP = range(30, 45)  # frames on which person 2 is behind something


class OccludedWalkers:
    """Two people walking right; person 2 is not detected on the frames of ``GAP``, where the tracker
    reports it lost (as Ultralytics' trackers do for their ``track_buffer`` frames)."""

    names = {0: "person"}

    def __init__(self):
        self.calls, self.lost = 0, []

    def __call__(self, frame_bgr: np.ndarray) -> Detections:
        step, self.calls = self.calls, self.calls + 1
        x = 20.0 + SPEED * step / FPS
        xyxy = np.array([[x, 100.0, x + 20, 160.0], [x, 300.0, x + 20, 360.0]], np.float32)
        ids = np.array([1, 2], np.int64)
        hidden = step in GAP
        self.lost = [2] if hidden else []
        keep = [0] if hidden else [0, 1]
        return Detections(xyxy[keep], np.full(len(keep), 0.9, np.float32), np.zeros(len(keep), np.int64), ids[keep])

    def lost_track_ids(self) -> list[int]:
        return list(self.lost)

    def reset(self) -> None:
        self.calls = 0


def run(keep_hidden: bool, frames: int = 60):
    pipe = Pipeline(detector=OccludedWalkers(), forecaster="cv", camera_motion="none", min_track_age=0.4,
                    keep_hidden_tracks=keep_hidden)
    return [pipe.process(FRAME, step / FPS) for step in range(frames)]


def true_point(step: int) -> np.ndarray:
    return np.array([30.0 + SPEED * step / FPS, 360.0])


def test_a_hidden_walker_stays_where_its_forecast_puts_it_and_keeps_its_id():
    results = run(keep_hidden=True)
    for step, result in enumerate(results):
        person = [t for t in result.tracks if t.id == 2]
        assert len(person) == 1, step  # never missing: hidden on the frames of GAP, seen on the others
        track = person[0]
        assert track.visible == (step not in GAP)
        if step in GAP:
            assert np.isclose(track.hidden_for, (step - GAP.start + 1) / FPS)
            np.testing.assert_allclose(track.point, true_point(step), atol=0.5)  # CV is right for a straight walk
            np.testing.assert_allclose(track.box[[2, 3]] - track.box[[0, 1]], [20, 60], atol=1e-6)  # last box, moved
            assert track.history_times[-1] == (GAP.start - 1) / FPS  # the past ends at the last sighting
            assert track.forecast.origin == result.timestamp
            np.testing.assert_allclose(track.forecast.points[0], true_point(step) + [SPEED * 0.4, 0], atol=0.5)
        else:
            assert track.hidden_for == 0.0 and track.position is None


def test_the_continued_forecast_reads_the_last_one_later_with_growing_sigma():
    times = 0.4 * np.arange(1, 13)
    forecast = Forecast(times=times, points=np.stack([10 * times, 0 * times], -1), sigma=np.stack([times, times], -1),
                        origin=5.0, start=np.zeros(2))
    position, rest = continue_forecast(forecast, 1.0)
    np.testing.assert_allclose(position, [10.0, 0.0])
    assert rest.origin == 6.0 and rest.times[-1] <= times[-1] - 1.0 + 1e-9 and len(rest.times) == 9
    np.testing.assert_allclose(rest.points[:, 0], 10 * (1.0 + rest.times))
    np.testing.assert_allclose(rest.sigma[:, 0], 1.0 + rest.times)  # the elapsed second's uncertainty added
    assert continue_forecast(forecast, 4.7)[1] is None  # nothing of the horizon left


def test_visible_tracks_are_the_same_with_the_switch_on_and_off():
    on, off = run(keep_hidden=True), run(keep_hidden=False)
    for with_hidden, without in zip(on, off):
        assert all(t.visible for t in without.tracks)
        visible = dict(with_hidden.to_json(), tracks=[r for r in with_hidden.to_json()["tracks"] if "visible" not in r])
        assert json.dumps(visible) == json.dumps(without.to_json())


def test_hidden_tracks_in_json_parquet_and_drawing():
    result = run(keep_hidden=True, frames=GAP.start + 5)[-1]
    record = result.to_json()
    hidden = [r for r in record["tracks"] if r["id"] == 2][0]
    assert hidden["visible"] is False and hidden["hidden_for"] == round(5 / FPS, 3)
    assert "visible" not in [r for r in record["tracks"] if r["id"] == 1][0]  # visible records as they were
    assert parquet_row("v", record, hidden)["visible"] is False
    assert parquet_row("v", record, record["tracks"][0])["visible"] is True
    assert "1 hidden" in default_hud_lines(result)[1]
    only_hidden = type(result)(result.frame_index, result.timestamp, [t for t in result.tracks if t.id == 2])
    only_seen = type(result)(result.frame_index, result.timestamp, [t for t in result.tracks if t.id == 1])
    for annotator in (Boxes(), Trails(), Forecasts()):
        dashed = np.count_nonzero(annotator.annotate(FRAME.copy(), only_hidden))
        solid = np.count_nonzero(annotator.annotate(FRAME.copy(), only_seen))
        assert 0 < dashed < solid, annotator  # drawn, with gaps


def test_training_data_never_takes_a_hidden_track_for_a_sighting(tmp_path):
    path = tmp_path / "tracks.jsonl"
    path.write_text("".join(json.dumps(r.to_json()) + "\n" for r in run(keep_hidden=True)))
    times, ids, _, _ = track_samples(read_jsonl(path))
    hidden_times = {round(step / FPS, 4) for step in GAP}
    assert not any(i == 2 and round(t, 4) in hidden_times for t, i in zip(times, ids))
    assert (ids == 2).sum() == 60 - len(GAP)
