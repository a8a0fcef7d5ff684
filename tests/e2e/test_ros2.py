"""ROS 2 topics over DDS (docs/robotics.md): ``trajpipe run --ros2`` on the concourse video with a ground
plane, received by a subscriber in another process with its own Jazzy types (tests/ros2_subscriber.py);
``cyclonedds typeof`` shows the Jazzy field names. Loopback only, a domain id of its own per run."""

import json
import math
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import REPO

pytest.importorskip("cyclonedds", reason="the robotics extra (cyclonedds) is not installed")

FRAMES = 40
PIXELS_TO_GROUND = [[100, 470, 2, 1.5], [750, 470, 2, -1.5], [300, 200, 8, 1.5], [560, 200, 8, -1.5]]  # README's robot example
SUBSCRIBER = REPO / "tests" / "ros2_subscriber.py"
LOOPBACK_URI = ('<CycloneDDS><Domain Id="any"><General><Interfaces><NetworkInterface address="127.0.0.1"/>'
                '</Interfaces><AllowMulticast>false</AllowMulticast></General><Discovery><ParticipantIndex>auto'
                '</ParticipantIndex><MaxAutoParticipantIndex>120</MaxAutoParticipantIndex><Peers><Peer address='
                '"127.0.0.1"/></Peers></Discovery></Domain></CycloneDDS>')


def doc_command(marker: str, concourse, **replace) -> list[str]:
    """The ``trajpipe run`` command of docs/robotics.md whose line holds ``marker``, as argv (the video the
    fixture's, ``replace``: other words swapped), for this test to add its own domain and outputs to."""
    lines = [line for line in (REPO / "docs" / "robotics.md").read_text().splitlines()
             if line.startswith("trajpipe run") and marker in line]
    assert len(lines) == 1, (marker, lines)
    words = [replace.get(word, word) for word in shlex.split(lines[0])]
    return [sys.executable, "-m", "trajpipe", *[str(concourse) if w == "videos/concourse.mp4" else w for w in words[1:]]]


