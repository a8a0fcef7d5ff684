"""Forecasters at inference: the contract (:mod:`.base`), constant velocity and Kalman baselines, the
learned recurrent forecaster (torch or ONNX runtime) and the pipeline stage. Training lives in
:mod:`trajpipe.training`."""

from ..core.interp import resample_track
from .base import Forecaster, ModeBatch
from .cv import ConstantVelocityForecaster
from .loading import load_forecaster

__all__ = ["Forecaster", "ModeBatch", "ConstantVelocityForecaster", "load_forecaster", "resample_track"]
