from .base import Forecaster
from .cv import ConstantVelocityForecaster
from .resample import resample_track

__all__ = ["Forecaster", "ConstantVelocityForecaster", "resample_track"]
