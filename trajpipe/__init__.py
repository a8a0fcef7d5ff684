"""trajpipe: detect, track and forecast object trajectories in video."""

from .version import __version__  # noqa: F401

from .config import Config, load_config  # noqa: E402
from .errors import TrajpipeError, TrajpipeWarning  # noqa: E402
from .forecast import Forecaster  # noqa: E402
from .core.results import Forecast, FrameResult, TrackState  # noqa: E402


def __getattr__(name):
    # Pipeline pulls in Ultralytics and torch: import it (and the batch runner) only when asked for.
    if name == "Pipeline":
        from .pipeline import Pipeline

        return Pipeline
    if name == "run_batch":
        from .running.batch import run_batch

        return run_batch
    raise AttributeError(f"module 'trajpipe' has no attribute {name!r}")


__all__ = ["Config", "Forecast", "Forecaster", "FrameResult", "Pipeline", "TrackState", "TrajpipeError", "TrajpipeWarning",
           "load_config", "run_batch"]
