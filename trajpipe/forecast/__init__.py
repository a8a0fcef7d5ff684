from .base import Forecaster, ForecastModes
from .cv import ConstantVelocityForecaster
from .resample import resample_track

__all__ = ["Forecaster", "ForecastModes", "ConstantVelocityForecaster", "resample_track"]
