"""The Python API: detector + tracker -> track histories -> forecasts, one frame at a time."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from .config import Config
from .detection import REPO_ROOT, YoloTracker
from .errors import TrajpipeError
from .forecast import Forecaster
from .forecast.stage import forecast_histories
from .geometry import GroundPlane
from .history import TrackHistories
from .results import FrameResult, TrackState
from .sources import LiveSource, VideoFileSource, open_source


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


def load_ground_plane(config: Config) -> GroundPlane | None:
    if config.homography is not None:
        return GroundPlane.from_file(config.homography)
    if config.homography_points is not None:
        return GroundPlane.from_points(config.homography_points)
    return None


class Pipeline:
    """``Pipeline(model=..., forecaster="lstm", classes=["person"])``; keyword arguments are config keys.

    ``process(frame, timestamp)`` for frames you capture yourself (push mode), ``stream(source)``
    for a video file, a webcam index or a stream URL. Each Pipeline owns its detector, tracker and
    histories (no global state): several can live in one process. Results are immutable snapshots,
    safe to hand to another thread.
    """

    def __init__(self, config: Config | None = None, **overrides):
        self.config = (config or Config()).merged(overrides)
        cfg = self.config
        self.ground = load_ground_plane(cfg)
        self.forecaster = load_forecaster(cfg)
        self.detector = YoloTracker(cfg.model, cfg.tracker, cfg.conf, cfg.iou, cfg.imgsz, cfg.classes)
        self.histories = TrackHistories(cfg.history_seconds, cfg.lost_track_ttl)
        self._next_index = 0

    def process(self, frame_bgr: np.ndarray, timestamp: float | None = None, frame_index: int | None = None,
                captured_at: float | None = None) -> FrameResult:
        """Detect, track and forecast one BGR frame taken at ``timestamp`` seconds (default: now, on
        the ``time.monotonic()`` clock). ``captured_at`` (monotonic) sets the result's latency."""
        started = time.perf_counter()
        if timestamp is None:
            timestamp = captured_at = time.monotonic()
        if frame_index is None:
            frame_index = self._next_index
        self._next_index = frame_index + 1
        detections = self.detector(frame_bgr)
        histories = self.histories.update(timestamp, detections)
        forecasts = forecast_histories(self.forecaster, histories, self.config.min_track_age)
        names = self.detector.names
        tracks = []
        for i, (history, forecast) in enumerate(zip(histories, forecasts)):
            times, points = history.arrays()
            point_world = None
            if self.ground is not None:
                point_world = self.ground.to_ground(points[-1])
                if forecast is not None:
                    forecast = dataclasses.replace(forecast, points_world=self.ground.to_ground(forecast.points))
            tracks.append(TrackState(
                id=history.track_id, class_id=history.class_id, class_name=names[history.class_id],
                confidence=float(detections.confidence[i]), box=detections.xyxy[i],
                history=points, history_times=times, forecast=forecast, point_world=point_world,
            ))
        latency = None if captured_at is None else time.monotonic() - captured_at
        return FrameResult(frame_index, timestamp, tracks, time.perf_counter() - started, latency, frame_bgr)

    def open(self, source) -> VideoFileSource | LiveSource:
        """The frame source for ``source`` with this pipeline's live-stream settings."""
        cfg = self.config
        return open_source(source, loop=cfg.loop, reconnect_timeout=cfg.reconnect_timeout,
                           reconnect_max_delay=cfg.reconnect_max_delay, read_timeout=cfg.read_timeout)

    def stream(self, source, max_frames: int | None = None) -> Iterator[FrameResult]:
        """Results for the frames of ``source``: a video file (every frame, in order), a webcam index,
        a device path or a stream URL (always the freshest frame; see :class:`LiveSource`), or an
        already opened source. Stops after ``max_frames`` results."""
        if max_frames is not None and max_frames < 1:
            return
        with self.open(source) as frames:
            for count, frame in enumerate(frames, start=1):
                if frame.outage > self.config.outage_grace:
                    self.reset()  # the scene has moved on: old tracks would only mislead
                yield self.process(frame.image, frame.timestamp, frame.index, frame.captured_at)
                if count == max_frames:  # stop before pulling another frame from the source
                    break

    def reset(self) -> None:
        """Forget all tracks and restart ids (e.g. before an unrelated video)."""
        self.histories = TrackHistories(self.config.history_seconds, self.config.lost_track_ttl)
        self.detector.reset()
        self._next_index = 0

    def close(self) -> None:
        self.detector.close()

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
