"""trajpipe's own detector stage (the network on LiteRT or OpenVINO, chosen by measurement) against
Ultralytics' own LiteRT path, on real frames."""

import shutil
import sys

import cv2
import numpy as np
import pytest

from conftest import find_asset
from trajpipe import Pipeline
from trajpipe.video.detector import YoloTracker, create_detector
from trajpipe.video.network_tracker import NetworkTracker
from trajpipe.video.runtime_choice import usable_cores

FRAMES = (0, 60, 120, 180, 240, 300)
CONF = 0.25


def frames_of(video, indices):
    capture = cv2.VideoCapture(str(video))
    frames = []
    for index in range(max(indices) + 1):
        ok, frame = capture.read()
        if index in indices:
            frames.append(frame)
    return frames


def box_iou(a, b):
    """(len(a), len(b)) IoU of xyxy boxes."""
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None] - inter)


def matched_ious(reference, candidate):
    """For each reference box, the IoU of its greedy match among candidate boxes of the same class (0: none)."""
    ious = box_iou(reference[:, :4], candidate[:, :4])
    ious[reference[:, None, 5] != candidate[None, :, 5]] = 0
    best = np.zeros(len(reference))
    for _ in range(min(len(reference), len(candidate))):
        i, j = np.unravel_index(np.argmax(ious), ious.shape)
        if ious[i, j] <= 0:
            break
        best[i] = ious[i, j]
        ious[i, :], ious[:, j] = 0, 0
    return best


# LiteRT is the runtime Ultralytics runs the file on: the same boxes but for rounding (its thread count
# may split a layer's sums differently); OpenVINO's int8 kernels round otherwise.
SHARE_MATCHED = {"litert": 0.99, "openvino": 0.95}


@pytest.mark.parametrize("runtime", ["litert", "openvino"])
@pytest.mark.parametrize("weights_name", ["yolov8n_int8.tflite", "yolo26n_int8_320.tflite"])
def test_the_detector_stage_finds_the_boxes_ultralytics_finds(runtime, weights_name, concourse, tmp_path):
    if runtime == "openvino":
        pytest.importorskip("openvino", reason="openvino is not installed")
    source = find_asset("weights", weights_name)
    if source is None:
        pytest.skip(f"weights/{weights_name} not available")
    weights = tmp_path / weights_name
    shutil.copyfile(source, weights)
    from ultralytics import YOLO

    litert = YOLO(str(weights), task="detect")
    stage = create_detector(str(weights), "bytetrack", CONF, 0.7, classes=[], runtime=runtime)
    assert isinstance(stage, NetworkTracker) and stage.runtime.lower() == runtime
    ious, counts = [], []
    for frame in frames_of(concourse, FRAMES):
        reference = litert.predict(frame, conf=CONF, iou=0.7, verbose=False)[0].boxes.data.numpy()
        found = stage.detect(frame)
        ious.append(np.concatenate([matched_ious(reference, found), matched_ious(found, reference)]))
        counts.append((len(reference), len(found)))
    stage.close()
    ious = np.concatenate(ious)
    assert sum(c[0] for c in counts) >= 20, counts  # real people were found
    share = (ious >= 0.9).mean()
    print(f"{runtime} {weights_name}: {share:.4f} of {len(ious)} boxes matched at IoU >= 0.9")
    assert share >= SHARE_MATCHED[runtime], f"{share:.3f} of boxes matched at IoU >= 0.9; counts {counts}"


def test_video_files_detect_ahead_and_give_the_same_results_as_frame_by_frame(detector_weights, concourse):
    """stream() finds boxes of the next frames in other threads; results stay in order and equal to
    process() called on each frame in turn."""
    with Pipeline(model=str(detector_weights), forecaster="cv") as pipe:
        streamed = [r.to_json() for r in pipe.stream(str(concourse), max_frames=40)]
        pipe.reset()
        capture = cv2.VideoCapture(str(concourse))
        fps = capture.get(cv2.CAP_PROP_FPS)
        one_by_one = [pipe.process(capture.read()[1], timestamp=i / fps, frame_index=i).to_json() for i in range(40)]
    assert [r["frame"] for r in streamed] == list(range(40))
    for a, b in zip(streamed, one_by_one):
        a.pop("timestamp"), b.pop("timestamp")  # the file's own clock against i / fps
        assert a == b


def test_without_openvino_auto_runs_litert_on_every_core(detector_weights, concourse, monkeypatch):
    """As on ARM: no OpenVINO, so auto times LiteRT at 1 .. cores threads and runs the best of them."""
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino now raises ImportError
    detector = create_detector(str(detector_weights), "bytetrack", classes=["person"])
    assert isinstance(detector, NetworkTracker) and detector.runtime == "LiteRT"
    if usable_cores() > 1:  # every core count timed: one to all threads, and one thread on each of several frames
        timed = [(t.runtime, t.threads, t.copies) for t in detector.table.timings]
        assert timed == [("litert", n, 1) for n in range(1, usable_cores() + 1)] + [
            ("litert", n, usable_cores() // n) for n in range(1, usable_cores() + 1) if usable_cores() // n > 1]
    assert len(detector(frames_of(concourse, (0,))[0])) > 0
    detector.close()
    with pytest.raises(Exception, match="openvino is not installed"):
        create_detector(str(detector_weights), "bytetrack", runtime="openvino")


def test_ultralytics_runs_what_the_stage_cannot(detector_weights):
    detector = create_detector(str(detector_weights), "bytetrack", classes=["person"], runtime="ultralytics")
    assert isinstance(detector, YoloTracker) and detector.runtime == "Ultralytics"
    detector.close()
