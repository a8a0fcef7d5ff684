"""Names -> objects: the one place that turns a forecaster spec (``cv``, ``lstm``, a ``.pt`` or
``.onnx`` path) or a ``camera_motion`` name into a ready object.

Implementations are imported only when chosen (torch only for a ``.pt`` checkpoint), so adding one
is a line in a table here. :meth:`trajpipe.Forecaster.load` is :func:`load_forecaster`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .errors import TrajpipeError
from .forecast.base import Forecaster, set_loader
from .resources import resolve


def _constant_velocity() -> Forecaster:
    from .forecast.cv import ConstantVelocityForecaster

    return ConstantVelocityForecaster()


def _torch_checkpoint(path: Path) -> Forecaster:
    from .forecast.lstm import LSTMForecaster

    return LSTMForecaster.from_checkpoint(path)


def _onnx_export(path: Path) -> Forecaster:
    from .forecast.onnx_runtime import OnnxForecaster

    return OnnxForecaster(path)


def _optical_flow():
    from .video.camera_motion import CameraMotion

    return CameraMotion()


def _translation_flow():
    from .video.camera_motion import CameraMotion

    return CameraMotion(models=("translation",))


FORECASTERS: dict[str, Callable[[], Forecaster]] = {"cv": _constant_velocity}  # by name
CHECKPOINT_FILES: dict[str, Callable[[Path], Forecaster]] = {".onnx": _onnx_export}  # by suffix; others: torch
CAMERA_MOTION: dict[str, Callable | None] = {"none": None, "flow": _optical_flow, "translation": _translation_flow}


def load_forecaster(spec: str | Path, *, min_track_age: float | None = None,
                    lost_track_ttl: float | None = None) -> Forecaster:
    """A forecaster by name (:data:`FORECASTERS`) or from a checkpoint file (see :meth:`Forecaster.load`)."""
    if str(spec) in FORECASTERS:
        forecaster = FORECASTERS[str(spec)]()
    else:
        path = resolve(spec)
        if not path.is_file():
            raise TrajpipeError(f"forecaster checkpoint not found: {path}")
        forecaster = CHECKPOINT_FILES.get(path.suffix.lower(), _torch_checkpoint)(path)
    forecaster.set_tracking(min_track_age, lost_track_ttl)
    return forecaster


set_loader(load_forecaster)


def forecaster_checkpoint(config) -> Path | None:
    """The checkpoint file the config asks for: ``forecaster_weights`` for ``lstm``, the path itself
    otherwise (from the working directory; ``weights/forecaster.pt`` where it is not there: the one
    the package ships, see :mod:`trajpipe.resources`); None for a forecaster by name."""
    if config.forecaster in FORECASTERS:
        return None
    path = resolve(config.forecaster_weights if config.forecaster == "lstm" else config.forecaster)
    if not path.is_file():
        raise TrajpipeError(f"forecaster checkpoint not found: {path} (use forecaster=cv for constant velocity)")
    return path


def forecaster_from_config(config) -> Forecaster:
    """``lstm`` -> the checkpoint at ``forecaster_weights``; ``cv``; or a checkpoint path."""
    path = forecaster_checkpoint(config)
    return load_forecaster(config.forecaster if path is None else path)


def camera_motion_from_config(config):
    """The camera-motion estimator of ``camera_motion`` (None for ``none``)."""
    factory = CAMERA_MOTION.get(config.camera_motion)
    return None if factory is None else factory()
