"""What a forecaster file is and where it comes from: ``trajpipe info CHECKPOINT``.

Reads a torch checkpoint (``.pt``) or its ONNX export (``.onnx``): the architecture and time grid from
the network's config, the provenance from the training notes (``meta``) that ``trajpipe train``
writes and ``trajpipe export`` carries over: the trajpipe version, the training data and the date.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..errors import TrajpipeError
from .base import Forecaster
from .neural import NeuralForecaster

NOT_RECORDED = "not recorded"


def checkpoint_info(path: str | Path) -> dict[str, str]:
    """``{field: text}`` describing the forecaster file at ``path``, in print order. Raises
    :class:`TrajpipeError` for a missing or unreadable file."""
    forecaster = Forecaster.load(path)
    if not isinstance(forecaster, NeuralForecaster):  # "cv" and other forecasters by name have no file
        raise TrajpipeError(f"{path} is not a forecaster checkpoint (.pt) or ONNX export (.onnx)")
    config, meta = forecaster.config, forecaster.meta
    horizon_in, horizon_out = forecaster.obs_steps * forecaster.dt, forecaster.pred_steps * forecaster.dt
    layers = config.get("layers", 1)
    info = {
        "format": forecaster.file_format,
        "architecture": f"{forecaster.name}, hidden {config.get('hidden', '?')}, {layers} layer{'s' * (layers != 1)}, "
                        f"{config.get('head', '?')} head",
        "grid": f"{forecaster.obs_steps} steps in, {forecaster.pred_steps} out, {forecaster.dt:g} s apart "
                f"({horizon_in:g} s observed, {horizon_out:g} s forecast)",
        "modes": str(forecaster.n_modes) if forecaster.n_modes else "0 (single forecast)",
        "neighbours": str(forecaster.n_neighbours),
        "trajpipe version": meta.get("trajpipe_version", NOT_RECORDED),
        "training data": training_data(meta),
        "trained": meta.get("trained_at", NOT_RECORDED),
    }
    if "val_ade" in meta:
        info["validation"] = f"ADE {meta['val_ade']:.3f} m, FDE {meta['val_fde']:.3f} m"
    if getattr(forecaster, "exported_by", ""):
        info["exported by"] = forecaster.exported_by
    if "provenance" in meta:  # how fields were recorded after the fact
        info["note"] = meta["provenance"]
    return info


def training_data(meta: dict) -> str:
    """One line naming the data a checkpoint was trained with, from its ``meta``."""
    if not meta.get("data"):
        return NOT_RECORDED
    text = f"{', '.join(meta['data'])} ({meta.get('format', '?')}"
    if meta.get("format") == "eth_ucy":
        scene = meta.get("scene_left_out")
        text += f", scene {scene} left out" if scene else ", all scenes"
    text += ")"
    extra = meta.get("extra_train")
    if extra is None:
        return text + "; extra training files " + NOT_RECORDED
    folders = Counter(str(Path(f).parent) for f in extra)
    return text + "".join(f" + {n} file{'s' * (n != 1)} of {folder}" for folder, n in folders.items())
