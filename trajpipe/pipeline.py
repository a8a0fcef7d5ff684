"""The Python API: detector + tracker -> track histories -> forecasts, one frame at a time."""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .config import Config
from .detection import REPO_ROOT, Detections, YoloTracker
from .errors import TrajpipeError
from .forecast import Forecaster
from .forecast.stage import forecast_histories
from .geometry import GroundPlane
from .history import TIME, X, Y, TrackHistories
from .motion import CameraMotion, View, pose_matrix
from .results import Forecast, FrameResult, TrackState
from .sources import LiveSource, VideoFileSource, open_source


def forecaster_checkpoint(config: Config) -> Path | None:
    """The checkpoint file ``config`` asks for: ``forecaster_weights`` for ``lstm``, the path itself
    otherwise (relative paths also tried from the repository); None for ``cv``."""
    if config.forecaster == "cv":
        return None
    path = Path(config.forecaster_weights if config.forecaster == "lstm" else config.forecaster)
    if not path.is_file() and not path.is_absolute() and (REPO_ROOT / path).is_file():
        path = REPO_ROOT / path
    if not path.is_file():
        raise TrajpipeError(f"forecaster checkpoint not found: {path} (use forecaster=cv for constant velocity)")
    return path


def load_forecaster(config: Config) -> Forecaster:
    """``lstm`` -> the checkpoint at ``forecaster_weights``; ``cv``; or a checkpoint path."""
    path = forecaster_checkpoint(config)
    return Forecaster.load("cv" if path is None else path)


def load_ground_plane(config: Config) -> GroundPlane | None:
    if config.homography is not None:
        return GroundPlane.from_file(config.homography)
    if config.homography_points is not None:
        return GroundPlane.from_points(config.homography_points)
    return None


def present_forecast(forecast: Forecast, view: View, ground: GroundPlane | None) -> Forecast:
    """A forecast made in history coordinates, as the user gets it: in the current frame's pixels
    (where the object will be in the scene, seen from the current view; the camera's own future
    motion is not guessed) and, with a ground plane, in ground units with their uncertainty."""
    if view.to_history is not None:
        shown = forecast.mapped(view.history_to_pixels)
        modes = shown.modes
        if modes is not None:
            modes = dataclasses.replace(modes, sigma=view.sigma_to_pixels(forecast.modes.sigma, forecast.modes.points),
                                        points_world=forecast.modes.points if view.metric else None)
        shown = dataclasses.replace(shown, sigma=view.sigma_to_pixels(forecast.sigma, forecast.points), modes=modes)
        if view.metric:  # made in world metres: those are the ground-plane values
            sigma = forecast.sigma
            return dataclasses.replace(
                shown, points_world=forecast.points, start_world=forecast.start, sigma_world=sigma,
                covariance_world=None if sigma is None else sigma[:, :, None] * sigma[:, None, :] * np.eye(2))
        forecast = shown
    return forecast if ground is None else ground.forecast_on_ground(forecast)


