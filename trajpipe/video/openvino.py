"""The detector network on OpenVINO, with Ultralytics' own pre- and post-processing
(:class:`~trajpipe.video.network.YoloNetwork`).

OpenVINO reads the same ``.tflite`` (or ``.onnx``) file Ultralytics runs through LiteRT. Whether it or
LiteRT is faster depends on the CPU (docs/benchmarks.md): :mod:`~trajpipe.video.runtime_choice` times both.
``Pipeline.stream`` keeps the next frames queued for the network in one thread of their own while the
current frame is tracked; two inferences at once on one compiled network hung (openvino 2026.4.1).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

import numpy as np

from ..errors import TrajpipeError, library_reason
from .network import YoloNetwork


def openvino_available() -> bool:
    """Whether OpenVINO is installed here (a default dependency on x86-64 only). Looked up, not imported:
    importing it takes over half a second, paid only where it runs the network."""
    import importlib.util

    try:
        return importlib.util.find_spec("openvino") is not None
    except (ImportError, ValueError):  # a broken install, or a module blocked in sys.modules
        return False


class OpenVinoNetwork(YoloNetwork):
    """A YOLO detection network from an Ultralytics ``.tflite`` or ``.onnx`` export, on OpenVINO's CPU plugin.

    Args:
        weights: path of the exported model.
        conf: confidence threshold of the NMS.
        iou: IoU threshold of the NMS.
        class_ids: COCO class indices to keep; None keeps all.
        threads: OpenVINO's ``INFERENCE_NUM_THREADS`` (None: its own choice, every core).
    """

    runtime = "OpenVINO"

    def __init__(self, weights: str, conf: float, iou: float, class_ids: list[int] | None = None,
                 threads: int | None = None):
        super().__init__(weights, conf, iou, class_ids)
        import openvino as ov

        self.version, self.threads = ov.__version__.split("-")[0], threads
        try:
            self._core = ov.Core()
            self._model = self._core.read_model(weights)
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses of its own for unreadable files
            raise TrajpipeError(f"cannot load model weights {weights}: OpenVINO: {library_reason(exc)}") from exc
        self._use_input_shape(self._model.input(0).get_shape())
        self._model = self._with_preprocessing(self._model)
        self._local = threading.local()
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
        """One network for every frame (``LATENCY``). Measured on 2 cores: one frame at a time on both
        cores beat one core per frame in flight, and OpenVINO's multi-stream mode gave wrong outputs for
        these int8 TFLite files (openvino 2026.4)."""
        settings = {"PERFORMANCE_HINT": "LATENCY"}
        if self.threads is not None:
            settings["INFERENCE_NUM_THREADS"] = int(self.threads)
        try:
            self._compiled.set_result(self._core.compile_model(self._model, "CPU", settings))
        except Exception as exc:  # noqa: BLE001 (handed to whoever waits for the network)
            self._compiled.set_exception(TrajpipeError(f"cannot load model weights {self.weights}: OpenVINO: {library_reason(exc)}"))

    def _infer(self, letterboxed_bgr: np.ndarray) -> np.ndarray:
        """The compiled network's output (each calling thread has its own inference request; the pipeline
        calls it from one thread at a time)."""
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.result().create_infer_request()
        return request.infer([letterboxed_bgr])[0]
