"""The detector network on OpenVINO, with Ultralytics' own pre- and post-processing.

Ultralytics runs TFLite weights through LiteRT with one thread on a 2-core machine; OpenVINO reads the
same ``.tflite`` (or ``.onnx``) file and runs it on both cores (docs/benchmarks.md has the figures). Only
the network changes: the letterbox, the NMS and the box scaling are Ultralytics' functions, called with the
arguments its predictor uses, and the boxes go to Ultralytics' own trackers (:mod:`trajpipe.tracking.tracker`).

``Pipeline.stream`` keeps the next frames queued for the network in one thread of their own while the
current frame is tracked; two inferences at once on one compiled network hung (openvino 2026.4.1).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from ..errors import TrajpipeError, library_reason

SUFFIXES = (".tflite", ".onnx")  # files OpenVINO reads directly


def openvino_available() -> bool:
    """Whether OpenVINO can be imported here (it is a default dependency on x86-64 only)."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


class OpenVinoNetwork:
    """A YOLO detection network from an Ultralytics ``.tflite`` or ``.onnx`` export, on the CPU.

    Args:
        weights: path of the exported model (its Ultralytics metadata gives class names and the kind of head).
        conf: confidence threshold of the NMS.
        iou: IoU threshold of the NMS.
        class_ids: COCO class indices to keep; None keeps all.
    """

    def __init__(self, weights: str, conf: float, iou: float, class_ids: list[int] | None = None):
        import openvino as ov
        from ultralytics.data.augment import LetterBox
        from ultralytics.nn.backends.base import BaseBackend

        self.weights, self.conf, self.iou, self.class_ids = weights, conf, iou, class_ids
        metadata = BaseBackend.read_metadata(weights)
        if "names" not in metadata:
            raise TrajpipeError(f"cannot load model weights {weights}: no Ultralytics metadata (class names) in it; "
                                "export it with Ultralytics")
        self.dynamic = False
        BaseBackend.apply_metadata(self, metadata)  # parses names, stride and end2end as Ultralytics' backends do
        self.names: dict[int, str] = {int(k): v for k, v in self.names.items()}
        self.version = ov.__version__.split("-")[0]
        try:
            self._core = ov.Core()
            self._model = self._core.read_model(weights)
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses of its own for unreadable files
            raise TrajpipeError(f"cannot load model weights {weights}: OpenVINO: {library_reason(exc)}") from exc
        shape = [int(d) for d in self._model.input(0).get_shape()]
        self.nhwc = shape[-1] == 3  # TFLite exports take NHWC, ONNX exports NCHW
        self.imgsz = (shape[1], shape[2]) if self.nhwc else (shape[2], shape[3])
        self._model = self._with_preprocessing(self._model)
        self._local = threading.local()
        self._letterbox = LetterBox(self.imgsz, auto=False, stride=int(getattr(self, "stride", 32)))
        self._compiled = Future()
        # compiled on another core while the rest of the pipeline is built; waited for at the first frame
        # not a daemon: the interpreter waits for it at exit (OpenVINO aborts the process if a compile is cut off)
        threading.Thread(target=self._compile, name="trajpipe-compile").start()

    def _with_preprocessing(self, model):
        """The model taking the letterboxed BGR uint8 frame (1, H, W, 3) as it is: the conversion to RGB
        floats in 0-1 (and to NCHW for ONNX files), which Ultralytics does in numpy, runs inside the
        compiled network."""
        from openvino.preprocess import ColorFormat, PrePostProcessor
        from openvino import Layout, Type

        ppp = PrePostProcessor(model)
        ppp.input().tensor().set_element_type(Type.u8).set_layout(Layout("NHWC")).set_color_format(ColorFormat.BGR)
        ppp.input().model().set_layout(Layout("NHWC" if self.nhwc else "NCHW"))
        ppp.input().preprocess().convert_element_type(Type.f32).convert_color(ColorFormat.RGB).scale(255.0)
        return ppp.build()

    def _compile(self) -> None:
        """One network for every frame, on every core (``LATENCY``). Measured on 2 cores: one frame at a
        time on both cores beat one core per frame in flight, and OpenVINO's multi-stream mode gave wrong
        outputs for these int8 TFLite files (openvino 2026.4)."""
        try:
            self._compiled.set_result(self._core.compile_model(self._model, "CPU", {"PERFORMANCE_HINT": "LATENCY"}))
        except Exception as exc:  # noqa: BLE001 (handed to whoever waits for the network)
            self._compiled.set_exception(TrajpipeError(f"cannot load model weights {self.weights}: OpenVINO: {library_reason(exc)}"))

    def detect(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Boxes of one BGR frame after NMS (each calling thread has its own inference request; the
        pipeline calls it from one thread at a time).

        Args:
            frame_bgr: (H, W, 3) uint8 image.

        Returns:
            (N, 6) float32 array: x1, y1, x2, y2 in the frame's pixels, confidence, class index.
        """
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.result().create_infer_request()
        letterboxed = self._letterbox(image=frame_bgr)[None]  # (1, H, W, 3) BGR uint8
        raw = request.infer([letterboxed])[0]
        return self._decode(np.array(raw, np.float32), frame_bgr.shape)

    def _decode(self, raw: np.ndarray, frame_shape) -> np.ndarray:
        """Ultralytics' NMS and box scaling on the network's output, after the scaling its LiteRT backend
        applies first (a TFLite export gives box coordinates as fractions of the input size)."""
        import torch
        from ultralytics.utils import nms, ops

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


def openvino_weights(weights: str) -> bool:
    """Whether ``weights`` is a file OpenVINO reads directly."""
    return Path(weights).suffix.lower() in SUFFIXES and Path(weights).is_file()
