"""Every bad input: one line on stderr, a non-zero exit, no traceback, nothing overwritten."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from trajpipe.app.cli import main


def run_cli(capsys, *argv):
    code = main(["run", *map(str, argv)])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def assert_one_line_error(code, err, message):
    assert code == 2
    assert len(err) == 1 and err[0].startswith("trajpipe: error:"), err
    assert message in err[0]


@pytest.fixture()
def clip(tmp_path):
    """A real 3-frame video, enough to pass the source checks."""
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for _ in range(3):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    return path


def test_missing_source(capsys, tmp_path):
    assert_one_line_error(*run_cli(capsys, tmp_path / "nope.mp4"), "source not found")


@pytest.mark.parametrize("content", [os.urandom(4096), b"just some text\n"])
def test_source_that_is_not_a_video(capsys, tmp_path, content):
    path = tmp_path / "fake.mp4"
    path.write_bytes(content)
    assert_one_line_error(*run_cli(capsys, path), "not a video file")


def test_video_with_zero_frames(capsys, tmp_path):
    path = tmp_path / "empty.avi"
    cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48)).release()
    assert_one_line_error(*run_cli(capsys, path), "no frames")


def test_unknown_config_key_and_invalid_value(capsys, clip):
    assert_one_line_error(*run_cli(capsys, clip, "confidence=0.3"), "unknown config key 'confidence'")
    assert_one_line_error(*run_cli(capsys, clip, "conf=1.5"), "conf")


def test_output_in_missing_directory_or_equal_to_input(capsys, clip, tmp_path):
    before = clip.read_bytes()
    assert_one_line_error(*run_cli(capsys, clip, "--output-video", tmp_path / "no" / "o.mp4"), "does not exist")
    assert_one_line_error(*run_cli(capsys, clip, "--output-video", clip), "overwrite its input")
    assert_one_line_error(*run_cli(capsys, clip, "--output-jsonl", clip), "overwrite its input")
    assert clip.read_bytes() == before


def test_missing_weights(capsys, clip, tmp_path):
    code, err = run_cli(capsys, clip, "--forecaster", "cv", "--model", tmp_path / "nope.tflite", "--output-video", "none")
    assert_one_line_error(code, err, "model weights not found")


def test_corrupt_weights_are_an_error_and_are_not_deleted(capsys, clip, tmp_path):
    weights = tmp_path / "broken.tflite"
    weights.write_bytes(os.urandom(2048))
    code, err = run_cli(capsys, clip, "--forecaster", "cv", "--model", weights, "--output-jsonl", tmp_path / "o.jsonl")
    assert_one_line_error(code, err, "cannot load model weights")
    assert weights.exists()
    assert not (tmp_path / "o.jsonl").exists()


def test_missing_forecaster_checkpoint(capsys, clip, tmp_path):
    code, err = run_cli(capsys, clip, "--forecaster", tmp_path / "nope.pt", "--output-video", "none")
    assert_one_line_error(code, err, "forecaster checkpoint not found")


def test_real_process_exit_code_and_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "trajpipe", "run", str(tmp_path / "missing.mp4")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"trajpipe: error: source not found: {tmp_path / 'missing.mp4'}"
    debug = subprocess.run([sys.executable, "-m", "trajpipe", "--debug", "run", str(tmp_path / "missing.mp4")],
                           capture_output=True, text=True, timeout=120)
    assert debug.returncode == 2 and "Traceback" in debug.stderr  # the same exit code, with the traceback


def test_help_and_input_errors_do_not_load_torch_or_ultralytics():
    # A fresh interpreter: the test process itself has long imported both.
    script = ("import sys\nfrom trajpipe.app.cli import main\n"
              "code = main(['run', 'no_such_video.mp4'])\n"
              "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
              "print(code, 'torch' in sys.modules, 'ultralytics' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines()[-1] == "2 False False", done.stdout + done.stderr


# ------------------------------------------------- the newcomer's bad inputs: named, exit 2, nothing written


def assert_nothing_written(directory):
    assert not [p.name for p in directory.iterdir() if p.suffix in (".jsonl", ".mp4", ".mcap")], list(directory.iterdir())


def test_malformed_homography_points_names_the_key(capsys, clip, tmp_path):
    code, err = run_cli(capsys, clip, "homography_points=[[100,470,2,1.5],[750,470", "--output-jsonl", tmp_path / "o.jsonl")
    assert_one_line_error(code, err, "invalid value for homography_points=")
    assert_nothing_written(tmp_path)


def test_unwritable_jsonl_output_fails_before_the_models_load(capsys, clip, tmp_path, monkeypatch):
    import trajpipe.pipeline

    def no_models(*args, **kwargs):
        raise AssertionError("the models were loaded")

    monkeypatch.setattr(trajpipe.pipeline, "create_detector", no_models)
    code, err = run_cli(capsys, clip, "--output-jsonl", "/proc/trajpipe.jsonl", "--output-video", "none")
    assert_one_line_error(code, err, "cannot write JSON-lines output /proc/trajpipe.jsonl")
    code, err = run_cli(capsys, clip, "--output-video", "/proc/trajpipe.mp4", "--output-jsonl", "none")
    assert_one_line_error(code, err, "cannot write video output /proc/trajpipe.mp4")


def test_bit_flipped_tflite_keeps_the_runtime_s_reason(capsys, clip, tmp_path, detector_weights):
    data = bytearray(detector_weights.read_bytes())
    for i in range(8, 200):  # the FlatBuffer's header and tables: flipped bits
        data[i] ^= 0x55
    weights = tmp_path / "flipped.tflite"
    weights.write_bytes(bytes(data))
    code, err = run_cli(capsys, clip, "--forecaster", "cv", "--model", weights, "--output-jsonl", tmp_path / "o.jsonl")
    assert_one_line_error(code, err, f"cannot load model weights {weights}")
    assert "Exception from src" not in err[0] and not err[0].rstrip().endswith(":")
    # LiteRT (timed first) or OpenVINO says why: "not a valid Flatbuffer", "corrupted or malformed"
    assert any(word in err[0] for word in ("corrupted", "malformed", "failed", "not a valid")), err[0]
    assert_nothing_written(tmp_path)


def test_text_file_as_pt_names_the_user_s_file(capsys, clip, tmp_path):
    weights = tmp_path / "model.pt"
    weights.write_text("this is not a model\n")
    code, err = run_cli(capsys, clip, "--forecaster", "cv", "--model", weights, "--output-jsonl", tmp_path / "o.jsonl")
    assert_one_line_error(code, err, f"cannot load model weights {weights}: {weights} is not a loadable checkpoint")
    assert "ERROR" not in err[0] and "❌" not in err[0] and "trajpipe-weights-" not in err[0]
    assert weights.read_text() == "this is not a model\n"
    assert not (tmp_path / "o.jsonl").exists()


def test_cuda_device_without_cuda_is_named_before_the_models_load(capsys, clip, tmp_path, monkeypatch):
    import torch
    import trajpipe.pipeline

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.setattr(trajpipe.pipeline, "create_detector", lambda *a, **k: pytest.fail("the detector was loaded"))
    code, err = run_cli(capsys, clip, "device=cuda:0", "--output-jsonl", tmp_path / "o.jsonl")
    assert_one_line_error(code, err, "device=cuda:0: no CUDA device on this machine")
    assert "frame of shape" not in err[0]
    assert_nothing_written(tmp_path)


def test_missing_webcam_is_one_line_before_the_models_load(tmp_path):
    """A fresh process (the OpenCV line would be on file descriptor 2): our line only, and no model loaded."""
    script = ("import sys\nfrom trajpipe.app.cli import main\n"
              f"code = main(['run', '97', '--output-jsonl', {str(tmp_path / 'o.jsonl')!r}])\n"
              "print(code, 'ultralytics' in sys.modules, 'openvino' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines()[-1] == "2 False False", done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == ["trajpipe: error: cannot open live source 97: no such camera, "
                                                "or the stream is not reachable"], done.stderr
    assert_nothing_written(tmp_path)
