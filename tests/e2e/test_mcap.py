"""MCAP recordings from the real detector on the concourse video, read back with the ``mcap`` reader
and the ROS 2 and protobuf decoders: every channel, every frame, the JSON lines' timestamps and
forecasts; an interrupted run; bad input."""

import json
import math
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from conftest import REPO, read_mcap as read
from trajpipe import Pipeline
from trajpipe.app.cli import main
from trajpipe.io import mcap as M
from trajpipe.io.sinks import JsonlSink

FRAMES = 40
FPS = 25
PIXELS_TO_BASE = [[100, 470, 2, 1.5], [750, 470, 2, -1.5], [300, 200, 8, 1.5], [560, 200, 8, -1.5]]  # pixel -> base (m)
CHANNELS = {  # topic: (schema name, schema encoding, message encoding)
    M.TOPIC_IMAGE: ("foxglove.CompressedImage", "protobuf", "protobuf"),
    M.TOPIC_ANNOTATIONS: ("foxglove.ImageAnnotations", "protobuf", "protobuf"),
    M.TOPIC_SCENE: ("foxglove.SceneUpdate", "protobuf", "protobuf"),
    M.TOPIC_TRANSFORM: ("foxglove.FrameTransform", "protobuf", "protobuf"),
    M.TOPIC_MARKERS: ("visualization_msgs/msg/MarkerArray", "ros2msg", "cdr"),
    M.TOPIC_FORECASTS: ("trajpipe.FrameRecord", "jsonschema", "json"),
}
ROUNDED = 0.006  # the JSON lines round positions to 2 decimals


def robot_pose(frame: int) -> tuple[float, float, float]:
    """A robot driving at 0.5 m/s along a gentle left curve (metres, radians)."""
    t = frame / FPS
    return 1.0 + 0.5 * t, -0.5 + 0.05 * t * t, 0.1 * t


@pytest.fixture(scope="module")
def recording(detector_weights, concourse, tmp_path_factory):
    """40 frames in push mode with a ground homography and a robot pose: the MCAP, the JSON lines, the frames."""
    out = tmp_path_factory.mktemp("mcap")
    capture = cv2.VideoCapture(str(concourse))
    frames = []
    with Pipeline(model=str(detector_weights), classes=["person"], homography_points=PIXELS_TO_BASE,
                  min_track_age=0.2) as pipe, M.McapSink.for_pipeline(out / "run.mcap", pipe) as sink, \
            JsonlSink(out / "run.jsonl") as jsonl:
        for frame in range(FRAMES):
            ok, image = capture.read()
            assert ok
            frames.append(image.copy())
            result = pipe.process(image, timestamp=frame / FPS, pose=robot_pose(frame))
            sink.write(result)
            jsonl.write(result.to_json())
    lines = [json.loads(line) for line in (out / "run.jsonl").read_text().splitlines()]
    return out / "run.mcap", lines, frames


def test_every_channel_has_its_schema_and_one_message_per_frame_at_the_frames_timestamp(recording):
    path, lines, _ = recording
    messages, summary = read(path)
    channels = {c.topic: c for c in summary.channels.values()}
    assert set(channels) == set(CHANNELS)
    for topic, (schema_name, schema_encoding, message_encoding) in CHANNELS.items():
        schema = summary.schemas[channels[topic].schema_id]
        assert (schema.name, schema.encoding, channels[topic].message_encoding) == (schema_name, schema_encoding, message_encoding)
        assert summary.statistics.channel_message_counts[channels[topic].id] == FRAMES
        times = [log_time for log_time, _ in messages[topic]]
        np.testing.assert_allclose(np.array(times) / 1e9, [line["timestamp"] for line in lines], atol=1e-9)
    # the Foxglove schemas are the published ones (as foxglove-sdk ships them)
    import foxglove.messages as fm

    for topic, message_class in ((M.TOPIC_IMAGE, fm.CompressedImage), (M.TOPIC_SCENE, fm.SceneUpdate)):
        assert summary.schemas[channels[topic].schema_id].data == bytes(message_class.get_schema().data)


