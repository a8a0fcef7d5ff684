"""The real detector and tracker on frames of the bundled concourse video, through the Python API."""

import gc
import json
import tempfile
from collections import Counter

import cv2
import numpy as np
import pytest

from trajpipe import Forecaster, Pipeline, TrajpipeError
from trajpipe.errors import TrajpipeWarning
from trajpipe.running.loop import run
from trajpipe.core.frames import GroundPlane

PAIRS = [[100, 400, 0, 0], [600, 400, 10, 0], [100, 150, 0, 10], [600, 150, 10, 10]]  # pixel (u, v) -> ground (x, y)
FPS = 25


@pytest.fixture(scope="module")
def pipeline(detector_weights):
    with Pipeline(model=str(detector_weights), forecaster="cv", classes=["person"]) as pipe:
        yield pipe


def test_thirty_frames_give_stable_tracks_forecasts_and_a_thirty_frame_video(pipeline, concourse, tmp_path):
    pipeline.reset()
    video, jsonl = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    summary = run(pipeline, concourse, str(video), str(jsonl), max_frames=30, progress=False)
    assert summary.frames == 30 and not summary.interrupted

    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(30))
    np.testing.assert_allclose([r["timestamp"] for r in records], np.arange(30) / 25, atol=1e-3)
    frames_per_id = Counter(t["id"] for r in records for t in r["tracks"])
    assert sum(n >= 25 for n in frames_per_id.values()) >= 10  # ids stay stable across frames
    forecasts = [t["forecast"] for r in records[-5:] for t in r["tracks"] if "forecast" in t]
    assert len(forecasts) >= 10
    for forecast in forecasts:
        assert forecast["t"] == pytest.approx(0.4 * np.arange(1, 13))
        assert np.isfinite(forecast["xy"]).all()

    cap = cv2.VideoCapture(str(video))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 30
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (854, 480)


