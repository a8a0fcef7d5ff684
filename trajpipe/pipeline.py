"""The Python API: detector + tracker -> track histories -> forecasts, one frame at a time."""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .config import Config
from .core.frames import FrameMap, GroundPlane, Projective, pose_matrix
from .core.results import FrameResult, TrackState
from .errors import TrajpipeError
from .forecast import Forecaster
from .forecast.adapt import SceneAdapter
from .forecast.hidden import HiddenTracks
from .forecast.stage import forecast_histories
from .registry import camera_motion_from_config, forecaster_from_config
from .tracking.history import Samples, TrackHistories
from .tracking.reassociate import Reassociator
from .core.detections import Detections
from .video.detector import create_detector
from .video.sources import Frame, as_bgr_frame, open_source


@dataclass(frozen=True)
class _Observation:
    """One frame after detection and tracking, before forecasting."""

    image: np.ndarray
    timestamp: float
    frame_index: int
    captured_at: float | None
    seconds: float  # spent on detection, tracking and histories
    detections: Detections
    histories: list[tuple[int, int, Samples]]  # (track id, class id, history) per detection
    frame_map: FrameMap  # this frame's pixels <-> the histories' coordinates <-> the ground
    camera: np.ndarray | None  # (2, 3) or (3, 3) transform from the previous frame's pixels to this one's, when estimated
    pose: np.ndarray | None  # (3,) the robot's (x, y, yaw) given with the frame
    hidden: list[tuple[int, int, Samples]]  # (track id, class id, history) of tracks lost but kept (keep_hidden_tracks)
    rebased: Projective | None  # old -> new history coordinates, when they moved on this frame


_IDENTITY = np.eye(3)
# Video files: frames queued for the detector's ``parallel`` threads while the current one is tracked
# (one for OpenVINO: two inferences at once on one compiled network hung; one per LiteRT interpreter).
DETECT_AHEAD = 2