def test_forecast_records_are_the_json_lines(recording):
    path, lines, _ = recording
    messages, _ = read(path)
    assert [record for _, record in messages[M.TOPIC_FORECASTS]] == lines
    assert sum(1 for line in lines for t in line["tracks"] if "forecast" in t) > 50  # something was forecast


def test_images_and_annotations_decode_and_match_the_frames(recording):
    path, lines, frames = recording
    messages, _ = read(path)
    for (_, image), (_, annotations), line, frame in zip(messages[M.TOPIC_IMAGE], messages[M.TOPIC_ANNOTATIONS],
                                                         lines, frames):
        assert image.format == "jpeg" and image.frame_id == M.FRAME_CAMERA
        decoded = cv2.imdecode(np.frombuffer(image.data, np.uint8), cv2.IMREAD_COLOR)
        assert decoded.shape == frame.shape
        assert np.abs(decoded.astype(int) - frame).mean() < 4  # the raw frame, JPEG-compressed
        assert annotations.texts and [t.text for t in annotations.texts] == [f"{t['id']} {t['class']}" for t in line["tracks"]]
        strips = [[(p.x, p.y) for p in a.points] for a in annotations.points]
        for track in line["tracks"]:
            forecast = track.get("forecast")
            if forecast is None or None in np.ravel(forecast["xy"]):
                continue
            expected = np.vstack([track["point"], forecast["xy"]])  # from the track's position
            assert any(len(s) == len(expected) and np.allclose(s, expected, atol=ROUNDED) for s in strips), track["id"]
    assert any(a.circles for _, a in messages[M.TOPIC_ANNOTATIONS])  # the 1-sigma end circles


def test_scene_markers_and_transform_are_in_the_world_frame(recording):
    path, lines, _ = recording
    messages, _ = read(path)
    checked = 0
    for frame, ((_, scene), (_, markers), (_, transform), line) in enumerate(zip(
            messages[M.TOPIC_SCENE], messages[M.TOPIC_MARKERS], messages[M.TOPIC_TRANSFORM], lines)):
        x, y, yaw = robot_pose(frame)
        assert (transform.parent_frame_id, transform.child_frame_id) == (M.FRAME_WORLD, M.FRAME_BASE)
        assert transform.translation.x == pytest.approx(x) and transform.translation.y == pytest.approx(y)
        assert 2 * math.atan2(transform.rotation.z, transform.rotation.w) == pytest.approx(yaw)
        assert [d.type for d in scene.deletions] == [1]  # ALL: the entities of earlier frames go
        entities = {e.id: e for e in scene.entities}
        by_ns = {}
        for marker in markers.markers[1:]:
            by_ns.setdefault(marker.ns, {})[marker.id] = marker
        assert markers.markers[0].action == 3  # DELETEALL
        assert all(m.header.frame_id == M.FRAME_WORLD for m in markers.markers)
        on_ground = [t for t in line["tracks"] if t.get("point_world") and None not in t["point_world"]]
        assert set(entities) == {f"track/{t['id']}" for t in on_ground}
        for track in on_ground:
            entity = entities[f"track/{track['id']}"]
            assert entity.frame_id == M.FRAME_WORLD
            position = entity.spheres[0].pose.position
            assert (position.x, position.y) == pytest.approx(track["point_world"], abs=ROUNDED)
            forecast = track.get("forecast")
            if forecast is None:
                continue
            scene_path = [(p.x, p.y) for p in entity.lines[0].points]
            marker_path = [(p.x, p.y) for p in by_ns["forecast"][track["id"]].points]
            expected = np.vstack([track["point_world"], forecast["xy_world"]])
            np.testing.assert_allclose(scene_path, expected, atol=ROUNDED)
            np.testing.assert_allclose(marker_path, expected, atol=ROUNDED)
            for k, mode in enumerate(forecast.get("modes", [])):
                np.testing.assert_allclose([(p.x, p.y) for p in by_ns[f"mode/{k}"][track["id"]].points][1:],
                                           mode["xy_world"], atol=ROUNDED)
                assert by_ns[f"mode/{k}"][track["id"]].color.a == pytest.approx(max(mode["p"], M.MIN_MODE_ALPHA), abs=2e-3)
            sigma = forecast.get("sigma_world")
            if sigma:  # world metres from a pose: independent axes, so the ellipse's diameters are 2 sigma
                cylinder = by_ns["sigma"][track["id"]]
                assert sorted([cylinder.scale.x, cylinder.scale.y]) == pytest.approx(sorted(2 * np.array(sigma[-1])), rel=1e-3, abs=1e-3)
            checked += 1
    assert checked > 50


