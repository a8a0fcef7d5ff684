"""What every detector network of trajpipe's own detector stage shares: Ultralytics' metadata, letterbox,
NMS and box scaling around a runtime's inference (:mod:`~trajpipe.video.litert`, :mod:`~trajpipe.video.openvino`).

Only the network changes between runtimes: the letterbox, the NMS and the box scaling are Ultralytics'
functions, called with the arguments its predictor uses, and the boxes go to Ultralytics' own trackers
(:mod:`trajpipe.tracking.tracker`), so every runtime finds the boxes ``YOLO.track`` finds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TrajpipeError

SUFFIXES = (".tflite", ".onnx")  # files trajpipe's own detector stage reads (LiteRT: .tflite only)


class YoloNetwork:
    """The runtime-independent half of a YOLO detection network from an Ultralytics export.

    Subclasses set ``runtime`` and ``version``, load the file and implement :meth:`_infer`.

    Args:
        weights: path of the exported model (its Ultralytics metadata gives class names and the kind of head).
        conf: confidence threshold of the NMS.
        iou: IoU threshold of the NMS.
        class_ids: COCO class indices to keep; None keeps all.
    """

    runtime = "?"
    version = "?"
    threads: int | None = None  # the runtime's thread count where trajpipe sets it

    def __init__(self, weights: str, conf: float, iou: float, class_ids: list[int] | None = None):
        from ultralytics.nn.backends.base import BaseBackend

        self.weights, self.conf, self.iou, self.class_ids = weights, conf, iou, class_ids
        metadata = BaseBackend.read_metadata(weights)
        if "names" not in metadata:
            raise TrajpipeError(f"cannot load model weights {weights}: no Ultralytics metadata (class names) in it; "
                                "export it with Ultralytics")
        self.dynamic = False
        BaseBackend.apply_metadata(self, metadata)  # parses names, stride and end2end as Ultralytics' backends do
        self.names: dict[int, str] = {int(k): v for k, v in self.names.items()}

    def _use_input_shape(self, shape) -> None:
        """Set the network's input size and layout from its input tensor's shape (TFLite exports take
        NHWC, ONNX exports NCHW), and the letterbox that makes frames of that size."""
        from ultralytics.data.augment import LetterBox

        shape = [int(d) for d in shape]
        self.nhwc = shape[-1] == 3
        self.imgsz = (shape[1], shape[2]) if self.nhwc else (shape[2], shape[3])
        self._letterbox = LetterBox(self.imgsz, auto=False, stride=int(getattr(self, "stride", 32)))

    def describe(self) -> str:
        """The runtime, its version and thread count, for the run's first line."""
        threads = "" if self.threads is None else f", {self.threads} thread{'s' if self.threads > 1 else ''}"
        return f"{self.runtime} {self.version}, CPU{threads}"

    def detect(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Boxes of one BGR frame after NMS.

        Args:
            frame_bgr: (H, W, 3) uint8 image.

        Returns:
            (N, 6) float32 array: x1, y1, x2, y2 in the frame's pixels, confidence, class index.
        """
        letterboxed = self._letterbox(image=frame_bgr)[None]  # (1, H, W, 3) BGR uint8
        return self._decode(self._infer(letterboxed), frame_bgr.shape)

    def _infer(self, letterboxed_bgr: np.ndarray) -> np.ndarray:
        """The network's raw output for a (1, H, W, 3) BGR uint8 letterboxed frame."""
        raise NotImplementedError

    def _decode(self, raw: np.ndarray, frame_shape) -> np.ndarray:
        """Ultralytics' NMS and box scaling on the network's output, after the scaling its LiteRT backend
        applies first (a TFLite export gives box coordinates as fractions of the input size)."""
        import torch
        from ultralytics.utils import nms, ops

        raw = np.array(raw, np.float32)  # a copy: the runtime may reuse its output buffer
        h, w = self.imgsz
        if self.nhwc and raw.ndim == 3:
            if self.end2end:  # (1, max_det, 6): x1 y1 x2 y2 conf cls
                raw[:, :, [0, 2]] *= w
                raw[:, :, [1, 3]] *= h
            else:  # (1, 4 + classes, anchors): xywh then class scores
                raw[:, [0, 2]] *= w
                raw[:, [1, 3]] *= h
        boxes = nms.non_max_suppression(torch.from_numpy(raw), self.conf, self.iou, self.class_ids,
                                        max_det=300, end2end=bool(self.end2end))[0]
        boxes[:, :4] = ops.scale_boxes((h, w), boxes[:, :4], frame_shape)
        return boxes.numpy().astype(np.float32, copy=False)

    def close(self) -> None:
        """Release the runtime's resources (nothing by default)."""


def package_version(distribution: str) -> str:
    """The installed version of a runtime's package, read from its metadata without importing it ("?"
    where the metadata is missing)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"


def network_weights(weights: str) -> bool:
    """Whether ``weights`` is a file trajpipe's own detector stage reads (a ``.tflite`` or ``.onnx`` file)."""
    return Path(weights).suffix.lower() in SUFFIXES and Path(weights).is_file()


def model_names(weights: str) -> dict[int, str]:
    """The class names in an Ultralytics export's metadata (an error where it has none)."""
    from ultralytics.nn.backends.base import BaseBackend

    names = BaseBackend.read_metadata(weights).get("names")
    if not names:
        raise TrajpipeError(f"cannot load model weights {weights}: no Ultralytics metadata (class names) in it; "
                            "export it with Ultralytics")
    return {int(k): v for k, v in (names.items() if isinstance(names, dict) else enumerate(names))}


def class_ids(names: dict[int, str], classes: list[str] | None) -> list[int] | None:
    """The model's indices of the class names ``classes`` (None or empty: every class)."""
    if not classes:
        return None
    by_name = {name: i for i, name in names.items()}
    unknown = [c for c in classes if c not in by_name]
    if unknown:
        raise TrajpipeError(f"unknown class {unknown[0]!r} for this model; it knows: {', '.join(names.values())}")
    return [by_name[c] for c in classes]
