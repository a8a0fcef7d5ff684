"""Forecasters at inference: the contract (:mod:`.base`), constant velocity and Kalman baselines, the
learned recurrent forecaster (torch or ONNX runtime) and the pipeline stage. Training lives in
:mod:`trajpipe.training`."""

from .. import registry  # noqa: F401  (gives Forecaster.load its table of names and file types)
from ..core.interp import resample_track
from .base import Forecaster, ForecastModes
from .cv import ConstantVelocityForecaster

__all__ = ["Forecaster", "ForecastModes", "ConstantVelocityForecaster", "resample_track"]
