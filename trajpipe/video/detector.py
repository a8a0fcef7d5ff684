"""Detection + tracking stage, one frame at a time: trajpipe's own detector stage (the network on the
runtime measured fastest here, LiteRT or OpenVINO, feeding Ultralytics' tracker:
:class:`~trajpipe.video.network_tracker.NetworkTracker`) where it can run the weights, else Ultralytics'
own ``YOLO.track`` (:class:`YoloTracker`). :func:`create_detector` chooses."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import weakref
from pathlib import Path

import numpy as np

from ..core.detections import Detections
from ..errors import TrajpipeError, first_line, library_reason
from ..resources import source_checkout
from ..tracking.kalman_warp import follow_camera_motion
from ..tracking.tracker import resolve_tracker
from .network import class_ids
from .native_log import quiet_runtime_log

DEFAULT_WEIGHTS = "yolov8n_int8.tflite"
FALLBACK_WEIGHTS = "yolo26n.pt"  # Ultralytics downloads it on first use


def resolve_weights(spec: str | None) -> str:
    """The detector weights to load: ``spec`` if given, else the bundled int8 YOLOv8n (``weights/`` in
    the working directory, or in the repository trajpipe runs from), else Ultralytics' own download.
    The package does not ship it (``make assets`` copies it where the bundled assets exist)."""
    if spec:
        if Path(spec).suffix and not Path(spec).is_file() and spec != FALLBACK_WEIGHTS:
            raise TrajpipeError(f"model weights not found: {spec}")
        return spec
    candidates = [Path("weights") / DEFAULT_WEIGHTS]
    if source_checkout() is not None:
        candidates.append(source_checkout() / "weights" / DEFAULT_WEIGHTS)
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    print(
        f"trajpipe: weights/{DEFAULT_WEIGHTS} not found (run `make assets` where the bundled assets exist); "
        f"falling back to Ultralytics' {FALLBACK_WEIGHTS}, downloaded on first use",
        file=sys.stderr,
    )
    return FALLBACK_WEIGHTS


RUNTIMES = ("auto", "litert", "openvino", "ultralytics")
ULTRALYTICS_BACKENDS = {".tflite": "LiteRT", ".pt": "PyTorch", ".onnx": "ONNX Runtime", ".engine": "TensorRT",
                        "_openvino_model": "OpenVINO"}


RUNTIME_SPEC = re.compile(r"(litert|openvino)(?::(\d+)(?:x(\d+))?)?")


def parse_runtime(spec: str, threads: int | None = None) -> tuple[str, int | None, int | None]:
    """``detector_runtime`` as (runtime, threads, frames at once): ``auto``, ``ultralytics``, ``litert``,
    ``openvino``, or one candidate in full as :func:`~trajpipe.video.runtime_choice.Timing.name` writes
    it (``litert:2``, ``litert:1x2``: two frames at once, one thread each), as ``trajpipe info`` shows them."""
    if spec in RUNTIMES:
        return spec, threads, None
    match = RUNTIME_SPEC.fullmatch(str(spec))
    if match is None or (match.group(1) == "openvino" and match.group(3)):
        raise TrajpipeError(f"detector_runtime must be one of {', '.join(RUNTIMES)} or a candidate such as "
                            f"litert:2 or litert:1x2, got {spec!r}")
    runtime, count, copies = match.groups()
    return runtime, int(count) if count else threads, int(copies) if copies else (1 if count else None)


def create_detector(model: str | None = None, tracker: str = "bytetrack", conf: float = 0.25, iou: float = 0.7,
                    imgsz: int | None = None, classes: list[str] | None = None, device: str | None = None,
                    runtime: str = "auto", threads: int | None = None):
    """The detector + tracker for these settings (the config keys of the same names; ``runtime`` is
    ``detector_runtime``, ``threads`` ``detector_threads``).

    ``auto`` runs the network in trajpipe's own detector stage on the runtime measured fastest on this
    machine (LiteRT at 1 .. cores threads, OpenVINO where it is installed: :mod:`~trajpipe.video.runtime_choice`)
    where the weights are a ``.tflite`` or ``.onnx`` file and neither ``imgsz`` nor a ``device`` asks for
    something else; otherwise Ultralytics runs it (its ``.pt`` weights, GPUs, ``imgsz``). ``litert`` and
    ``openvino`` insist, with an error where they cannot.
    """
    from .device import check_device
    from .network_tracker import NetworkTracker, stage_runtimes

    check_device(device)  # before anything loads
    runtime, threads, copies = parse_runtime(runtime, threads)
    weights = resolve_weights(model)
    if runtime != "ultralytics":
        runtimes, reason = stage_runtimes(runtime, weights, imgsz, device)
        if runtimes:
            return NetworkTracker(weights, tracker, conf, iou, classes, tuple(runtimes), threads, copies)
        if runtime != "auto":
            raise TrajpipeError(f"detector_runtime={runtime}: {reason}")
    return YoloTracker(weights, tracker, conf, iou, imgsz, classes, device)


class YoloTracker:
    """Runs ``YOLO.track(frame, persist=True)`` so that trajpipe owns the frame loop and the clock."""

    runtime = "Ultralytics"

    def __init__(self, model: str | None = None, tracker: str = "bytetrack", conf: float = 0.25,
                 iou: float = 0.7, imgsz: int | None = None, classes: list[str] | None = None,
                 device: str | None = None):
        self.weights = resolve_weights(model)
        self.tracker = resolve_tracker(tracker)
        # Ultralytics deletes a weights file it fails to load: it only ever sees a private copy, removed
        # as soon as the model is in memory, so that nothing is left in the temp directory whatever
        # happens later (no close(), a killed process). Where the copy cannot be removed while loaded
        # (Windows keeps mapped files), the finalizer tries again at close(), garbage collection or exit.
        self._tmpdir = tempfile.mkdtemp(prefix="trajpipe-weights-")
        self._remove_copy = weakref.finalize(self, shutil.rmtree, self._tmpdir, ignore_errors=True)
        try:
            self._load(classes, conf, iou, imgsz, device)
        finally:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            if not os.path.exists(self._tmpdir):
                self._remove_copy.detach()  # removed: no later call may delete a directory that is no longer ours

    def _load(self, classes, conf, iou, imgsz, device) -> None:
        """Load the model from the private copy of the weights and run it once."""
        os.environ.setdefault("YOLO_VERBOSE", "False")  # trajpipe reports progress itself
        from ultralytics import YOLO

        source = Path(self.weights)
        load_path = self.weights
        if source.is_file():
            load_path = str(Path(self._tmpdir) / source.name)
            shutil.copyfile(source, load_path)
        try:
            self.model = YOLO(load_path, task="detect")
            with quiet_runtime_log():  # reading the names sets the runtime up, which announces its CPU delegate
                self.names: dict[int, str] = dict(self.model.names)
        except Exception as exc:  # Ultralytics raises many types for unreadable weights; it names the private copy
            reason = library_reason(exc).replace(load_path, str(self.weights))
            raise TrajpipeError(f"cannot load model weights {self.weights}: {reason}") from exc
        self.class_ids = class_ids(self.names, classes)
        self.predict_args = dict(conf=conf, iou=iou, classes=self.class_ids, verbose=False, persist=True,
                                 tracker=self.tracker)
        if imgsz is not None:
            self.predict_args["imgsz"] = imgsz
        if device is not None:  # passed as spelled (cpu, 0, cuda:0, ...): Ultralytics checks it
            self.predict_args["device"] = device
        # The first inference sets up the backend (over a second); pay it now, not on a live frame. It
        # also reads the weights file for the last time: Ultralytics loads it again only when the
        # arguments of its predictor change, and predict_args never change after this call.
        self(np.zeros((480, 640, 3), np.uint8))
        self.reset()

    def __call__(self, frame_bgr: np.ndarray) -> Detections:
        try:
            boxes = self.model.track(frame_bgr, **self.predict_args)[0].boxes
        except Exception as exc:
            raise TrajpipeError(f"detector failed on a frame of shape {frame_bgr.shape}: {first_line(exc)}") from exc
        if boxes is None or boxes.id is None or len(boxes) == 0:
            return Detections.empty()
        return Detections(
            xyxy=boxes.xyxy.cpu().numpy().astype(np.float32),
            confidence=boxes.conf.cpu().numpy().astype(np.float32),
            class_id=boxes.cls.cpu().numpy().astype(np.int64),
            tracker_id=boxes.id.cpu().numpy().astype(np.int64),
        )

    def describe(self) -> str:
        """The weights and what runs them (Ultralytics' backend for their format), for the run's first line."""
        name = str(self.weights).rstrip("/")
        backend = next((b for suffix, b in ULTRALYTICS_BACKENDS.items() if name.endswith(suffix)), None)
        return f"{self.weights} (Ultralytics{', ' + backend if backend else ''})"

    def follow_camera(self, warp: np.ndarray) -> None:
        """Move the tracker's predicted boxes by the camera's (2, 3) affine or (3, 3) projective warp
        from the previous frame's pixels to the next frame's, before that frame is tracked, so tracks
        survive pans, zooms and rolls (see :func:`~trajpipe.tracking.kalman_warp.warp_kalman_states`). Replaces
        BoT-SORT's own estimate of the same motion (estimated once per frame, not twice)."""
        follow_camera_motion(getattr(self.model.predictor, "trackers", None) or (), warp)

    def lost_track_ids(self) -> list[int]:
        """Ids of the tracks the tracker has lost but still keeps (for its ``track_buffer`` frames),
        hoping to find them again: the people hidden behind something after the last frame."""
        trackers = getattr(self.model.predictor, "trackers", None)
        if not trackers:
            return []
        return [int(track.track_id) for track in trackers[0].lost_stracks]

    def trackers(self) -> list:
        """The Ultralytics trackers behind the ids (none before the first frame; for
        :mod:`trajpipe.tracking.reassociate`)."""
        return list(getattr(self.model.predictor, "trackers", None) or ())

    def reset(self) -> None:
        """Start tracking afresh: new tracker state and ids."""
        predictor = self.model.predictor
        if predictor is not None and getattr(predictor, "trackers", None):
            for tracker in predictor.trackers:
                tracker.reset()

    def close(self) -> None:
        """Release what the detector holds outside the process (the weights' copy, if still there)."""
        self._remove_copy()
