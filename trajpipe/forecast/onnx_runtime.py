"""A forecaster exported to ONNX (``trajpipe export``), run by onnxruntime: no torch, no Ultralytics.

The ``.onnx`` file holds the whole network (recurrent encoder, neighbour pooling, every head) and, as
metadata, what the numpy side needs: the time grid, the neighbour count and the number of modes. The
numpy before and after the network is :class:`~trajpipe.forecast.neural.NeuralForecaster`'s, the same
code that serves the torch checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import TrajpipeError, first_line
from ..resources import existing_file
from .neural import NetArrays, NeuralForecaster

ONNX_FORMAT = "trajpipe-forecaster-onnx/2"  # /2: neighbours within the config's social_range (docs/deploy.md)
READABLE_FORMATS = ("trajpipe-forecaster-onnx/1", ONNX_FORMAT)  # /1: the same rules without a range
INPUTS = ("own", "nb", "nb_mask")
OUTPUTS = ("mean", "sigma", "modes", "mode_sigma", "logits")  # the last three only for multimodal models


class OnnxForecaster(NeuralForecaster):
    """An exported forecaster behind the :class:`~trajpipe.forecast.base.Forecaster` interface.

    ``threads``: onnxruntime intra-op threads (default 1: the pipeline shares the CPU with the
    detector, and one frame's batch is small). ``min_track_age``, ``lost_track_ttl``: the stateful
    API's settings, as for every forecaster.
    """

    file_format = ONNX_FORMAT

    def __init__(self, path: str | Path, threads: int = 1, min_track_age: float | None = None,
                 lost_track_ttl: float | None = None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise TrajpipeError(f"{path}: running an ONNX forecaster needs onnxruntime "
                                "(pip install 'trajpipe[onnx]')") from None
        path = existing_file(path, "forecaster checkpoint")
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: ours are raised, not logged
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise TrajpipeError(f"{path} is not a readable ONNX model ({first_line(e)})") from None
        props = self.session.get_modelmeta().custom_metadata_map
        self.file_format = props.get("format")
        if self.file_format not in READABLE_FORMATS:
            raise TrajpipeError(f"{path} is not a trajpipe forecaster export (missing format tag {ONNX_FORMAT!r}; "
                                "make one with 'trajpipe export')")
        try:
            self.dt = float(props["dt"])
            self.obs_steps, self.pred_steps = int(props["obs_steps"]), int(props["pred_steps"])
            self.n_neighbours, self.n_modes = int(props["neighbours"]), int(props["modes"])
            self.name = props["cell"]
            self.config = json.loads(props.get("config", "{}"))
            self.meta = json.loads(props.get("meta", "{}"))
            self.exported_by = props.get("exported_by", "")
        except (KeyError, ValueError) as e:
            raise TrajpipeError(f"{path} has incomplete trajpipe metadata ({type(e).__name__}: {e})") from None
        # an export drops an input the network ignores (nb and nb_mask when k = 0)
        self._inputs = [i.name for i in self.session.get_inputs()]
        self._outputs = list(OUTPUTS if self.n_modes else OUTPUTS[:2])
        if set(self._inputs) - set(INPUTS) or [o.name for o in self.session.get_outputs()] != self._outputs:
            raise TrajpipeError(f"{path} has unexpected inputs/outputs for a trajpipe forecaster")
        super().__init__(min_track_age, lost_track_ttl)

    def _run_net(self, own: np.ndarray, nb: np.ndarray, nb_mask: np.ndarray) -> NetArrays:
        feeds = {"own": own, "nb": nb, "nb_mask": nb_mask}
        out = self.session.run(self._outputs, {name: feeds[name] for name in self._inputs})
        if not self.n_modes:
            N, P = own.shape[0], self.pred_steps
            empty = np.zeros((N, 0, P, 2), np.float32)
            out += [empty, empty, np.zeros((N, 0), np.float32)]
        return NetArrays(*out)
