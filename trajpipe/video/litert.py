"""The detector network on LiteRT (``ai-edge-litert``), with as many threads as trajpipe chooses.

Ultralytics runs a ``.tflite`` file through LiteRT too, but with a thread count of its own (one on a
2-core machine); here the count is the one :mod:`~trajpipe.video.runtime_choice` measured best on this CPU.
Pre- and post-processing are Ultralytics' own (:class:`~trajpipe.video.network.YoloNetwork`).
"""

from __future__ import annotations

import threading

import numpy as np

from ..errors import TrajpipeError, library_reason
from .native_log import quiet_runtime_log
from .network import YoloNetwork, package_version


def litert_available() -> bool:
    """Whether LiteRT's interpreter can be imported here (the ``litert`` extra)."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: F401
    except ImportError:
        return False
    return True


class LiteRtNetwork(YoloNetwork):
    """A YOLO detection network from an Ultralytics ``.tflite`` export, on LiteRT's CPU kernels (XNNPACK).

    Args:
        weights: path of the ``.tflite`` file.
        conf: confidence threshold of the NMS.
        iou: IoU threshold of the NMS.
        class_ids: COCO class indices to keep; None keeps all.
        threads: LiteRT's thread count (its kernels split each layer over them).
        copies: how many frames the pipeline runs through the network at once (each calling thread gets
            an interpreter of its own; :attr:`copies` tells the pipeline how many threads to give it).
    """

    runtime = "LiteRT"

    def __init__(self, weights: str, conf: float, iou: float, class_ids: list[int] | None = None, threads: int = 1,
                 copies: int = 1):
        super().__init__(weights, conf, iou, class_ids)
        self.version, self.threads, self.copies = package_version("ai-edge-litert"), int(threads), int(copies)
        self._local = threading.local()
        interpreter = self._interpreter()  # the first one checks the file
        self._input = interpreter.get_input_details()[0]
        self._output = interpreter.get_output_details()[0]
        self._use_input_shape(self._input["shape"])
        if not self.nhwc:
            raise TrajpipeError(f"cannot load model weights {weights}: LiteRT runs NHWC TFLite exports only")

    def describe(self) -> str:
        """As :meth:`YoloNetwork.describe`, with the frames it runs at once where that is more than one."""
        return super().describe() + (f" x {self.copies} frames at once" if self.copies > 1 else "")

    def _interpreter(self):
        """This thread's interpreter: one per calling thread, so that ``copies`` frames run at once (LiteRT
        releases the GIL while it runs; one thread each costs the least CPU a frame: docs/benchmarks.md)."""
        interpreter = getattr(self._local, "interpreter", None)
        if interpreter is None:
            from ai_edge_litert.interpreter import Interpreter

            try:
                with quiet_runtime_log():  # LiteRT announces its XNNPACK delegate on stderr
                    interpreter = Interpreter(str(self.weights), num_threads=self.threads)
                    interpreter.allocate_tensors()
            except Exception as exc:  # LiteRT raises ValueError/RuntimeError with the reason on the first line
                raise TrajpipeError(f"cannot load model weights {self.weights}: LiteRT: {library_reason(exc)}") from exc
            self._local.interpreter = interpreter
        return interpreter

    def _infer(self, letterboxed_bgr: np.ndarray) -> np.ndarray:
        """RGB floats in 0-1 as Ultralytics' predictor makes them (quantised where the file's input is an
        integer tensor, as its LiteRT backend does), through the interpreter."""
        x = np.divide(letterboxed_bgr[..., ::-1], np.float32(255), dtype=np.float32)  # as torch's uint8 -> float / 255
        dtype = self._input["dtype"]
        if dtype in (np.int8, np.int16):  # a full-integer export
            scale, zero_point = self._input["quantization"]
            limits = np.iinfo(dtype)
            x = np.clip(x / scale + zero_point, limits.min, limits.max).astype(dtype)
        interpreter = self._interpreter()
        interpreter.set_tensor(self._input["index"], x)
        interpreter.invoke()
        raw = interpreter.get_tensor(self._output["index"])
        if self._output["dtype"] in (np.int8, np.int16):
            scale, zero_point = self._output["quantization"]
            raw = (raw.astype(np.float32) - zero_point) * scale
        return raw
