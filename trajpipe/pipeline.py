"""The Python API: detector + tracker -> track histories -> forecasts, one frame at a time."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import numpy as np

from .config import Config
from .detection import REPO_ROOT, YoloTracker
from .errors import TrajpipeError
from .forecast import Forecaster
from .forecast.stage import forecast_histories
from .history import TrackHistories
from .results import FrameResult, TrackState
from .sources import open_source


def load_forecaster(config: Config) -> Forecaster:
    """``lstm`` -> the checkpoint at ``forecaster_weights``; ``cv``; or a checkpoint path."""
    if config.forecaster == "cv":
        return Forecaster.load("cv")
    path = Path(config.forecaster_weights if config.forecaster == "lstm" else config.forecaster)
    if not path.is_file() and not path.is_absolute() and (REPO_ROOT / path).is_file():
        path = REPO_ROOT / path
    if not path.is_file():
        raise TrajpipeError(f"forecaster checkpoint not found: {path} (use forecaster=cv for constant velocity)")
    return Forecaster.load(path)


class Pipeline:
    """``Pipeline(model=..., forecaster="lstm", classes=["person"])``; keyword arguments are config keys.

    ``process(frame, timestamp)`` for frames you capture yourself (push mode), ``stream(source)``
    to iterate over a video. Each Pipeline owns its detector, tracker and histories: several can
    live in one process.
    """

    def __init__(self, config: Config | None = None, **overrides):
        self.config = (config or Config()).merged(overrides)
        cfg = self.config
        self.forecaster = load_forecaster(cfg)
        self.detector = YoloTracker(cfg.model, cfg.tracker, cfg.conf, cfg.iou, cfg.imgsz, cfg.classes)
        self.histories = TrackHistories(cfg.history_seconds, cfg.lost_track_ttl)
        self._next_index = 0

    def process(self, frame_bgr: np.ndarray, timestamp: float | None = None, frame_index: int | None = None) -> FrameResult:
        """Detect, track and forecast one BGR frame taken at ``timestamp`` seconds
        (default: now, on the monotonic clock)."""
        started = time.perf_counter()
        if timestamp is None:
            timestamp = time.monotonic()
        if frame_index is None:
            frame_index = self._next_index
        self._next_index = frame_index + 1
        detections = self.detector(frame_bgr)
        histories = self.histories.update(timestamp, detections)
        forecasts = forecast_histories(self.forecaster, histories, timestamp, self.config.min_track_age)
        names = self.detector.names
        tracks = []
        for i, (history, forecast) in enumerate(zip(histories, forecasts)):
            times, points = history.arrays()
            tracks.append(TrackState(
                id=history.track_id, class_id=history.class_id, class_name=names[history.class_id],
                confidence=float(detections.confidence[i]), box=detections.xyxy[i],
                history=points, history_times=times, forecast=forecast,
            ))
        return FrameResult(frame_index, timestamp, tracks, time.perf_counter() - started, frame_bgr)

    def stream(self, source, max_frames: int | None = None) -> Iterator[FrameResult]:
        """Results for the frames of ``source`` (a video file path), in order."""
        with open_source(source) as frames:
            for frame in frames:
                if max_frames is not None and frame.index >= max_frames:
                    break
                yield self.process(frame.image, frame.timestamp, frame.index)

    def reset(self) -> None:
        """Forget all tracks (e.g. before processing an unrelated video)."""
        self.histories = TrackHistories(self.config.history_seconds, self.config.lost_track_ttl)
        self.detector.reset()
        self._next_index = 0

    def close(self) -> None:
        self.detector.close()

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
