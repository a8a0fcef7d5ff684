"""MCAP files (the ROS 2 bag format) of a run's frames, written atomically."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ...core.results import FrameResult
from ...errors import TrajpipeError
from ..frame_scene import FrameScene
from ..sinks import AtomicFile, check_output_path
from .messages import TopicEncoder, TopicMessage
from .schemas import log_time, require_robotics


def check_mcap_output(path: str | Path, inputs: list[Path]) -> Path:
    """Fail early on an MCAP output that could not be written (before any model loads)."""
    if Path(path).suffix.lower() != ".mcap":
        raise TrajpipeError(f"MCAP output must end in .mcap: {path}")
    require_robotics()
    return check_output_path(path, inputs, "MCAP")


class McapSink:
    """An MCAP file of a run's frames, written under a hidden name and renamed when closed (with at
    least one frame and ``keep``): the file under the final name always has its summary. A context
    manager: on exit the file is committed when ``keep`` is true, else discarded.

    ``image``: ``raw``, ``annotated`` or ``none`` (config key ``mcap_image``). ``world``: write the 3D
    scene and the markers (needs ground points: a homography, and for the world frame a pose);
    None decides on the first frame (a pose or a track on the ground). ``overlay`` draws the
    annotated image when :meth:`write` is not given one. :meth:`for_pipeline` takes all this from a
    pipeline. Thread-safe: :meth:`close` waits for a write in progress.
    """

    def __init__(self, path: str | Path, image: str = "raw", world: bool | None = None, trail_seconds: float = 2.0,
                 overlay=None, keep: bool = True):
        self.encoder = TopicEncoder(image, world, trail_seconds, overlay)
        require_robotics()
        from mcap.writer import CompressionType, Writer

        self.keep = keep
        self.file = AtomicFile(path)
        try:
            self._stream = open(self.file.partial, "wb")
        except OSError as exc:
            raise TrajpipeError(f"cannot write MCAP {self.file.path}: {exc.strerror}") from None
        # Chunks compressed only without images: JPEG does not compress, and LZ4 over it cost the writer
        # thread 1-4 ms a frame; without images, LZ4 shrinks the JSON and the geometry 4-5x for little CPU.
        compression = CompressionType.LZ4 if image == "none" else CompressionType.NONE
        self._writer = Writer(self._stream, compression=compression)
        from ...version import __version__

        self._writer.start(profile="", library=f"trajpipe {__version__}")
        self._channels: dict[str, int] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.frames = 0

    @property
    def image(self) -> str:
        return self.encoder.image

    @classmethod
    def for_pipeline(cls, path: str | Path, pipeline, keep: bool = True) -> "McapSink":
        """A sink for ``pipeline``'s results (a :class:`~trajpipe.Pipeline`): its ``mcap_image`` and
        ``trail_seconds``, the scene when it has a ground plane, and its overlay for annotated images."""
        config = pipeline.config
        overlay = None
        if config.mcap_image == "annotated":
            from ...draw.overlay import Overlay

            overlay = Overlay.from_config(config)
        return cls(path, config.mcap_image, pipeline.ground is not None, config.trail_seconds, overlay, keep)

    def write(self, result: FrameResult, image: np.ndarray | bytes | None = None, record: dict | None = None,
              messages: list[TopicMessage] | None = None, scene: FrameScene | None = None) -> None:
        """Record ``result`` at its timestamp. ``image``: the BGR frame to record, or its JPEG bytes (the
        annotated frame for ``annotated``); default ``result.image`` (drawn on a copy for ``annotated``).
        ``record``: the result's JSON-lines record when the caller has it already; ``messages``: all its
        messages, from :meth:`TopicEncoder.encode` (shared with a Foxglove live server)."""
        stamp = log_time(result.timestamp)
        if messages is None:
            messages = self.encoder.encode(result, image, record, scene)
        with self._lock:
            if self._closed:
                raise TrajpipeError(f"MCAP {self.file.path} is closed")
            for topic, schema, data in messages:
                channel = self._channels.get(topic) or self._register(topic, *schema)
                self._writer.add_message(channel, stamp, data, stamp, sequence=self.frames)
            self.frames += 1

    def _register(self, topic: str, name: str, schema_encoding: str, schema: bytes, message_encoding: str) -> int:
        schema_id = self._writer.register_schema(name, schema_encoding, schema)
        self._channels[topic] = self._writer.register_channel(topic, message_encoding, schema_id)
        return self._channels[topic]

    def close(self, commit: bool = True) -> None:
        """Write the summary and rename; with no frame written, or ``commit`` False, leave any existing output
        untouched."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            committed = False
            try:
                self._writer.finish()  # the summary and the index: what makes the file whole
                self._stream.close()
                if self.frames and commit:
                    self.file.commit()
                    committed = True
            finally:  # also when finishing failed or was interrupted (a second Ctrl-C): no half file is left
                self._stream.close()
                if not committed:
                    self.file.discard()

    def __enter__(self) -> "McapSink":
        return self

    def __exit__(self, *exc) -> None:
        self.close(commit=self.keep)