class Pipeline:
    """``Pipeline(model=..., forecaster="lstm", classes=["person"])``; keyword arguments are config keys.

    ``process(frame, timestamp)`` for frames you capture yourself (push mode), ``stream(source)``
    for a video file, a webcam index or a stream URL. Each Pipeline owns its detector, tracker and
    histories (no global state): several can live in one process. Results are immutable snapshots,
    safe to hand to another thread.

    ``detector`` and ``forecaster``: ready objects to use instead of building them from the config,
    e.g. ``forecaster=Forecaster.load("cv")`` (a string or path for ``forecaster`` is the config key:
    ``lstm``, ``cv`` or a checkpoint). A detector is called with a BGR frame and returns
    :class:`~trajpipe.core.detections.Detections` with tracker ids (see
    :class:`~trajpipe.video.detector.YoloTracker` for the other methods it needs); the pipeline closes
    what it built and leaves closing what it was given to the caller.
    """

    def __init__(self, config: Config | None = None, *, detector=None, forecaster: Forecaster | None = None,
                 **overrides):
        """Build the detector, tracker, forecaster and camera-motion estimator the config asks for.

        Args:
            config: the :class:`~trajpipe.config.Config` (None: the defaults of ``configs/default.yaml``).
            detector: a ready detector to use (the caller closes it), or None to build one.
            forecaster: a ready :class:`~trajpipe.forecast.Forecaster`, or a name or path (the config key).
            **overrides: config keys, e.g. ``model="weights/yolov8n_int8.tflite"``, ``classes=["person"]``.

        Example:
            >>> with Pipeline(forecaster="cv", classes=["person"]) as pipe:  # doctest: +SKIP
            ...     result = pipe.process(frame_bgr, timestamp=0.0)
        """
        if forecaster is not None and not isinstance(forecaster, Forecaster):
            overrides["forecaster"], forecaster = forecaster, None  # the config key, by name or path
        self.config = (config or Config()).merged(overrides)
        cfg = self.config
        self.ground = GroundPlane.from_config(cfg.homography, cfg.homography_points)
        self.forecaster = forecaster_from_config(cfg) if forecaster is None else forecaster
        self._owns_detector = detector is None
        self.detector = create_detector(cfg.model, cfg.tracker, cfg.conf, cfg.iou, cfg.imgsz, cfg.classes,
                                        cfg.device, cfg.detector_runtime, cfg.detector_threads) if detector is None else detector
        self.histories = TrackHistories(cfg.history_seconds, cfg.lost_track_ttl)
        self.camera_motion = camera_motion_from_config(cfg)
        self._with_pose: bool | None = None  # whether this run's frames come with a robot pose
        self._next_index = 0
        self._hidden = HiddenTracks() if cfg.keep_hidden_tracks else None  # touched by _finish only
        self._reassociator = Reassociator(cfg.lost_track_ttl) if cfg.reassociate else None
        self._adapter = self._new_adapter()

    def process(self, frame_bgr: np.ndarray, timestamp: float | None = None, frame_index: int | None = None,
                captured_at: float | None = None, pose=None) -> FrameResult:
        """Detect, track and forecast one frame (push mode).

        Args:
            frame_bgr: (H, W, 3) uint8 BGR image (a grey (H, W) uint8 one is converted).
            timestamp: capture time in seconds (default: now, on the ``time.monotonic()`` clock); must not
                go backwards.
            frame_index: the frame's number in its source (default: one more than the last).
            captured_at: ``time.monotonic()`` at capture, which sets the result's latency.
            pose: ``(x, y, yaw)`` of the robot base in the world/odometry frame at capture time (metres,
                radians). It needs a ground homography that maps image pixels to the robot's base frame;
                the histories are then kept in the world frame, and ``point_world`` /
                ``forecast.points_world`` are world coordinates, right while the robot drives and turns.
                Give it on every frame or none.

        Returns:
            The frame's :class:`~trajpipe.core.results.FrameResult`: its tracks, with their forecasts.

        Bad input changes nothing: a frame that is not an HxWx3 uint8 BGR image (a grey HxW uint8 one is
        converted) is a :class:`TrajpipeError`, a timestamp that is not finite or goes backwards a
        ValueError (``reset()`` starts a new clock). Detections holding NaN, inf or absurd coordinates
        are dropped with a :class:`~trajpipe.errors.TrajpipeWarning`.
        """
        if timestamp is None:
            timestamp = captured_at = time.monotonic()
        return self._finish(self._observe(frame_bgr, timestamp, frame_index, captured_at, pose))

    def _observe(self, frame_bgr, timestamp, frame_index, captured_at, pose=None, boxes: Future | None = None) -> _Observation:
        """Detection, tracking and the histories' update: the part that must run frame after frame.
        ``boxes``: the network's boxes of this frame, being found in another thread (video files)."""
        started = time.perf_counter()
        frame_bgr = as_bgr_frame(frame_bgr)  # checks first: a refused frame leaves every state as it was
        timestamp = self.histories.check_time(timestamp)
        self._check_pose(pose)
        if frame_index is None:
            frame_index = self._next_index
        self._next_index = frame_index + 1
        warp = rebased = None
        if self.camera_motion is not None:
            warp = self.camera_motion.update(frame_bgr)
            if self.camera_motion.rebased is not None and pose is None:  # (with a pose, histories are in world metres)
                rebased = Projective(self.camera_motion.rebased)
                self.histories.remap(rebased)
            if not np.array_equal(warp, _IDENTITY):  # a still camera: nothing to move
                self.detector.follow_camera(warp)
            warp = Projective(warp).compact()
        detections = self.detector(frame_bgr) if boxes is None else self.detector.track(boxes.result(), frame_bgr)
        frame_map = self._frame_map(pose, detections)
        if self._reassociator is not None and rebased is None:  # (remembered forecasts move in _finish)
            trackers = getattr(self.detector, "trackers", None)  # a detector of the caller's may not say
            detections = self._reassociator.apply(detections, timestamp, self.histories, frame_map.pixels_to_history,
                                                  trackers() if trackers is not None else (), frame_bgr)
        seen = self.histories.update(timestamp, detections, frame_map)
        if None in seen:  # detections with bad numbers were dropped: they are not this frame's tracks
            detections = detections.select([i for i, h in enumerate(seen) if h is not None])
            seen = [h for h in seen if h is not None]
        if warp is not None:
            self.camera_motion.exclude(detections.xyxy)
        # Samples are never rewritten once appended, so these views stay this frame's histories.
        histories = [(h.track_id, h.class_id, h.samples()) for h in seen]
        return _Observation(frame_bgr, timestamp, frame_index, captured_at, time.perf_counter() - started,
                            detections, histories, frame_map, warp,
                            None if pose is None else np.asarray(pose, np.float64).ravel(),
                            self._hidden_histories(histories), rebased)

    def _hidden_histories(self, visible: list[tuple[int, int, Samples]]) -> list[tuple[int, int, Samples]]:
        """The tracks the tracker has lost but still looks for, that still have a history (at most
        ``lost_track_ttl`` old): (track id, class id, history up to the last sighting)."""
        lost_ids = getattr(self.detector, "lost_track_ids", None)  # a detector of the caller's may not know
        if self._hidden is None or lost_ids is None:
            return []
        lost_ids = lost_ids() if self._reassociator is None else self._reassociator.reported(lost_ids())
        seen, tracks = {track_id for track_id, _, _ in visible}, self.histories.tracks
        return [(i, tracks[i].class_id, tracks[i].samples()) for i in lost_ids if i not in seen and i in tracks]

    def _frame_map(self, pose, detections: Detections) -> FrameMap:
        """This frame's map between pixels, history coordinates and the ground: from the robot's pose,
        the camera's estimated motion, or the identity of a static camera."""
        if pose is not None:
            return FrameMap.robot(pose, self.ground, detections.anchors)
        if self.camera_motion is not None and not self.camera_motion.still:
            return FrameMap.moving_camera(self.camera_motion.reference_to_current, self.ground)
        return FrameMap(ground=self.ground)

    def _check_pose(self, pose) -> None:
        """A pose with every frame of a run or with none, and only with a ground homography."""
        if self._with_pose is not None and self._with_pose != (pose is not None):
            raise TrajpipeError("give a pose with every frame or with none (call reset() to switch)")
        if pose is not None:
            if self.ground is None:
                raise TrajpipeError("a pose needs a ground homography (homography= or homography_points=) "
                                    "from image pixels to the robot's base frame")
            pose_matrix(pose)  # a clear error for a malformed pose, before the detector's state moves on
        self._with_pose = pose is not None

    def _finish(self, obs: _Observation) -> FrameResult:
        """Forecasts and the result of an observed frame (may run while the next frame is detected)."""
        started = time.perf_counter()
        adapter = self._adapter
        if adapter is not None and obs.rebased is not None:
            adapter.forget_pending()
        forecasts = forecast_histories(self.forecaster, [h for _, _, h in obs.histories], self.config.min_track_age,
                                       self.config.forecast_modes, adapter, [i for i, _, _ in obs.histories])
        names = self.detector.names
        detections = obs.detections
        frame_map = obs.frame_map
        tracks = []
        for i, ((track_id, class_id, history), forecast) in enumerate(zip(obs.histories, forecasts)):
            tracks.append(TrackState(
                id=track_id, class_id=class_id, class_name=names[class_id],
                confidence=float(detections.confidence[i]), box=detections.xyxy[i],
                history=frame_map.history_to_pixels(history.points), history_times=history.times,
                forecast=None if forecast is None else frame_map.present(forecast),
                point_world=frame_map.point_world(history.points[-1]),
            ))
        if self._reassociator is not None:
            self._reassociator.remember(obs.histories, forecasts)
        if self._hidden is not None:
            tracks += self._hidden_states(obs, forecasts)
        latency = None if obs.captured_at is None else time.monotonic() - obs.captured_at
        seconds = obs.seconds + time.perf_counter() - started
        return FrameResult(obs.frame_index, obs.timestamp, tracks, seconds, latency, obs.image, obs.camera, obs.pose,
                           None if adapter is None else adapter.state)

    def _new_adapter(self) -> SceneAdapter | None:
        """The scene adaptation of a new scene (adapt_to_scene), on the forecaster's grid."""
        if not self.config.adapt_to_scene:
            return None
        return SceneAdapter(self.forecaster.dt, self.forecaster.pred_steps, self.forecaster.obs_steps)

    def _hidden_states(self, obs: _Observation, forecasts) -> list[TrackState]:
        """Remember this frame's visible tracks (their forecasts in history coordinates) and continue
        the hidden ones from their last sighting."""
        memory = self._hidden
        if obs.rebased is not None:
            memory.remap(obs.rebased)
        for i, ((track_id, _, _), forecast) in enumerate(zip(obs.histories, forecasts)):
            memory.remember(track_id, forecast, obs.detections.xyxy[i], float(obs.detections.confidence[i]))
        names = self.detector.names
        states = [memory.state(track_id, class_id, names[class_id], history, obs.timestamp, obs.frame_map)
                  for track_id, class_id, history in obs.hidden]
        memory.keep_only([track_id for track_id, _, _ in obs.histories + obs.hidden])
        return [state for state in states if state is not None]

    def open(self, source):
        """The frame source for ``source`` with this pipeline's live-stream settings.

        Args:
            source: a video file, a webcam index, a device path, a stream URL or ``ros2:TOPIC``.

        Returns:
            The opened source (a context manager yielding frames with their timestamps).
        """
        cfg = self.config
        if isinstance(source, str) and source.startswith("ros2:"):  # a robot's camera topic (docs/robotics.md)
            from .io.ros2_source import Ros2CameraSource

            return Ros2CameraSource.from_config(source, cfg)
        return open_source(source, loop=cfg.loop, reconnect_timeout=cfg.reconnect_timeout,
                           reconnect_max_delay=cfg.reconnect_max_delay, read_timeout=cfg.read_timeout)

    def stream(self, source, max_frames: int | None = None) -> Iterator[FrameResult]:
        """Results for the frames of ``source``.

        Args:
            source: a video file (every frame, in order), a webcam index, a device path or a stream URL
                (always the freshest frame; see :class:`LiveSource`), or an already opened source.
            max_frames: stop after this many results (None: at the source's end).

        Returns:
            An iterator of :class:`~trajpipe.core.results.FrameResult`, in frame order.

        Video files: the network works on the next frames in other threads while this frame is tracked,
        and each frame's forecasts are computed on another thread while the next frame is tracked (the
        network and the forecaster release the GIL), so both add little to the frame time; results still
        come in order. Live sources: one frame at a time, the freshest, for the lowest latency.

        A ``max_frames`` below 1 is a :class:`TrajpipeError` at the call (``None``: every frame)."""
        if max_frames is not None and (isinstance(max_frames, bool) or max_frames < 1):
            raise TrajpipeError(f"max_frames must be >= 1 (or None for every frame), got {max_frames!r}")
        return self._stream(source, max_frames)

    def _stream(self, source, max_frames: int | None) -> Iterator[FrameResult]:
        with self.open(source) as frames:
            if hasattr(self.detector, "prefer"):  # the runtime measured best for this kind of source
                self.detector.prefer(live=frames.live)
            yield from self._stream_frames(frames, max_frames)

    def _stream_frames(self, frames, max_frames: int | None) -> Iterator[FrameResult]:
        """:meth:`stream` on an opened source, with the forecasts' thread and the network's (``parallel``:
        as many as the detector runs frames at once)."""
        parallel = getattr(self.detector, "parallel", 1)
        with (ThreadPoolExecutor(1, thread_name_prefix="trajpipe-forecast") as worker,
              ThreadPoolExecutor(parallel, thread_name_prefix="trajpipe-detect") as network):
            pending, cpu_started, count = None, time.process_time(), 0
            for count, (frame, boxes) in enumerate(self._detect_ahead(frames, network, parallel), start=1):
                if frame.outage > self.config.outage_grace:
                    self.reset()  # the scene has moved on: old tracks would only mislead
                obs = self._observe(frame.image, frame.timestamp, frame.index, frame.captured_at, frame.pose, boxes)
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
            if hasattr(self.detector, "record_rest_cpu") and not frames.live:  # for the next runtime choice
                self.detector.record_rest_cpu(time.process_time() - cpu_started, count)

    def _detect_ahead(self, frames, network: ThreadPoolExecutor, parallel: int = 1) -> Iterator[tuple[Frame, Future | None]]:
        """Each frame with its boxes being found: for a video file and a detector that can detect apart
        from tracking, up to DETECT_AHEAD + parallel - 1 frames ahead in ``network``'s ``parallel`` threads;
        else None (found when tracked)."""
        if frames.live or not hasattr(self.detector, "track"):
            yield from ((frame, None) for frame in frames)
            return
        ahead: deque[tuple[Frame, Future]] = deque()
        queued = DETECT_AHEAD + parallel - 1  # every one of the network's ``parallel`` threads busy, and frames waiting
        for frame in frames:
            ahead.append((frame, network.submit(self.detector.detect, frame.image)))
            if len(ahead) > queued:
                yield ahead.popleft()
        yield from ahead

    def reset(self) -> None:
        """Forget all tracks and restart ids (e.g. before an unrelated video)."""
        self.histories = TrackHistories(self.config.history_seconds, self.config.lost_track_ttl)
        self.detector.reset()
        if self.camera_motion is not None:
            self.camera_motion.reset()
        self._with_pose = None
        self._next_index = 0
        self._hidden = HiddenTracks() if self._hidden is not None else None
        if self._reassociator is not None:
            self._reassociator.reset()
        self._adapter = self._new_adapter()  # a new scene

    def close(self) -> None:
        """Release the detector the pipeline built (one passed in is left to its owner)."""
        if self._owns_detector:
            self.detector.close()

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
