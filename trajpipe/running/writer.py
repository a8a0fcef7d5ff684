"""The output thread of a run: overlay, video frames, JSON lines, MCAP messages and the live view."""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING

from ..draw.overlay import Overlay
from ..io.frame_scene import FrameScene
from ..io.sinks import JsonlSink, VideoSink, json_line

if TYPE_CHECKING:
    from ..serve import LiveServer


class OutputWriter:
    """Draws the overlay and writes video frames, JSON lines and MCAP messages on a background thread, so
    that output costs the detector (which runs on the other core) almost nothing. Order is kept; the
    bounded queue keeps memory flat when the disk is slower than the pipeline. Each frame's JSON record
    and JPEG are made once, whichever outputs use them; a live view gets the same JSON line and
    annotated frame (nothing encoded or drawn twice)."""

    def __init__(self, overlay: Overlay, video: VideoSink | None, jsonl: JsonlSink | None, mcap=None,
                 live: "LiveServer | None" = None, queue_size: int = 8, publishers=()):
        self.overlay, self.video, self.jsonl, self.mcap, self.live = overlay, video, jsonl, mcap, live
        self.publishers = list(publishers)  # Ros2Publisher, FoxgloveLive: publish(result, record, scene, image)
        self.error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._work, name="trajpipe-writer", daemon=True)
        self._thread.start()

    def submit(self, result, drawn: bool, repeats: int = 1, raw=None) -> None:
        """Queue ``result`` for output (``drawn``: its frame already carries the overlay; ``raw``: then a
        copy of the frame without it, for an MCAP of raw images)."""
        if self.error is not None:
            raise self.error
        if self.video or self.jsonl or self.mcap or self.live or self.publishers:
            self._queue.put((result, drawn, repeats, raw))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.error is not None:
                continue  # drain without writing after a failure
            result, drawn, repeats, raw = item
            try:
                self._write(result, drawn, repeats, raw)
            except BaseException as exc:  # re-raised in the main thread
                self.error = exc

    def _write(self, result, drawn: bool, repeats: int, raw) -> None:
        """One frame's outputs; its JSON record, line and scene (the robotics encodings) made once."""
        record = result.to_json() if self.jsonl or self.mcap or self.live or self.publishers else None
        scene = FrameScene(result) if self.mcap or self.publishers else None
        line = json_line(record) if self.jsonl or self.live else None
        if self.jsonl:
            self.jsonl.write_line(line)
        image_mode = self.mcap.image if self.mcap else "none"
        if image_mode == "raw":  # before the overlay is drawn into the frame
            self.mcap.write(result, raw if drawn else result.image, record, scene=scene)
        for publisher in self.publishers:
            publisher.publish(result, record, scene, raw if drawn else result.image)
        if self.video or image_mode == "annotated":
            if not drawn:
                self.overlay.draw(result.image, result)
                drawn = True
            for _ in range(repeats if self.video else 0):
                self.video.write(result.image)
        if image_mode != "raw" and self.mcap:
            self.mcap.write(result, result.image if image_mode == "annotated" else None, record, scene=scene)
        if self.live:  # not drawn: the live view draws the few frames it encodes itself
            self.live.publish(result, result.image if drawn else None, line)

    def __enter__(self) -> "OutputWriter":
        return self

    def __exit__(self, *exc) -> None:
        """Finish everything queued; re-raise a write failure."""
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error
