"""Frame sources: timestamped frames from a video file, a webcam or a network stream."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from ..errors import TrajpipeError

STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")
FRAME_LAYOUT = "an HxWx3 uint8 BGR image (or an HxW uint8 grey one)"


def as_bgr_frame(image) -> np.ndarray:
    """``image`` as the HxWx3 uint8 BGR array that the detector and the camera-motion estimate take.

    A grey HxW (or HxWx1) uint8 image is converted to BGR: that reading is unambiguous. Anything else is
    a :class:`TrajpipeError` naming the expected layout and what came instead, with the fix when it is
    clear: channels-first (CxHxW) and float frames are refused, not guessed at, because a float frame
    may hold 0..1 or 0..255 and a wrong guess silently finds nobody.
    """
    if image is None:
        raise TrajpipeError(f"frame is None, expected {FRAME_LAYOUT}: did the camera's read() fail? "
                            "(check the ok flag it returns)")
    if not isinstance(image, np.ndarray):
        raise TrajpipeError(f"frame is a {type(image).__name__}, expected {FRAME_LAYOUT} as a numpy array")
    if image.size == 0:
        raise TrajpipeError(f"frame is empty (shape {image.shape}), expected {FRAME_LAYOUT}")
    if image.dtype != np.uint8:
        fix = (": for values in 0..1 use (frame * 255).round().astype(np.uint8), for 0..255 frame.astype(np.uint8)"
               if np.issubdtype(image.dtype, np.floating) else "")
        raise TrajpipeError(f"frame has dtype {image.dtype}, expected {FRAME_LAYOUT}{fix}")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim != 3 or image.shape[2] != 3:
        fix = ": it looks channels-first (CxHxW), use frame.transpose(1, 2, 0)" if image.ndim == 3 and image.shape[0] == 3 else ""
        raise TrajpipeError(f"frame has shape {image.shape}, expected {FRAME_LAYOUT}{fix}")
    return image


@dataclass(frozen=True)
class Frame:
    index: int  # position in the source; for live sources gaps are frames dropped to stay fresh
    timestamp: float  # seconds since the start of the source (capture time for live sources)
    image: np.ndarray  # BGR, HxWx3 uint8
    captured_at: float | None = None  # time.monotonic() at capture (live sources only)
    outage: float = 0.0  # seconds the stream was lost just before this frame
    pose: tuple[float, float, float] | None = None  # the robot's (x, y, yaw) at capture, when the source knows it


class VideoFileSource:
    """Reads a video file with OpenCV's FFmpeg backend, every frame in order. Timestamps come from
    the container (presentation time), so variable frame rates keep their real timing."""

    live = False

    def __init__(self, path: str | Path, loop: bool = False):
        self.path, self.loop = Path(path), loop
        if not self.path.exists():
            raise TrajpipeError(f"source not found: {self.path}")
        if not self.path.is_file():
            raise TrajpipeError(f"source is not a file: {self.path}")
        self._cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not self._cap.isOpened():
            raise TrajpipeError(f"cannot read {self.path}: not a video file, or a codec OpenCV cannot decode")
        self.fps = self._cap.get(cv2.CAP_PROP_FPS) or 0.0
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self._first = self._read()
        if self._first is None:
            self.close()
            raise TrajpipeError(f"video has no frames: {self.path}")

    def _read(self) -> tuple[float, np.ndarray] | None:
        ok, image = self._cap.read()
        if not ok or image is None:
            return None
        return self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, image

    def __iter__(self) -> Iterator[Frame]:
        index, item, last_time, offset = 0, self._first, -1.0, 0.0
        step = 1 / self.fps if self.fps > 0 else 1 / 30
        while item is not None:
            timestamp = item[0] + offset
            if timestamp <= last_time:  # container without usable timestamps: fall back to the nominal rate
                timestamp = last_time + step
            yield Frame(index, timestamp, item[1])
            index, last_time = index + 1, timestamp
            item = self._read()
            if item is None and self.loop:  # play again from the start, time running on
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                item = self._read()
                offset = last_time + step - (item[0] if item else 0.0)

    def close(self) -> None:
        self._cap.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class Outage:
    start: float  # source time (s) when the stream was lost
    seconds: float  # how long until it was back
    attempts: int  # reconnection attempts it took


def open_capture(spec: str | int, read_timeout: float) -> cv2.VideoCapture:
    """An OpenCV capture for a webcam index, a device path or a stream URL."""
    if isinstance(spec, int):
        previous = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # a missing camera is our one line, not OpenCV's
        try:
            return cv2.VideoCapture(spec)
        finally:
            cv2.utils.logging.setLogLevel(previous)
    if spec.startswith(STREAM_SCHEMES):
        ms = int(read_timeout * 1000)
        return cv2.VideoCapture(spec, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
    return cv2.VideoCapture(spec)


def log_line(message: str) -> None:
    """One line on standard error, as a live source reports its outages (ros2: sources too)."""
    print(f"trajpipe: {message}", file=sys.stderr, flush=True)


class LiveSource:
    """A camera or stream read by a background thread that keeps only the newest frame.

    The consumer always gets the freshest frame; frames it was too slow for are dropped and counted.
    When the stream is lost, the reader reconnects with exponential backoff (capped at
    ``reconnect_max_delay``) and gives up after ``reconnect_timeout`` seconds with a clear error;
    each outage is reported through ``log`` and kept in :attr:`outages`.
    """

    live = True

    def __init__(self, spec: str | int, reconnect_timeout: float = 30.0, reconnect_max_delay: float = 4.0,
                 read_timeout: float = 5.0, capture_factory: Callable = open_capture,
                 log: Callable[[str], None] = log_line):
        self.spec, self.reconnect_timeout, self.reconnect_max_delay = spec, reconnect_timeout, reconnect_max_delay
        self.read_timeout, self._factory, self._log = read_timeout, capture_factory, log
        self._cap = capture_factory(spec, read_timeout)
        if not self._cap.isOpened():
            self._cap.release()
            raise _cannot_open(spec)
        self.fps = self._cap.get(cv2.CAP_PROP_FPS) or 0.0
        self.frame_count = 0  # unknown for live sources
        self.captured = self.dropped = 0
        self.outages: list[Outage] = []
        self._latest: Frame | None = None
        self._ended = False
        self._error: TrajpipeError | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._read_loop, name=f"trajpipe-reader-{spec}", daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        outage = 0.0
        try:
            while not self._stop.is_set():
                ok = self._cap.grab()
                captured_at = time.monotonic()  # stamped right after the grab, before decoding
                image = self._cap.retrieve()[1] if ok else None
                if image is None:
                    lost = self._reconnect()
                    if lost is None:
                        break
                    outage += lost
                    continue
                with self._cond:
                    if self._latest is not None:  # the consumer never took it: too slow, drop it
                        self.dropped += 1
                        outage += self._latest.outage
                    self._latest = Frame(self.captured, captured_at - self._t0, image, captured_at, outage)
                    self.captured += 1
                    outage = 0.0
                    self._cond.notify()
        finally:
            self._cap.release()
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def _reconnect(self) -> float | None:
        """Seconds the stream was lost, or None when stopped or given up (with ``_error`` set)."""
        lost_at = time.monotonic()
        self._log(f"live source {self.spec!r} lost at t={lost_at - self._t0:.1f}s; reconnecting")
        self._cap.release()
        delay, attempts = 0.25, 0
        while not self._stop.wait(delay):
            if time.monotonic() - lost_at >= self.reconnect_timeout:
                self._error = TrajpipeError(f"live source {self.spec!r} lost for {self.reconnect_timeout:g} s; giving up")
                return None
            attempts += 1
            self._cap = self._factory(self.spec, self.read_timeout)
            if self._cap.isOpened():
                seconds = time.monotonic() - lost_at
                self.outages.append(Outage(lost_at - self._t0, seconds, attempts))
                self._log(f"live source {self.spec!r} back after {seconds:.1f} s ({attempts} attempts)")
                return seconds
            self._cap.release()
            delay = min(delay * 2, self.reconnect_max_delay)
        return None

    def __iter__(self) -> Iterator[Frame]:
        while True:
            with self._cond:
                while self._latest is None and not self._ended:
                    self._cond.wait(0.1)
                frame, self._latest = self._latest, None
            if frame is None:
                break
            yield frame
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.read_timeout + 1)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cannot_open(spec: str | int) -> TrajpipeError:
    return TrajpipeError(f"cannot open live source {spec!r}: no such camera, or the stream is not reachable")


def check_camera(source: str | int) -> None:
    """Fail at once on a webcam index (``0``) or device (``/dev/video0``) that does not open, e.g.
    before any model loads; stream URLs are left to the run (a stream may come up later).

    Args:
        source: the run's source as given.

    Raises:
        TrajpipeError: no such camera.
    """
    text = str(source)
    if not (text.isdigit() or text.startswith("/dev/video")):
        return
    spec = int(text) if text.isdigit() else text
    capture = open_capture(spec, 0.0)
    opened = capture.isOpened()
    capture.release()
    if not opened:
        raise _cannot_open(spec)


def is_live(source) -> bool:
    text = str(source)
    return (isinstance(source, int) or text.isdigit() or text.startswith("/dev/video") or text.startswith(STREAM_SCHEMES)
            or text.startswith("ros2:"))


def open_source(source, loop: bool = False, **live_options) -> VideoFileSource | LiveSource:
    """A frame source for ``source``: a webcam index (``0``), a device (``/dev/video0``), a stream URL
    (``rtsp://``, ``http://`` ...) or a video file path (replayed endlessly with ``loop``).
    ``live_options`` go to :class:`LiveSource`."""
    if isinstance(source, (VideoFileSource, LiveSource)) or (hasattr(source, "live") and hasattr(source, "__iter__")):
        return source  # already open (also a ROS 2 camera topic's source)
    if is_live(source):
        spec = int(source) if str(source).isdigit() else str(source)
        return LiveSource(spec, **live_options)
    return VideoFileSource(source, loop)
