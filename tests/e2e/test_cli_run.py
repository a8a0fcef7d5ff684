"""``trajpipe run`` as a user runs it: a real process, real detector, real video."""

import json
import os
import signal
import subprocess
import sys
import time

import cv2


def trajpipe(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "trajpipe", "run", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_jsonl_to_stdout_with_logs_on_stderr(concourse, detector_weights):
    proc = trajpipe(concourse, "--model", detector_weights, "--forecaster", "cv", "--max-frames", 5,
                    "--output-jsonl", "-")
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["frame"] for r in records] == [0, 1, 2, 3, 4]
    assert "Processed 5 frames" in err
    first = err.splitlines()[0]  # the weights in use and what runs them
    assert first.startswith(f"trajpipe: detector {detector_weights} (") and ("OpenVINO" in first or "LiteRT" in first)
    assert "XNNPACK" not in err  # the runtime's set-up chatter is held back


def test_the_first_line_names_ultralytics_where_it_runs_the_network(concourse, detector_weights):
    proc = trajpipe(concourse, "--model", detector_weights, "--forecaster", "cv", "--max-frames", 2,
                    "--output-jsonl", "-", "detector_runtime=ultralytics")
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert err.splitlines()[0] == f"trajpipe: detector {detector_weights} (Ultralytics, LiteRT)"
    assert "XNNPACK" not in err


def test_show_without_a_display_carries_on_headless(concourse, detector_weights, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = trajpipe(concourse, "--model", detector_weights, "--forecaster", "cv", "--max-frames", 3, "--show",
                    "--output-video", tmp_path / "o.mp4", env=env)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert "--show needs a display and none is available; continuing headless" in err
    assert cv2.VideoCapture(str(tmp_path / "o.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) == 3


def test_sigint_finalises_video_and_json_lines(concourse, detector_weights, tmp_path):
    video, jsonl = tmp_path / "o.mp4", tmp_path / "o.jsonl"
    partial = tmp_path / ".o.partial.jsonl"
    proc = trajpipe(concourse, "--model", detector_weights, "--forecaster", "cv",
                    "--output-video", video, "--output-jsonl", jsonl)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not partial.exists() or partial.read_text().count("\n") < 20):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Stopped early by interrupt" in out
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert 20 <= len(records) < 341
    assert [r["frame"] for r in records] == list(range(len(records)))
    cap = cv2.VideoCapture(str(video))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == len(records)
    assert cap.read()[0]
    assert not partial.exists()


def test_a_killed_run_leaves_no_copy_of_the_weights(concourse, detector_weights, tmp_path):
    """The detector's private copy of the weights is gone once the model is loaded: even SIGKILL,
    which runs no finalizer, leaves nothing in the temp directory."""
    temp, jsonl = tmp_path / "tmp", tmp_path / ".o.partial.jsonl"
    temp.mkdir()
    proc = trajpipe(concourse, "--model", detector_weights, "--forecaster", "cv", "--output-video", "none",
                    "--output-jsonl", tmp_path / "o.jsonl", env={**os.environ, "TMPDIR": str(temp)})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not jsonl.exists() or jsonl.read_text().count("\n") < 3):
        time.sleep(0.1)
    proc.kill()
    proc.communicate(timeout=60)
    assert jsonl.exists(), "the run never got going"
    assert not [p.name for p in temp.iterdir() if "trajpipe" in p.name]
