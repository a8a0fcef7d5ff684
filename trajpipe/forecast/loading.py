"""Forecasters by name or checkpoint file: the tables :meth:`~trajpipe.forecast.base.Forecaster.load`
reads. Implementations are imported only when chosen (torch only for a ``.pt`` checkpoint), so adding
one is a line in a table here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..resources import existing_file

if TYPE_CHECKING:
    from .base import Forecaster


def _constant_velocity() -> "Forecaster":
    from .cv import ConstantVelocityForecaster

    return ConstantVelocityForecaster()


def _torch_checkpoint(path: Path) -> "Forecaster":
    from .lstm import LSTMForecaster

    return LSTMForecaster.from_checkpoint(path)


def _onnx_export(path: Path) -> "Forecaster":
    from .onnx_runtime import OnnxForecaster

    return OnnxForecaster(path)


FORECASTERS: dict[str, Callable[[], "Forecaster"]] = {"cv": _constant_velocity}  # by name
CHECKPOINT_FILES: dict[str, Callable[[Path], "Forecaster"]] = {".onnx": _onnx_export}  # by suffix; others: torch


def load_forecaster(spec: str | Path, *, min_track_age: float | None = None,
                    lost_track_ttl: float | None = None) -> "Forecaster":
    """A forecaster by name (:data:`FORECASTERS`) or from a checkpoint file (:data:`CHECKPOINT_FILES`).

    Args:
        spec: ``"cv"``, or the path of a ``.pt`` checkpoint (needs torch) or of its ``.onnx`` export;
            a shipped name (``weights/forecaster.pt``) is found in the package when not in the
            working directory.
        min_track_age: seconds of observation before the stateful API forecasts a track (None: 0.8).
        lost_track_ttl: seconds after its last update that the stateful API forgets a track (None: 2.0).

    Returns:
        The ready :class:`~trajpipe.forecast.base.Forecaster`.

    Raises:
        TrajpipeError: the checkpoint file does not exist or cannot be read.
    """
    if str(spec) in FORECASTERS:
        forecaster = FORECASTERS[str(spec)]()
    else:
        path = existing_file(spec, "forecaster checkpoint")
        forecaster = CHECKPOINT_FILES.get(path.suffix.lower(), _torch_checkpoint)(path)
    forecaster.set_tracking(min_track_age, lost_track_ttl)
    return forecaster
