"""The MCAP sink on made-up results (no detector): what is written, atomicity, errors."""

import math
import sys

import cv2
import numpy as np
import pytest

from conftest import read_mcap
from trajpipe.running.batch import run_batch
from trajpipe.running.jobs import plan_jobs
from trajpipe.app.cli import main
from trajpipe.config import Config
from trajpipe.core.results import Forecast, FrameResult, ModeSet, TrackState
from trajpipe.errors import TrajpipeError
from trajpipe.io import mcap as M


def result(frame: int, pose=None) -> FrameResult:
    """Two people: one with a forecast (two modes, sigma, on the ground), one just seen."""
    t = frame / 25
    points = np.array([[110.0, 200.0], [120.0, 200.0], [130.0, 201.0]]) + frame
    modes = ModeSet(points[None] + [[[0, 0]], [[0, 5]]], np.array([0.7, 0.3]), points_world=np.zeros((2, 3, 2)) + [[[1, 2]], [[1, 3]]])
    covariance = np.array([[[0.04, 0.0], [0.0, 0.01]]] * 3)
    forecast = Forecast(np.array([0.4, 0.8, 1.2]), points, np.full((3, 2), 4.0), t, np.array([[1.0, 2.0], [1.5, 2.0], [2.0, 2.1]]),
                        modes, points[0] - 10, np.array([0.5, 2.0]), np.sqrt(covariance.diagonal(axis1=1, axis2=2)), covariance)
    history = np.array([[90.0, 190.0], [100.0, 200.0]]) + frame
    tracks = [TrackState(7, 0, "person", 0.9, np.array([80, 100, 120, 200.0]), history, np.array([t - 0.04, t]), forecast,
                         np.array([0.5, 2.0])),
              TrackState(8, 0, "person", 0.6, np.array([300, 100, 340, 210.0]), history[-1:] + 200, np.array([t]), None,
                         np.array([3.0, 4.0]))]
    image = np.full((240, 320, 3), 40 + frame, np.uint8)
    return FrameResult(frame, t, tracks, image=image, pose=pose)