def test_interrupt_finalises_outputs_up_to_the_last_frame(pipeline, concourse, tmp_path):
    pipeline.reset()
    results = []

    def interrupted_after_frame_8(result):
        results.append(result)
        if len(results) == 8:
            raise KeyboardInterrupt

    summary = run(pipeline, concourse, str(tmp_path / "o.mp4"), str(tmp_path / "o.jsonl"), progress=False,
                  on_result=interrupted_after_frame_8)
    assert summary.interrupted and summary.frames == 8
    lines = (tmp_path / "o.jsonl").read_text().splitlines()
    assert [json.loads(line)["frame"] for line in lines] == list(range(8))
    assert cv2.VideoCapture(str(tmp_path / "o.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) == 8


def test_push_mode_on_real_frames(pipeline, concourse):
    pipeline.reset()
    cap = cv2.VideoCapture(str(concourse))
    results = []
    for i in range(12):
        ok, frame = cap.read()
        assert ok
        results.append(pipeline.process(frame, timestamp=100.0 + i * 0.08))
    assert [r.frame_index for r in results] == list(range(12))
    last = results[-1]
    assert last.timestamp == pytest.approx(100.88) and len(last.tracks) >= 10
    assert all(t.class_name == "person" and t.box.shape == (4,) for t in last.tracks)
    assert any(t.forecast is not None and t.forecast.points.shape == (12, 2) for t in last.tracks)


def test_bad_frames_and_timestamps_on_the_real_detector(pipeline, concourse):
    """What used to fail deep inside OpenCV or silently find nobody is a one-line error that leaves the
    pipeline as it was; a grey frame is converted and its people found."""
    pipeline.reset()
    frame = cv2.VideoCapture(str(concourse)).read()[1]
    assert len(pipeline.process(frame, 0.0).tracks) >= 10
    bad_frames = {"None": None, "CHW": np.ascontiguousarray(frame.transpose(2, 0, 1)),
                  "float 0..1": frame.astype(np.float32) / 255, "empty": np.zeros((0, 0, 3), np.uint8)}
    for name, bad in bad_frames.items():
        with pytest.raises(TrajpipeError, match="expected an HxWx3 uint8 BGR image"):
            pipeline.process(bad, 0.04)
    with pytest.raises(ValueError, match="finite"):
        pipeline.process(frame, float("nan"))
    with pytest.raises(ValueError, match=r"reset\(\)"):
        pipeline.process(frame, -1.0)
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    result = pipeline.process(grey, 0.04)
    assert result.frame_index == 1 and len(result.tracks) >= 10 and result.image.shape == frame.shape
    with pytest.warns(TrajpipeWarning, match="seconds"):
        pipeline.process(frame, 40.0)  # milliseconds by mistake


def test_an_unclosed_pipeline_leaves_no_temporary_files(detector_weights, concourse, monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    frame = cv2.VideoCapture(str(concourse)).read()[1]
    pipe = Pipeline(model=str(detector_weights), forecaster="cv", classes=["person"])
    assert not [p for p in tmp_path.iterdir() if "trajpipe" in p.name]  # the weights' copy is gone once loaded
    assert pipe.process(frame, 0.0).tracks
    del pipe
    gc.collect()
    assert not [p for p in tmp_path.iterdir() if "trajpipe" in p.name]


def test_pipeline_gives_forecasts_in_metres(detector_weights, concourse):

    cap = cv2.VideoCapture(str(concourse))
    with Pipeline(model=str(detector_weights), forecaster="cv", classes=["person"], homography_points=PAIRS) as pipe:
        for i in range(25):
            result = pipe.process(cap.read()[1], timestamp=i * 0.04)
    ground = GroundPlane.from_points(PAIRS)
    forecast_tracks = [t for t in result.tracks if t.forecast is not None]
    assert forecast_tracks
    for track in forecast_tracks:
        np.testing.assert_allclose(track.point_world, ground.to_ground(track.history[-1]), atol=1e-6)
        np.testing.assert_allclose(track.forecast.points_world, ground.to_ground(track.forecast.points), atol=1e-6)
    record = result.to_json()["tracks"]
    assert any("xy_world" in t.get("forecast", {}) for t in record) and all("point_world" in t for t in record)


def test_pipelines_are_independent(detector_weights, concourse):

    frames = [cv2.VideoCapture(str(concourse)).read()[1]]
    with Pipeline(model=str(detector_weights), forecaster="cv") as a, \
            Pipeline(model=str(detector_weights), forecaster="cv", classes=["car"]) as b:
        people = a.process(frames[0], 0.0)
        cars = b.process(frames[0], 0.0)
    assert len(people.tracks) >= 10 and all(t.class_name != "car" for t in people.tracks)
    assert all(t.class_name == "car" for t in cars.tracks)
    assert sorted(t.id for t in people.tracks)[0] == 1  # ids are per pipeline


def test_real_panned_frames_keep_trails_in_the_scene(concourse, detector_weights):
    """A 640x360 window panning over the real concourse video: the camera estimate matches the
    known pan, and every trail point, seen from the current view, is where the person was in the scene."""

    step = np.array([3, 1])  # the window moves 3 px right and 1 px down a frame (75 and 25 px/s)
    capture = cv2.VideoCapture(str(concourse))
    seen: dict[int, dict[float, np.ndarray]] = {}  # id -> {time: scene point}
    with Pipeline(model=str(detector_weights), forecaster="cv", classes=["person"], camera_motion="flow") as pipe:
        for frame in range(30):
            ok, image = capture.read()
            assert ok
            x, y = 40 + step * frame
            result = pipe.process(np.ascontiguousarray(image[y:y + 360, x:x + 640]), timestamp=frame / FPS)
            record = result.to_json()
            if frame:
                # each frame's transform is the difference of two keyframe estimates (~0.2 px noise each);
                # the concourse camera itself also tilts by up to ~0.15 px a frame
                np.testing.assert_allclose(np.array(record["camera"])[:, 2], -step, atol=0.75)
                np.testing.assert_allclose(np.array(record["camera"])[:, :2], np.eye(2))
            for track in result.tracks:
                scene = track.history + [x, y]  # the trail, taken from the current view into the scene
                for t, point in zip(track.history_times, scene):
                    if t in seen.get(track.id, {}):  # the same sample, as seen when it was taken
                        # the "scene" here is the window's offset: the concourse camera itself tilts too, by
                        # 3.3 px over its first 20 frames (direct registration, benchmarks/camera_motion.py)
                        np.testing.assert_allclose(point, seen[track.id][t], atol=5.0)
                seen.setdefault(track.id, {})[result.timestamp] = track.history[-1] + [x, y]
    assert sum(len(points) for points in seen.values()) > 100  # many people, many samples checked


def test_real_zooming_and_rolling_frames_keep_trails_in_the_scene(concourse, detector_weights):
    """A 640x360 view of the real concourse video zooming in (2 % a frame) and rolling (0.3 degrees a
    frame): the camera transform handed out is that similarity, the tracker keeps its people, and
    every trail point, seen from the current view, is where the person was in the scene."""

    def scene_to_view(frame: int) -> np.ndarray:
        scale, angle = 1.0 + 0.02 * frame, np.radians(0.3 * frame)
        c, s = scale * np.cos(angle), scale * np.sin(angle)
        return np.array([[c, -s, 320 - c * 427 + s * 240], [s, c, 180 - s * 427 - c * 240], [0, 0, 1.0]])

    capture = cv2.VideoCapture(str(concourse))
    seen: dict[int, dict[float, np.ndarray]] = {}  # id -> {time: scene point}
    ids_seen = set()
    with Pipeline(model=str(detector_weights), forecaster="cv", classes=["person"], camera_motion="flow") as pipe:
        for frame in range(20):
            ok, image = capture.read()
            assert ok
            to_view = scene_to_view(frame)
            result = pipe.process(cv2.warpPerspective(image, to_view, (640, 360)), timestamp=frame / FPS)
            record = result.to_json()
            if frame:
                expected = to_view @ np.linalg.inv(scene_to_view(frame - 1))
                camera = np.array(record["camera"])
                np.testing.assert_allclose(camera[:, :2], expected[:2, :2], atol=0.01)  # zoom and roll
                np.testing.assert_allclose(camera[:, 2], expected[:2, 2], atol=1.0)  # the shift they make
            to_scene = np.linalg.inv(to_view)
            first_count = first_count if frame else len(result.tracks)
            for track in result.tracks:
                ids_seen.add(track.id)
                scene = track.history @ to_scene[:2, :2].T + to_scene[:2, 2]
                for t, point in zip(track.history_times, scene):
                    if t in seen.get(track.id, {}):  # the same sample, as seen when it was taken
                        np.testing.assert_allclose(point, seen[track.id][t], atol=5.0)  # as above: the camera's own tilt
                seen.setdefault(track.id, {})[result.timestamp] = scene[-1]
    assert sum(len(points) for points in seen.values()) > 100  # many people, many samples checked
    assert len(ids_seen) <= 1.5 * first_count  # the tracker kept its people through the zoom, not new ids each frame


def test_pipeline_puts_real_tracks_in_the_world_frame(concourse, detector_weights):
    from trajpipe.errors import TrajpipeError

    pairs = [[100, 470, 2, 1.5], [750, 470, 2, -1.5], [300, 200, 8, 1.5], [560, 200, 8, -1.5]]  # pixel -> base (m)
    pose = (5.0, 2.0, np.pi / 2)  # the robot stands at (5, 2) facing +y
    capture = cv2.VideoCapture(str(concourse))
    with Pipeline(model=str(detector_weights), forecaster="cv", classes=["person"], homography_points=pairs,
                  min_track_age=0.2) as pipe:
        for frame in range(12):
            result = pipe.process(capture.read()[1], timestamp=frame / 25, pose=pose)
        assert result.tracks and any(t.forecast is not None for t in result.tracks)
        ahead_of_horizon = [t for t in result.tracks if np.isfinite(t.history[-1]).all()]
        assert len(ahead_of_horizon) >= len(result.tracks) / 2  # (this made-up homography's horizon is low)
        for track in ahead_of_horizon:
            base = pipe.ground.to_ground(track.history[-1])  # the robot's view of the person
            np.testing.assert_allclose(track.point_world, [5.0 - base[1], 2.0 + base[0]], atol=1e-6)
            if track.forecast is not None:
                # in the image where the camera sees them; points beyond the homography's horizon have no pixel
                visible = np.isfinite(track.forecast.points).all(axis=1)
                ahead = pipe.ground.to_ground(track.forecast.points[visible])
                np.testing.assert_allclose(track.forecast.points_world[visible],
                                           np.stack([5.0 - ahead[:, 1], 2.0 + ahead[:, 0]], 1), atol=1e-6)
        with pytest.raises(TrajpipeError, match="every frame or with none"):
            pipe.process(capture.read()[1], timestamp=1.0)
        with pytest.raises(TrajpipeError, match="pose must be three finite numbers"):
            pipe.process(capture.read()[1], timestamp=1.0, pose=(0.0, float("nan"), 0.0))
    with Pipeline(model=str(detector_weights), forecaster="cv") as pipe:
        with pytest.raises(TrajpipeError, match="needs a ground homography"):
            pipe.process(capture.read()[1], timestamp=0.0, pose=pose)


def test_ready_objects_can_be_passed_in(detector_weights, concourse):
    """A Pipeline built around a forecaster and a detector that the caller made (and keeps)."""
    from trajpipe.forecast.cv import ConstantVelocityForecaster
    from trajpipe.video.detector import YoloTracker

    detector = YoloTracker(str(detector_weights), "bytetrack", classes=["person"])
    forecaster = Forecaster.load("cv")
    capture = cv2.VideoCapture(str(concourse))
    with Pipeline(detector=detector, forecaster=forecaster) as pipe:
        assert pipe.forecaster is forecaster and pipe.detector is detector
        for frame in range(25):
            result = pipe.process(capture.read()[1], timestamp=frame / FPS)
    assert isinstance(pipe.forecaster, ConstantVelocityForecaster)
    assert any(t.forecast is not None for t in result.tracks)
    assert detector(capture.read()[1]) is not None  # the caller's detector is left open for the caller
    detector.close()


def test_two_pipelines_side_by_side_number_their_own_ids(detector_weights, concourse):
    """Ids are per Pipeline: run interleaved, each gets the ids it gets alone."""
    capture = cv2.VideoCapture(str(concourse))
    frames = [capture.read()[1] for _ in range(15)]

    def ids(results):
        return [sorted(t.id for t in r.tracks) for r in results]

    with Pipeline(model=str(detector_weights), forecaster="cv", classes=["person"]) as alone:
        expected = ids([alone.process(f, i / FPS) for i, f in enumerate(frames)])
    with Pipeline(model=str(detector_weights), forecaster="cv", classes=["person"]) as a, \
            Pipeline(model=str(detector_weights), forecaster="cv", classes=["person"]) as b:
        both = [(a.process(f, i / FPS), b.process(f, i / FPS)) for i, f in enumerate(frames)]
    assert ids(r for r, _ in both) == expected and ids(r for _, r in both) == expected
    assert min(expected[0]) == 1