def test_run_command_with_ground_and_annotated_images(detector_weights, concourse, tmp_path):
    """The command line: a fixed camera's ground plane (frame ``ground``, no transform), annotated images."""
    code = main(["run", str(concourse), "--model", str(detector_weights), "--max-frames", "12", "--quiet",
                 "--output-mcap", str(tmp_path / "o.mcap"), "--output-jsonl", str(tmp_path / "o.jsonl"),
                 "--output-video", "none", "mcap_image=annotated", "min_track_age=0.2",
                 f"homography_points={json.dumps(PIXELS_TO_BASE)}"])
    assert code == 0
    messages, _ = read(tmp_path / "o.mcap")
    assert set(messages) == set(CHANNELS) - {M.TOPIC_TRANSFORM}
    assert all(len(v) == 12 for v in messages.values())
    lines = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert [r for _, r in messages[M.TOPIC_FORECASTS]] == lines
    assert all(e.frame_id == M.FRAME_GROUND for _, s in messages[M.TOPIC_SCENE] for e in s.entities)
    capture = cv2.VideoCapture(str(concourse))
    raw = capture.read()[1]
    first = cv2.imdecode(np.frombuffer(messages[M.TOPIC_IMAGE][0][1].data, np.uint8), cv2.IMREAD_COLOR)
    assert np.abs(first.astype(int) - raw).mean() > 1  # the overlay is drawn in (boxes, HUD)


@pytest.mark.parametrize("second_signal", [False, True])
def test_interrupted_run_leaves_a_readable_mcap_or_none(detector_weights, concourse, tmp_path, second_signal):
    target = tmp_path / "live.mcap"
    partial = tmp_path / ".live.partial.mcap"
    process = subprocess.Popen([sys.executable, "-m", "trajpipe", "run", str(concourse), "--model", str(detector_weights),
                                "--output-mcap", str(target), "--output-video", "none", "--output-jsonl", "none", "--quiet"],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 120
    while not (partial.exists() and partial.stat().st_size > 200_000):  # some frames written
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    if second_signal:
        time.sleep(0.05)
        process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    # one Ctrl-C: a clean stop (130); a second one stops at once, which may be by the signal itself
    assert process.returncode in ((130, -signal.SIGINT) if second_signal else (130,)), err
    assert not partial.exists()
    if target.exists():  # the summary is there, and every message reads
        messages, summary = read(target)
        assert summary is not None and summary.statistics.message_count == sum(len(v) for v in messages.values())
        counts = {topic: len(v) for topic, v in messages.items()}
        assert len(set(counts.values())) == 1 and counts[M.TOPIC_IMAGE] > 0, counts  # whole frames only
    else:
        assert second_signal  # a single Ctrl-C always finishes the file


def test_bad_mcap_outputs_fail_in_one_line_before_any_model_loads(concourse, tmp_path, capsys):
    missing_weights = ["--model", str(tmp_path / "no.tflite")]  # would be the error if the model were loaded first
    cases = [
        (["--output-mcap", str(tmp_path / "missing" / "o.mcap")], "MCAP output directory does not exist"),
        (["--output-mcap", "/proc/trajpipe.mcap"], "cannot write MCAP output /proc/trajpipe.mcap"),
        (["--output-mcap", str(tmp_path / "o.mcap"), "mcap_image=anotated"], "invalid value for mcap_image='anotated'"),
        (["--output-mcap", str(tmp_path / "o.txt")], "MCAP output must end in .mcap"),
    ]
    for argv, message in cases:
        code = main(["run", str(concourse), *missing_weights, *argv])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and message in err[0], (argv, err)
    assert not list(tmp_path.iterdir())