def test_three_frames_round_trip(tmp_path):
    path = tmp_path / "out.mcap"
    with M.McapSink(path, world=True) as sink:
        for frame in range(3):
            sink.write(result(frame, pose=(frame * 0.1, 0.0, 0.2)))
    messages, summary = read_mcap(path)
    assert {topic: len(v) for topic, v in messages.items()} == {topic: 3 for topic in (
        M.TOPIC_IMAGE, M.TOPIC_ANNOTATIONS, M.TOPIC_SCENE, M.TOPIC_TRANSFORM, M.TOPIC_MARKERS, M.TOPIC_FORECASTS)}
    assert [time for time, _ in messages[M.TOPIC_IMAGE]] == [0, 40_000_000, 80_000_000]
    assert [record for _, record in messages[M.TOPIC_FORECASTS]] == [result(f).to_json() for f in range(3)]
    assert [(t, r) for t, r in M.read_records(path)] == [(f / 25, result(f).to_json()) for f in range(3)]
    image = cv2.imdecode(np.frombuffer(messages[M.TOPIC_IMAGE][2][1].data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (240, 320, 3) and abs(int(image.mean()) - 42) <= 1
    annotations = messages[M.TOPIC_ANNOTATIONS][0][1]
    assert [t.text for t in annotations.texts] == ["7 person", "8 person"]
    # box, trail, two modes, forecast for 7; box for 8 (one point: no trail)
    assert len(annotations.points) == 6 and len(annotations.circles) == 1
    assert annotations.circles[0].diameter == pytest.approx(8.0)  # 2 sigma
    modes = [p for p in annotations.points if p.type == 3 and p.thickness == 1.5]  # LINE_STRIP; the forecast is 3 thick
    assert [p.outline_color.a for p in modes] == pytest.approx([0.7, 0.3])
    forecast = [p for p in annotations.points if p.thickness == 3.0]
    assert [[q.x, q.y] for q in forecast[0].points] == [[100.0, 200.0], [110.0, 200.0], [120.0, 200.0], [130.0, 201.0]]
    scene = messages[M.TOPIC_SCENE][1][1]
    assert [e.id for e in scene.entities] == ["track/7", "track/8"] and scene.entities[0].frame_id == "world"
    assert [(p.x, p.y) for p in scene.entities[0].lines[0].points] == [(0.5, 2.0), (1.0, 2.0), (1.5, 2.0), (2.0, 2.1)]
    ellipse = scene.entities[0].spheres[1]
    assert (ellipse.size.x, ellipse.size.y) == pytest.approx((0.4, 0.2))  # 2 sigma along x, then y
    markers = messages[M.TOPIC_MARKERS][1][1].markers
    assert [(m.ns, m.id) for m in markers] == [("", 0), ("positions", 0), ("label", 7), ("forecast", 7), ("sigma", 7),
                                               ("mode/0", 7), ("mode/1", 7), ("label", 8)]
    transform = messages[M.TOPIC_TRANSFORM][2][1]
    assert transform.translation.x == pytest.approx(0.2) and 2 * math.asin(transform.rotation.z) == pytest.approx(0.2)


def test_end_ellipse_is_the_covariance_eigen_decomposition():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.normal(size=(2, 2))
        covariance = a @ a.T
        centre, diameters, yaw = M._end_ellipse(np.zeros((1, 2)), covariance[None], None)
        axis = np.array([math.cos(yaw), math.sin(yaw)])
        values = np.linalg.eigvalsh(covariance)
        assert diameters == pytest.approx(2 * np.sqrt(values[::-1]))
        assert covariance @ axis == pytest.approx(values[-1] * axis)  # the first axis is the major one


def test_nothing_under_the_final_name_unless_committed(tmp_path):
    path = tmp_path / "out.mcap"
    path.write_bytes(b"an earlier recording")
    with M.McapSink(path):  # no frame: the earlier file stays
        pass
    assert path.read_bytes() == b"an earlier recording"
    sink = M.McapSink(path, image="none")
    sink.write(result(0))
    sink.close(commit=False)
    assert path.read_bytes() == b"an earlier recording" and list(tmp_path.iterdir()) == [path]
    with pytest.raises(TrajpipeError, match="is closed"):
        sink.write(result(1))


def test_bad_values(tmp_path):
    with pytest.raises(TrajpipeError, match="mcap_image"):
        M.McapSink(tmp_path / "a.mcap", image="anotated")
    with pytest.raises(TrajpipeError, match="mcap_image"):
        Config().merged({"mcap_image": "jpeg"})
    with M.McapSink(tmp_path / "b.mcap") as sink:
        with pytest.raises(TrajpipeError, match="timestamps >= 0"):
            sink.write(FrameResult(0, -1.0, []))
        with pytest.raises(TrajpipeError, match="no image"):
            sink.write(FrameResult(0, 1.0, []))
    with pytest.raises(TrajpipeError, match="cannot read MCAP"):
        (tmp_path / "c.mcap").write_bytes(b"not an mcap")
        list(M.read_records(tmp_path / "c.mcap"))


def test_without_the_robotics_extra_the_cli_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    monkeypatch.setitem(sys.modules, "mcap.writer", None)  # import mcap.writer now fails
    assert main(["run", str(clip), "--output-mcap", str(tmp_path / "o.mcap")]) == 2
    assert capsys.readouterr().err.strip() == f"trajpipe: error: {M.INSTALL_HINT}"
    with pytest.raises(TrajpipeError, match="trajpipe\\[robotics\\]"):
        run_batch([str(clip)], tmp_path / "out", mcap=True)


def test_batch_plans_one_mcap_per_video(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"")
    job, = plan_jobs([str(tmp_path / "a.mp4")], tmp_path / "out", mcap=True)
    assert job.mcap == str((tmp_path / "out" / "a.mcap").resolve()) and job.mcap in job.outputs
    assert plan_jobs([str(tmp_path / "a.mp4")], tmp_path / "out")[0].mcap is None


def test_points_laid_out_by_numpy_decode_as_the_sdk_encodes_them():
    """The fast path of the annotations' points against foxglove-sdk encoding the same annotation."""
    import foxglove.messages as fm
    from mcap.records import Schema
    from mcap_protobuf.decoder import DecoderFactory

    schema = fm.ImageAnnotations.get_schema()
    decode = DecoderFactory().decoder_for("protobuf", Schema(id=1, name=schema.name, encoding=schema.encoding, data=bytes(schema.data)))
    stamp = fm.Timestamp(sec=3, nsec=250)
    points = np.array([[1.5, -2.0], [1e6, 0.125], [0.0, 0.0]])
    head = M._points_head("LineStrip", (0, 255, 255), 0.42, 1.5)
    fast = M._points_annotations([(head, points), (head, np.array([[1.0, np.nan]]))],
                                 fm.PointsAnnotation(timestamp=stamp).encode())
    sdk = fm.ImageAnnotations(points=[fm.PointsAnnotation(
        timestamp=stamp, type=fm.PointsAnnotationType.LineStrip, points=[fm.Point2(x=x, y=y) for x, y in points.tolist()],
        outline_color=M._colour((0, 255, 255), 0.42), thickness=1.5)]).encode()
    assert decode(fast) == decode(sdk)  # the polyline with a NaN point is left out
    assert [[p.x, p.y] for p in decode(fast).points[0].points] == points.tolist()