def domain_id() -> int:
    """A domain of this test run's own (ROS 2 allows 0-232; 0-99 left to other users of the machine)."""
    return random.Random(os.getpid()).randint(100, 232)


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def start_subscriber(domain: int, count: int, namespace: str = "/trajpipe") -> subprocess.Popen:
    sub = subprocess.Popen([sys.executable, str(SUBSCRIBER), str(domain), str(count), namespace, "300"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    assert sub.stdout.readline().strip() == "ready", sub.stderr.read()
    return sub


def close(actual, expected, what: str) -> None:
    """DDS carries full float64; the JSON lines round to 2 decimals: rounded, equal within 1e-6."""
    assert len(actual) == len(expected), what
    for a, e in zip(actual, expected):
        assert abs(round(a[0], 2) - e[0]) <= 1e-6 and abs(round(a[1], 2) - e[1]) <= 1e-6, (what, a, e)


def check_frame(markers: dict, objects: dict, record: dict) -> None:
    """A frame's MarkerArray and PredictedObjects against its JSON line: positions, forecasts, modes."""
    assert abs(objects["stamp"] / 1e9 - record["timestamp"]) <= 1e-4 and markers["stamp"] == objects["stamp"]
    assert objects["frame_id"] == markers["frame_id"] == "ground"
    tracks = [t for t in record["tracks"] if t.get("point_world") is not None]
    assert [o["id"] for o in objects["objects"]] == [t["id"] for t in tracks]
    by_kind = {(m["ns"], m["id"]): m for m in markers["markers"]}
    if tracks:
        close(by_kind[("positions", 0)]["points"], [t["point_world"] for t in tracks], "positions")
    for obj, track in zip(objects["objects"], tracks):
        close([obj["position"]], [track["point_world"]], "object position")
        assert obj["label"] == (7 if track["class"] == "person" else obj["label"])
        forecast = track.get("forecast")
        if forecast is None or "xy_world" not in forecast:
            assert obj["paths"] == [] and ("forecast", track["id"]) not in by_kind
            continue
        close(by_kind[("forecast", track["id"])]["points"][1:], forecast["xy_world"], "forecast line")
        modes = [m for m in forecast.get("modes", []) if "xy_world" in m] or [{"p": 1.0, "xy_world": forecast["xy_world"]}]
        assert len(obj["paths"]) == len(modes)
        for k, (path, mode) in enumerate(zip(obj["paths"], modes)):
            close(path["xy"][1:], mode["xy_world"], f"predicted path {k}")
            assert path["xy"][0] == obj["position"]  # the path starts at the track's position (time 0)
            assert abs(path["confidence"] - mode["p"]) <= 0.0005
            assert abs(path["time_step"] - forecast["t"][0]) <= 1e-6
            if mode is not modes[0] or len(modes) > 1:
                close(by_kind[(f"mode/{k}", track["id"])]["points"][1:], mode["xy_world"], f"mode line {k}")


def test_run_publishes_every_frame_to_another_process(tmp_path, concourse, detector_weights):
    domain = domain_id()
    sub = start_subscriber(domain, FRAMES)
    jsonl = tmp_path / "out.jsonl"
    try:
        command = doc_command(f"--max-frames {FRAMES} --ros2", concourse)
        assert f"homography_points={json.dumps(PIXELS_TO_GROUND).replace(' ', '')}" in command
        run = subprocess.run([*command, "--model", str(detector_weights), "--output-jsonl", str(jsonl),
                              "--output-video", "none", f"ros2_domain_id={domain}", "ros2_wait=30"],
                             capture_output=True, text=True, env=env(), timeout=600)
        assert run.returncode == 0, run.stderr
        out, err = sub.communicate(timeout=60)
    finally:
        sub.kill()
    lines = [json.loads(line) for line in out.splitlines()]
    markers = [line for line in lines if line["topic"] == "markers"]
    objects = [line for line in lines if line["topic"] == "objects"]
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(records) == len(markers) == len(objects) == FRAMES, err
    assert sum(len(o["objects"]) for o in objects) > 50  # people were seen, on the ground
    assert sum(bool(o["paths"]) for frame in objects for o in frame["objects"]) > 20  # and forecast
    for frame_markers, frame_objects, record in zip(markers, objects, records):
        check_frame(frame_markers, frame_objects, record)


JAZZY_PREDICTED_OBJECTS = {  # the field names of the Jazzy-era .msg files (ros2_types.py names the sources)
    "PredictedObjects_": ["header", "objects"],
    "PredictedObject_": ["object_id", "existence_probability", "classification", "kinematics", "shape"],
    "PredictedObjectKinematics_": ["initial_pose_with_covariance", "initial_twist_with_covariance",
                                   "initial_acceleration_with_covariance", "predicted_paths"],
    "PredictedPath_": ["path", "time_step", "confidence"],
    "ObjectClassification_": ["label", "probability"],
    "Shape_": ["type", "footprint", "dimensions"],
    "Header_": ["stamp", "frame_id"],
    "Time_": ["sec", "nanosec"],
    "UUID_": ["uuid"],
    "PoseWithCovariance_": ["pose", "covariance"],
    "Pose_": ["position", "orientation"],
    "Polygon_": ["points"],
}


def idl_fields(text: str) -> dict[str, list[str]]:
    """{struct name: its field names in order} of IDL text."""
    structs = {}
    for name, body in re.findall(r"struct\s+(\w+)\s*\{(.*?)\};", text, re.S):
        structs[name] = [re.sub(r"\[.*\]", "", line.split()[-1]).rstrip(";") for line in body.strip().splitlines()
                         if line.strip() and not line.strip().startswith(("@", "//"))]
    return structs


def test_cyclonedds_typeof_shows_the_jazzy_fields(tmp_path):
    domain = domain_id() - 1
    publisher = subprocess.Popen([sys.executable, "-c", (
        "import time\nfrom trajpipe.io.dds import Ros2Publisher\n"
        f"with Ros2Publisher(domain_id={domain}):\n    print('up', flush=True)\n    time.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True, env=env())
    try:
        assert publisher.stdout.readline().strip() == "up"
        cli = REPO.parent / "main" / ".venv" / "bin" / "cyclonedds"
        cli = str(cli) if cli.exists() else os.path.join(os.path.dirname(sys.executable), "cyclonedds")
        typeof = subprocess.run([cli, "typeof", "rt/trajpipe/objects", "--id", str(domain), "--suppress-progress-bar", "--color", "none"],
                                capture_output=True, text=True, timeout=120,
                                env={**env(), "CYCLONEDDS_URI": LOOPBACK_URI, "COLUMNS": "300"})
    finally:
        publisher.kill()
    assert typeof.returncode == 0, typeof.stderr
    fields = idl_fields(typeof.stdout)
    for struct, names in JAZZY_PREDICTED_OBJECTS.items():
        assert fields.get(struct) == names, (struct, fields.get(struct), typeof.stdout)


CAMERA = REPO / "tests" / "ros2_camera.py"
LISTENED = 30


def read_lines(stream, into: list) -> threading.Thread:
    """Collect the lines of ``stream`` on a thread (a process's stderr, read while it runs)."""
    def collect():
        for line in stream:
            into.append(line)
    thread = threading.Thread(target=collect, daemon=True)
    thread.start()
    return thread


def wait_for(lines: list, text: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(text in line for line in lines):
            return True
        time.sleep(0.05)
    return False


def test_listening_to_a_camera_topic_gives_the_tracks_of_the_file(tmp_path, concourse, detector_weights):
    """Frames published by another process (PNG CompressedImage + Odometry), one at a time: the same ids and
    boxes as ``trajpipe run`` on the file, the message stamps as timestamps, the odometry's pose; the
    publisher killed mid-way is an outage, and SIGINT ends the run with its outputs."""
    domain = domain_id() - 2
    common = ["--model", str(detector_weights), "--output-video", "none", f"homography_points={json.dumps(PIXELS_TO_GROUND)}"]
    command = doc_command("ros2:/camera/image_raw/compressed", concourse)
    assert "ros2_odometry=/odom" in command and "--ros2" in command
    listen = subprocess.Popen([*command, "--output-jsonl", str(tmp_path / "listen.jsonl"), "--output-mcap",
                               str(tmp_path / "listen.mcap"), f"ros2_domain_id={domain}", "read_timeout=2",
                               "reconnect_timeout=300", *common[:4]],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    camera = subprocess.Popen([sys.executable, str(CAMERA), str(domain), str(concourse), str(LISTENED)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=REPO / "tests")
    errors, published = [], []
    read_lines(listen.stderr, errors)
    read_lines(camera.stdout, published)
    try:
        assert wait_for(published, "done", 600), (published, "".join(errors))
        camera.kill()  # the robot's camera gone mid-run
        assert wait_for(errors, "outage", 30), "".join(errors)
        listen.send_signal(signal.SIGINT)
        out, _ = listen.communicate(timeout=60)
    finally:
        camera.kill()
        listen.kill()
    assert listen.returncode == 130, "".join(errors)
    assert "1 outage(s)" in out and "Stopped early by interrupt" in out, out
    subprocess.run([sys.executable, "-m", "trajpipe", "run", str(concourse), "--max-frames", str(LISTENED),
                    "--output-jsonl", str(tmp_path / "file.jsonl"), *common], check=True, env=env(), capture_output=True)
    listened = [json.loads(line) for line in (tmp_path / "listen.jsonl").read_text().splitlines()]
    from_file = [json.loads(line) for line in (tmp_path / "file.jsonl").read_text().splitlines()]
    assert len(listened) == len(from_file) == LISTENED
    for heard, read in zip(listened, from_file):
        assert abs(heard["timestamp"] - (1000.0 + read["timestamp"])) <= 2e-4
        assert [(t["id"], t["box"]) for t in heard["tracks"]] == [(t["id"], t["box"]) for t in read["tracks"]]
    assert sum(len(r["tracks"]) for r in listened) > 50
    check_robot_pose(tmp_path / "listen.mcap", listened)


def check_robot_pose(path, records: list) -> None:
    """The MCAP's base transform of each frame is the odometry nearest its stamp (10 ms before it)."""
    from conftest import read_mcap

    messages, _ = read_mcap(path)
    transforms = messages["/trajpipe/transform"]
    assert len(transforms) == len(records)
    for (_, transform), record in zip(transforms, records):
        t = record["timestamp"] - 1000.0 - 0.01
        assert abs(transform.translation.x - 0.5 * t) <= 1e-3
        assert abs(2 * math.atan2(transform.rotation.z, transform.rotation.w) - 0.1 * t) <= 1e-3


def foxglove_client(url: str, frames: int, seconds: float) -> tuple[list, dict]:
    """A client of the Foxglove WebSocket protocol (foxglove.websocket.v1, written from its spec with the
    ``websockets`` package): the channels advertised, and the JSON of the first ``frames`` messages of
    ``/trajpipe/forecasts`` after subscribing to it (binary opcode 1: subscription id uint32, log time
    uint64, payload)."""
    import struct

    from websockets.sync.client import connect

    channels, records = {}, []
    deadline = time.monotonic() + seconds
    # foxglove-sdk 0.30 accepts the protocol under its current name only (foxglove.sdk.v1: the same messages)
    with connect(url, subprotocols=["foxglove.websocket.v1", "foxglove.sdk.v1"], open_timeout=30) as ws:
        while len(records) < frames and time.monotonic() < deadline:
            message = ws.recv(timeout=max(deadline - time.monotonic(), 0.1))
            if isinstance(message, str):
                op = json.loads(message)
                if op["op"] == "advertise":
                    for channel in op["channels"]:
                        channels[channel["topic"]] = channel
                        if channel["topic"] == "/trajpipe/forecasts":
                            ws.send(json.dumps({"op": "subscribe", "subscriptions": [{"id": 7, "channelId": channel["id"]}]}))
            elif message[0] == 1:
                subscription, log_time = struct.unpack_from("<IQ", message, 1)
                assert subscription == 7
                records.append((log_time, json.loads(message[13:])))
    return records, channels


def test_foxglove_live_client_gets_the_json_lines(tmp_path, concourse, detector_weights):
    jsonl = tmp_path / "out.jsonl"
    command = doc_command("--foxglove", concourse, **{"8765": "127.0.0.1:0"})  # any free port
    run = subprocess.Popen([*command, "--model", str(detector_weights), "--output-jsonl", str(jsonl),
                            "--output-video", "none"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    errors: list = []
    read_lines(run.stderr, errors)
    try:
        assert wait_for(errors, "Foxglove live at ws://", 120), "".join(errors)
        url = re.search(r"ws://[\d.]+:\d+", "".join(errors)).group(0)
        received, channels = foxglove_client(url, 20, 300)
        run.communicate(timeout=600)
    finally:
        run.kill()
    assert run.returncode == 0, "".join(errors)
    assert {"/camera/image/compressed", "/camera/annotations", "/trajpipe/scene", "/trajpipe/markers",
            "/trajpipe/forecasts"} <= set(channels)
    assert channels["/trajpipe/markers"]["schemaName"] == "visualization_msgs/msg/MarkerArray"
    assert channels["/trajpipe/forecasts"]["encoding"] == "json"
    records = {r["frame"]: r for r in map(json.loads, jsonl.read_text().splitlines())}
    assert len(received) == 20
    for log_time, record in received:
        assert record == records[record["frame"]]  # the JSON line of that frame, exactly
        assert log_time == round(record["timestamp"] * 1e9)
    assert any(t.get("forecast") for _, r in received for t in r["tracks"])
