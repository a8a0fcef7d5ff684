"""The detector network on LiteRT (``ai-edge-litert``), with as many threads as trajpipe chooses.

Ultralytics runs a ``.tflite`` file through LiteRT too, but with a thread count of its own (one on a
2-core machine); here the count is the one :mod:`~trajpipe.video.runtime_choice` measured best on this CPU.
Pre- and post-processing are Ultralytics' own (:class:`~trajpipe.video.network.YoloNetwork`).
"""

from __future__ import annotations

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

    Not thread-safe: one thread at a time calls :meth:`detect` (the pipeline's network thread).
    """

    runtime = "LiteRT"

    def __init__(self, weights: str, conf: float, iou: float, class_ids: list[int] | None = None, threads: int = 1):
        super().__init__(weights, conf, iou, class_ids)
        from ai_edge_litert.interpreter import Interpreter

        self.version, self.threads = package_version("ai-edge-litert"), int(threads)
        try:
            with quiet_runtime_log():  # LiteRT announces its XNNPACK delegate on stderr
                self._interpreter = Interpreter(str(weights), num_threads=self.threads)
                self._interpreter.allocate_tensors()
        except Exception as exc:  # LiteRT raises ValueError/RuntimeError with the reason on the first line
            raise TrajpipeError(f"cannot load model weights {weights}: LiteRT: {library_reason(exc)}") from exc
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self._use_input_shape(self._input["shape"])
        if not self.nhwc:
            raise TrajpipeError(f"cannot load model weights {weights}: LiteRT runs NHWC TFLite exports only")

    def _infer(self, letterboxed_bgr: np.ndarray) -> np.ndarray:
        """RGB floats in 0-1 as Ultralytics' predictor makes them (quantised where the file's input is an
        integer tensor, as its LiteRT backend does), through the interpreter."""
        x = np.divide(letterboxed_bgr[..., ::-1], np.float32(255), dtype=np.float32)  # as torch's uint8 -> float / 255
        dtype = self._input["dtype"]
        if dtype in (np.int8, np.int16):  # a full-integer export
            scale, zero_point = self._input["quantization"]
            limits = np.iinfo(dtype)
            x = np.clip(x / scale + zero_point, limits.min, limits.max).astype(dtype)
        self._interpreter.set_tensor(self._input["index"], x)
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._output["index"])
        if self._output["dtype"] in (np.int8, np.int16):
            scale, zero_point = self._output["quantization"]
            raw = (raw.astype(np.float32) - zero_point) * scale
        return raw
