"""``trajpipe export``: a trained checkpoint -> an ONNX file that onnxruntime runs without torch.

The graph is the whole :class:`~trajpipe.forecast.lstm.TrajectoryNet` (neighbour pooling, recurrent
encoder, deterministic and mode heads, standard deviations) on canonical-frame inputs, with a dynamic
batch dimension; see :mod:`trajpipe.forecast.onnx_runtime` for the reading side.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..version import __version__
from ..errors import TrajpipeError
from ..core.anchors import PERSON_HEIGHT_M
from ..forecast.lstm import LSTMForecaster, TrajectoryNet
from ..forecast.onnx_runtime import INPUTS, ONNX_FORMAT, OUTPUTS, OnnxForecaster
from ..io.sinks import AtomicFile

OPSET = 17
MAX_EXPORT_ERROR = 1e-4  # metres (and logits): an export that differs more from torch is not written


class _Outputs(nn.Module):
    """The network with a tuple of outputs, as ONNX wants them (no empty mode outputs when K = 0)."""

    def __init__(self, net: TrajectoryNet):
        super().__init__()
        self.net = net

    def forward(self, own, nb, nb_mask):
        out = self.net(own, nb, nb_mask)
        return tuple(out) if self.net.n_modes else (out.mean, out.sigma)


def _metadata(forecaster: LSTMForecaster, source: str | None) -> dict[str, str]:
    net = forecaster.net
    return {
        "format": ONNX_FORMAT,
        "dt": repr(forecaster.dt),
        "obs_steps": str(forecaster.obs_steps),
        "pred_steps": str(forecaster.pred_steps),
        "neighbours": str(net.k),
        "modes": str(net.n_modes),
        "cell": net.config["cell"],
        "person_height_m": repr(PERSON_HEIGHT_M),
        "config": json.dumps(net.config),
        "meta": json.dumps(forecaster.meta, default=str),
        "source": str(source or ""),
        "exported_by": f"trajpipe {__version__}, torch {torch.__version__}",
    }


def metadata_json_path(onnx_path: str | Path) -> Path:
    """Where ``trajpipe export`` writes the metadata as JSON: ``model.onnx`` -> ``model.onnx.json``."""
    onnx_path = Path(onnx_path)
    return onnx_path.with_name(onnx_path.name + ".json")


def _random_inputs(n: int, T: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical-frame inputs of the size real ones have (metres): walkers with neighbours near them."""
    rng = np.random.default_rng(seed)
    own = rng.normal(0, 0.5, (n, T, 4)).astype(np.float32)
    nb = rng.normal(0, 2.0, (n, T, k, 4)).astype(np.float32)
    nb_mask = (rng.random((n, k)) < 0.7).astype(np.float32)
    return own, nb, nb_mask


def export_onnx(forecaster: LSTMForecaster, out: str | Path, source: str | None = None) -> float:
    """Write ``forecaster`` to ``out`` (``.onnx``, atomically; its metadata also to ``out`` + ``.json``)
    and return the largest difference between onnxruntime's and torch's outputs on random inputs
    (batches of 1 and 37). Raises
    :class:`TrajpipeError` when the file cannot be written or the export does not match torch."""
    try:
        import onnx
    except ImportError:
        raise TrajpipeError("exporting to ONNX needs the onnx and onnxruntime packages (pip install 'trajpipe[onnx]')") from None
    out = Path(out)
    net = forecaster.net.eval()
    T, k = forecaster.obs_steps, net.k
    example = tuple(torch.from_numpy(a) for a in _random_inputs(2, T, k))
    outputs = list(OUTPUTS if net.n_modes else OUTPUTS[:2])
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation and tracing notices
        warnings.simplefilter("ignore")
        # The TorchScript-based exporter (deprecated in torch 2.9+, still in 2.14) writes each cell as one
        # ONNX LSTM/GRU/RNN op with a dynamic batch in 0.2 s. The dynamo exporter gives the same results
        # (tried: within 4e-6) but needs onnxscript, takes 2-5 s and unrolls the plain RNN.
        # The wrapper must be in eval mode: the exporter restores its mode onto the net afterwards.
        torch.onnx.export(_Outputs(net).eval(), example, buffer, input_names=list(INPUTS), output_names=outputs,
                          opset_version=OPSET, dynamo=False,
                          dynamic_axes={name: {0: "batch"} for name in [*INPUTS, *outputs]})
    model = onnx.load_from_string(buffer.getvalue())
    metadata = _metadata(forecaster, source)
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    target = AtomicFile(out)
    # The same metadata beside the model, for runtimes that cannot read an ONNX file's custom metadata
    # (onnxruntime-node, onnxruntime-web): docs/deploy.md
    sidecar = AtomicFile(metadata_json_path(out))
    try:
        sidecar.partial.write_text(json.dumps(metadata, indent=1) + "\n")
        onnx.save(model, target.partial)
        exported = OnnxForecaster(target.partial)
        error = 0.0
        for n in (1, 37):
            inputs = _random_inputs(n, T, k, seed=n)
            for a, b in zip(forecaster._run_net(*inputs), exported._run_net(*inputs)):
                error = max(error, float(np.abs(a - b).max(initial=0.0)))
        if not error <= MAX_EXPORT_ERROR:
            raise TrajpipeError(f"the ONNX export differs from torch by {error:.2g} (> {MAX_EXPORT_ERROR:g}); not written")
        target.commit()
        sidecar.commit()
    except OSError as e:
        target.discard()
        sidecar.discard()
        raise TrajpipeError(f"cannot write {out}: {e.strerror or e}") from None
    except BaseException:
        target.discard()
        sidecar.discard()
        raise
    return error
