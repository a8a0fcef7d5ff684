"""Config names -> objects: the config's forecaster (``lstm``: the checkpoint at ``forecaster_weights``;
``cv``; a ``.pt`` or ``.onnx`` path, loaded by :mod:`trajpipe.forecast.loading`) and its
``camera_motion`` name. Implementations are imported only when chosen, so adding a camera-motion
estimator is a line in a table here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .forecast.base import Forecaster
from .forecast.loading import FORECASTERS, load_forecaster
from .resources import existing_file


def _optical_flow():
    from .video.camera_motion import CameraMotion

    return CameraMotion()


def _translation_flow():
    from .video.camera_motion import CameraMotion

    return CameraMotion(models=("translation",))


CAMERA_MOTION: dict[str, Callable | None] = {"none": None, "flow": _optical_flow, "translation": _translation_flow}


def forecaster_checkpoint(config) -> Path | None:
    """The checkpoint file the config asks for: ``forecaster_weights`` for ``lstm``, the path itself
    otherwise (from the working directory; ``weights/forecaster.pt`` where it is not there: the one
    the package ships, see :mod:`trajpipe.resources`); None for a forecaster by name."""
    if config.forecaster in FORECASTERS:
        return None
    return existing_file(config.forecaster_weights if config.forecaster == "lstm" else config.forecaster,
                         "forecaster checkpoint", "use forecaster=cv for constant velocity")


def forecaster_from_config(config) -> Forecaster:
    """``lstm`` -> the checkpoint at ``forecaster_weights``; ``cv``; or a checkpoint path."""
    path = forecaster_checkpoint(config)
    return load_forecaster(config.forecaster if path is None else path)


def camera_motion_from_config(config):
    """The camera-motion estimator of ``camera_motion`` (None for ``none``)."""
    factory = CAMERA_MOTION.get(config.camera_motion)
    return None if factory is None else factory()
