"""The pipeline side of the live view: results in, JSON lines and JPEG frames out, on one thread.

:meth:`FrameHub.publish` is what the pipeline's loop calls: it puts the result on a queue, which wakes the
hub's thread (a few microseconds), whatever the number of viewers. The hub's thread turns every
result into its JSON line and, at most ``fps`` times a second, the newest result into one JPEG
(drawn if needed, scaled to at most ``width`` pixels wide) which every viewer then shares. It hands
both to ``on_line`` / ``on_jpeg`` (the web server's delivery, which never blocks this thread).
No web library is needed here.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from ..core.results import FrameResult
from ..draw.overlay import Overlay
from ..io.sinks import json_line

PENDING_LIMIT = 256  # results waiting for the hub's thread; beyond, new ones are dropped (and counted)
FPS_WINDOW = 2.0  # seconds over which the pipeline's frame rate is measured


@dataclass
class _Published:
    result: FrameResult
    image: np.ndarray | None  # the annotated frame (BGR, full size), or None: draw result.image
    line: bytes | None  # the frame's JSON line, or None: encode it on the hub's thread
    at: float  # time.monotonic() of publish


class FrameHub:
    """Turns published :class:`FrameResult` objects into JSON lines (every frame) and shared JPEG
    frames (at most ``fps`` a second, at most ``width`` px wide), on a background thread."""

    def __init__(self, overlay: Overlay | None = None, fps: float = 15.0, width: int = 960, quality: int = 80,
                 on_line: Callable[[bytes], None] | None = None, on_jpeg: Callable[[bytes], None] | None = None):
        self.overlay = overlay
        self.fps, self.width, self.quality = fps, width, quality
        self.on_line, self.on_jpeg = on_line, on_jpeg
        # A C-level queue: its put is the cheapest wake-up of another thread Python has (measured:
        # 0.15 us against 1.5 us for threading.Event.set, uncontended)
        self._pending: queue.SimpleQueue[_Published | None] = queue.SimpleQueue()
        # Counters, read by /stats and /healthz (written by one thread each: no lock needed).
        self.published = 0  # results published (pipeline thread)
        self.lines = 0  # JSON lines handed to on_line
        self.lost = 0  # results dropped before the hub's thread saw them (it fell PENDING_LIMIT behind)
        self.encoded = 0  # JPEGs encoded
        self.encode_seconds = 0.0  # total time spent drawing, scaling and encoding them
        self.source_dropped = 0  # frames the source skipped (gaps in frame_index: live sources drop stale frames)
        self.jpeg: bytes | None = None  # the newest JPEG (what /snapshot.jpg serves)
        self.image_size: tuple[int, int] | None = None  # (width, height) of the published frames, pixels
        self.error: str | None = None  # the last failure to turn a result into a line or a JPEG (that frame is skipped)
        self.latest: FrameResult | None = None
        self.last_publish: float | None = None  # time.monotonic() of the newest publish
        self._times: collections.deque[float] = collections.deque()  # publish times over the last FPS_WINDOW
        self._last_index: int | None = None
        self._thread = threading.Thread(target=self._work, name="trajpipe-live-view", daemon=True)
        self._thread.start()

    def publish(self, result: FrameResult, image: np.ndarray | None = None, line: bytes | None = None) -> None:
        """Hand ``result`` to the live view; returns at once (the work happens on the hub's thread).

        ``image``: the frame already annotated (BGR, full size), e.g. the one written to the video;
        None draws ``result.image`` (on a copy, only for the frames encoded). ``line``: the frame's
        JSON line if already encoded (``json_line(result.to_json())``). Neither array is modified."""
        self.published += 1
        if self._pending.qsize() >= PENDING_LIMIT:  # the hub's thread is starved: keep memory bounded
            self.lost += 1
            return
        self._pending.put(_Published(result, image, line, time.monotonic()))

    @property
    def frame_rate(self) -> float:
        """Results published per second over the last FPS_WINDOW seconds (0 before two)."""
        times = list(self._times)
        if len(times) < 2 or time.monotonic() - times[-1] > FPS_WINDOW:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0]) if times[-1] > times[0] else 0.0

    def close(self, timeout: float = 5.0) -> None:
        """Finish what is pending (its JSON lines and a last JPEG) and stop the thread."""
        self._pending.put(None)
        self._thread.join(timeout)

    def _work(self) -> None:
        next_encode, unencoded, closing = 0.0, None, False
        while not closing:
            # Sleep until something is published, or until the next JPEG slot if a frame waits for one.
            timeout = None if unencoded is None else max(next_encode - time.monotonic(), 0.0)
            try:
                items = [self._pending.get(timeout=timeout)]
            except queue.Empty:
                items = []
            while not self._pending.empty():
                items.append(self._pending.get_nowait())
            for item in items:
                if item is None:  # close(): finish what came before
                    closing = True
                    continue
                if self._guarded(self._take, item):
                    unencoded = item
            if unencoded is not None and (time.monotonic() >= next_encode or closing):
                next_encode = time.monotonic() + 1.0 / self.fps
                self._guarded(self._encode, unencoded)
                unencoded = None

    def _guarded(self, step, item: _Published) -> bool:
        """``step(item)``; a failure skips that frame for the viewers (shown in /stats) and never
        reaches the pipeline, whose outputs do not depend on the live view."""
        try:
            step(item)
            return True
        except Exception as exc:
            self.error = f"frame {item.result.frame_index}: {type(exc).__name__}: {exc}"
            return False

    def _take(self, item: _Published) -> None:
        """Count ``item`` and pass its JSON line on."""
        result = item.result
        if self._last_index is not None and result.frame_index > self._last_index + 1:
            self.source_dropped += result.frame_index - self._last_index - 1
        self._last_index = result.frame_index
        self.latest, self.last_publish = result, item.at
        self._times.append(item.at)
        while self._times and self._times[0] < item.at - FPS_WINDOW:
            self._times.popleft()
        line = item.line if item.line is not None else json_line(result.to_json())
        self.lines += 1
        if self.on_line is not None:
            self.on_line(line)

    def _encode(self, item: _Published) -> None:
        """One JPEG of ``item`` for every viewer: drawn (if not yet), scaled to at most ``width``."""
        started = time.perf_counter()
        image = item.image
        if image is None:
            image = item.result.image
            if image is None:
                return  # a result without its frame (e.g. from a list): JSON only
            if self.overlay is not None:
                image = self.overlay.draw(image.copy(), item.result)
        height, width = image.shape[:2]
        self.image_size = (width, height)
        if width > self.width:
            size = (self.width, max(round(height * self.width / width), 1))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            return
        self.jpeg = encoded.tobytes()
        self.encoded += 1
        self.encode_seconds += time.perf_counter() - started
        if self.on_jpeg is not None:
            self.on_jpeg(self.jpeg)
