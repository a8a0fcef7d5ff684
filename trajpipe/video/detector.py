"""Detection + tracking stage, one frame at a time: the network on OpenVINO feeding Ultralytics' tracker
(:class:`OpenVinoTracker`) where OpenVINO can run the weights, else Ultralytics' own ``YOLO.track``
(:class:`YoloTracker`). :func:`create_detector` chooses."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import weakref
from pathlib import Path

import numpy as np

from ..core.detections import Detections
from ..errors import TrajpipeError, first_line
from ..resources import resolve, source_checkout
from .native_log import quiet_runtime_log

DEFAULT_WEIGHTS = "yolov8n_int8.tflite"
FALLBACK_WEIGHTS = "yolo26n.pt"  # Ultralytics downloads it on first use
TRACKER_ALIASES = {"bytetrack": "bytetrack.yaml", "botsort": "botsort.yaml"}


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


def resolve_tracker(spec: str) -> str:
    """Ultralytics' stock ``bytetrack``/``botsort``, or a tracker YAML (relative paths: from the working
    directory; ``configs/tracker.yaml`` where it is not there: the one the package ships)."""
    if spec in TRACKER_ALIASES:
        return TRACKER_ALIASES[spec]
    path = resolve(spec)
    if not path.is_file():
        raise TrajpipeError(f"tracker must be bytetrack, botsort or an existing tracker YAML, got {spec!r}")
    return str(path)


RUNTIMES = ("auto", "openvino", "ultralytics")
ULTRALYTICS_BACKENDS = {".tflite": "LiteRT", ".pt": "PyTorch", ".onnx": "ONNX Runtime", ".engine": "TensorRT",
                        "_openvino_model": "OpenVINO"}


def create_detector(model: str | None = None, tracker: str = "bytetrack", conf: float = 0.25, iou: float = 0.7,
                    imgsz: int | None = None, classes: list[str] | None = None, device: str | None = None,
                    runtime: str = "auto"):
    """The detector + tracker for these settings (the config keys of the same names; ``runtime`` is
    ``detector_runtime``).

    ``auto`` runs the network on OpenVINO where it is installed, the weights are a ``.tflite`` or ``.onnx``
    file and neither ``imgsz`` nor a ``device`` asks for something else; otherwise Ultralytics runs it
    (its ``.pt`` weights, GPUs, ``imgsz``). ``openvino`` insists, with an error where it cannot.
    """
    from .openvino import openvino_available, openvino_weights

    if runtime not in RUNTIMES:
        raise TrajpipeError(f"detector_runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    weights = resolve_weights(model)
    if runtime != "ultralytics":
        reason = None
        if not openvino_available():
            reason = "openvino is not installed (pip install openvino)"
        elif not openvino_weights(weights):
            reason = f"OpenVINO reads .tflite and .onnx files, not {weights}"
        elif imgsz is not None or device not in (None, "cpu"):
            reason = "imgsz and device are Ultralytics' settings"
        if reason is None:
            return OpenVinoTracker(weights, tracker, conf, iou, classes)
        if runtime == "openvino":
            raise TrajpipeError(f"detector_runtime=openvino: {reason}")
    return YoloTracker(weights, tracker, conf, iou, imgsz, classes, device)


class OpenVinoTracker:
    """The network on OpenVINO (:class:`~trajpipe.video.openvino.OpenVinoNetwork`), its boxes tracked by
    Ultralytics' ByteTrack or BoT-SORT (:class:`~trajpipe.tracking.tracker.BoxTracker`).

    Calling it detects and tracks one frame. For video files, :meth:`detect` may run ahead on the next
    frames in other threads while :meth:`track` follows the frames in order.
    """

    runtime = "OpenVINO"

    def __init__(self, weights: str, tracker: str = "bytetrack", conf: float = 0.25, iou: float = 0.7,
                 classes: list[str] | None = None):
        from ..tracking.tracker import BoxTracker
        from .openvino import OpenVinoNetwork

        self.weights = weights
        self.network = OpenVinoNetwork(weights, conf, iou)
        self.names = self.network.names
        self.network.class_ids = class_ids(self.names, classes)
        self.tracker = resolve_tracker(tracker)  # the settings' path, as YoloTracker.tracker
        self.box_tracker = BoxTracker(self.tracker)

    def describe(self) -> str:
        """The weights and what runs them, for the run's first line."""
        return f"{self.weights} (OpenVINO {self.network.version}, CPU)"

    def detect(self, frame_bgr: np.ndarray) -> np.ndarray:
        """(N, 6) boxes of one frame, untracked (thread-safe: see :meth:`OpenVinoNetwork.detect`)."""
        try:
            return self.network.detect(frame_bgr)
        except Exception as exc:
            raise TrajpipeError(f"detector failed on a frame of shape {frame_bgr.shape}: {first_line(exc)}") from exc

    def track(self, boxes: np.ndarray, frame_bgr: np.ndarray) -> Detections:
        """Track the boxes :meth:`detect` found in ``frame_bgr`` (frames in order)."""
        return self.box_tracker.update(boxes, frame_bgr)

    def __call__(self, frame_bgr: np.ndarray) -> Detections:
        return self.track(self.detect(frame_bgr), frame_bgr)

    def follow_camera(self, warp: np.ndarray) -> None:
        """As :meth:`YoloTracker.follow_camera`."""
        _follow_camera([self.box_tracker.tracker], warp)

    def lost_track_ids(self) -> list[int]:
        """Ids of the tracks the tracker has lost but still looks for (its ``lost_stracks``)."""
        return [int(t.track_id) for t in self.box_tracker.tracker.lost_stracks]

    def trackers(self) -> list:
        """The Ultralytics tracker behind the ids (for :mod:`trajpipe.tracking.reassociate`)."""
        return [self.box_tracker.tracker]

    def reset(self) -> None:
        """Start tracking afresh: new tracker state and ids."""
        self.box_tracker.reset()

    def close(self) -> None:
        """Nothing to release (kept for the detector interface)."""


def class_ids(names: dict[int, str], classes: list[str] | None) -> list[int] | None:
    """The model's indices of the class names ``classes`` (None or empty: every class)."""
    if not classes:
        return None
    by_name = {name: i for i, name in names.items()}
    unknown = [c for c in classes if c not in by_name]
    if unknown:
        raise TrajpipeError(f"unknown class {unknown[0]!r} for this model; it knows: {', '.join(names.values())}")
    return [by_name[c] for c in classes]


def _follow_camera(trackers, warp: np.ndarray) -> None:
    """Move the trackers' predicted boxes by the camera's warp; it replaces BoT-SORT's own estimate."""
    from ..tracking.kalman_warp import warp_kalman_states

    for tracker in trackers:
        if getattr(tracker, "gmc", None) is not None:
            tracker.gmc.method = None
        warp_kalman_states(tracker, warp)


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
        except Exception as exc:  # Ultralytics raises many types for unreadable weights
            raise TrajpipeError(f"cannot load model weights {self.weights}: {first_line(exc)}") from exc
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
        _follow_camera(getattr(self.model.predictor, "trackers", None) or (), warp)

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