@dataclass(frozen=True)
class _Observation:
    """One frame after detection and tracking, before forecasting."""

    image: np.ndarray
    timestamp: float
    frame_index: int
    captured_at: float | None
    seconds: float  # spent on detection, tracking and histories
    detections: Detections
    rows: list[tuple[int, int, np.ndarray]]  # (track id, class id, history rows) per detection
    view: View  # this frame's pixels <-> the histories' coordinates
    camera: np.ndarray | None  # (2, 3) warp from the previous frame's pixels to this one's, when estimated


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
        self.detector = YoloTracker(cfg.model, cfg.tracker, cfg.conf, cfg.iou, cfg.imgsz, cfg.classes, cfg.device)
        self.histories = TrackHistories(cfg.history_seconds, cfg.lost_track_ttl)
        self.camera_motion = CameraMotion(cfg.camera_motion) if cfg.camera_motion != "none" else None
        self._with_pose: bool | None = None  # whether this run's frames come with a robot pose
        self._next_index = 0

    def process(self, frame_bgr: np.ndarray, timestamp: float | None = None, frame_index: int | None = None,
                captured_at: float | None = None, pose=None) -> FrameResult:
        """Detect, track and forecast one BGR frame taken at ``timestamp`` seconds (default: now, on
        the ``time.monotonic()`` clock). ``captured_at`` (monotonic) sets the result's latency.

        ``pose``: ``(x, y, yaw)`` of the robot base in the world/odometry frame at capture time (metres,
        radians). It needs a ground homography that maps image pixels to the robot's base frame; the
        histories are then kept in the world frame, and ``point_world`` / ``forecast.points_world``
        are world coordinates, right while the robot drives and turns. Give it on every frame or none.
        """
        if timestamp is None:
            timestamp = captured_at = time.monotonic()
        return self._finish(self._observe(frame_bgr, timestamp, frame_index, captured_at, pose))

    def _observe(self, frame_bgr, timestamp, frame_index, captured_at, pose=None) -> _Observation:
        """Detection, tracking and the histories' update: the part that must run frame after frame."""
        started = time.perf_counter()
        robot = self._robot_to_world(pose)
        if frame_index is None:
            frame_index = self._next_index
        self._next_index = frame_index + 1
        warp = None
        if self.camera_motion is not None:
            warp = self.camera_motion.update(frame_bgr)
            self.detector.follow_camera(warp)
        detections = self.detector(frame_bgr)
        if warp is not None:
            self.camera_motion.exclude(detections.xyxy)
        if robot is not None:
            view = View.world(robot @ self.ground.matrix, detections.anchors)
        elif warp is not None:
            view = self.camera_motion.view()
        else:
            view = View()
        seen = self.histories.update(timestamp, detections, view)
        # Rows are never rewritten once appended, so these views stay this frame's histories.
        rows = [(h.track_id, h.class_id, h.rows()) for h in seen]
        return _Observation(frame_bgr, timestamp, frame_index, captured_at, time.perf_counter() - started,
                            detections, rows, view, warp)

    def _robot_to_world(self, pose) -> np.ndarray | None:
        """The (3, 3) robot-base -> world transform of ``pose``, checked against this run's frames."""
        if self._with_pose is not None and self._with_pose != (pose is not None):
            raise TrajpipeError("give a pose with every frame or with none (call reset() to switch)")
        if pose is None:
            self._with_pose = False
            return None
        if self.ground is None:
            raise TrajpipeError("a pose needs a ground homography (homography= or homography_points=) "
                                "from image pixels to the robot's base frame")
        matrix = pose_matrix(pose)
        self._with_pose = True
        return matrix

    def _finish(self, obs: _Observation) -> FrameResult:
        """Forecasts and the result of an observed frame (may run while the next frame is detected)."""
        started = time.perf_counter()
        forecasts = forecast_histories(self.forecaster, [r for _, _, r in obs.rows], self.config.min_track_age,
                                       self.config.forecast_modes)
        names = self.detector.names
        detections = obs.detections
        view = obs.view
        tracks = []
        for i, ((track_id, class_id, rows), forecast) in enumerate(zip(obs.rows, forecasts)):
            points = view.history_to_pixels(rows[:, X:Y + 1])
            if view.metric:
                point_world = rows[-1, X:Y + 1].copy()
            else:
                point_world = None if self.ground is None else self.ground.to_ground(points[-1])
            if forecast is not None:
                forecast = present_forecast(forecast, view, self.ground)
            tracks.append(TrackState(
                id=track_id, class_id=class_id, class_name=names[class_id],
                confidence=float(detections.confidence[i]), box=detections.xyxy[i],
                history=points, history_times=rows[:, TIME], forecast=forecast, point_world=point_world,
            ))
        latency = None if obs.captured_at is None else time.monotonic() - obs.captured_at
        seconds = obs.seconds + time.perf_counter() - started
        return FrameResult(obs.frame_index, obs.timestamp, tracks, seconds, latency, obs.image, obs.camera)

    def open(self, source) -> VideoFileSource | LiveSource:
        """The frame source for ``source`` with this pipeline's live-stream settings."""
        cfg = self.config
        return open_source(source, loop=cfg.loop, reconnect_timeout=cfg.reconnect_timeout,
                           reconnect_max_delay=cfg.reconnect_max_delay, read_timeout=cfg.read_timeout)

    def stream(self, source, max_frames: int | None = None) -> Iterator[FrameResult]:
        """Results for the frames of ``source``: a video file (every frame, in order), a webcam index,
        a device path or a stream URL (always the freshest frame; see :class:`LiveSource`), or an
        already opened source. Stops after ``max_frames`` results.

        Video files: each frame's forecasts are computed on a second thread while the detector works
        on the next frame (the detector releases the GIL), so forecasting adds almost nothing to the
        frame time; results still come in order. Live sources: one frame at a time, for the lowest latency."""
        if max_frames is not None and max_frames < 1:
            return
        with self.open(source) as frames, ThreadPoolExecutor(1, thread_name_prefix="trajpipe-forecast") as worker:
            pending = None
            for count, frame in enumerate(frames, start=1):
                if frame.outage > self.config.outage_grace:
                    self.reset()  # the scene has moved on: old tracks would only mislead
                obs = self._observe(frame.image, frame.timestamp, frame.index, frame.captured_at)
                if frames.live:
                    yield self._finish(obs)
                else:
                    if pending is not None:
                        yield pending.result()
                    pending = worker.submit(self._finish, obs)
                if count == max_frames:  # stop before pulling another frame from the source
                    break
            if pending is not None:
                yield pending.result()

    def reset(self) -> None:
        """Forget all tracks and restart ids (e.g. before an unrelated video)."""
        self.histories = TrackHistories(self.config.history_seconds, self.config.lost_track_ttl)
        self.detector.reset()
        if self.camera_motion is not None:
            self.camera_motion.reset()
        self._with_pose = None
        self._next_index = 0

    def close(self) -> None:
        self.detector.close()

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
