"""Frame sources: timestamped frames from a video file (live sources build on the same ``Frame``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .errors import TrajpipeError


@dataclass(frozen=True)
class Frame:
    index: int
    timestamp: float  # seconds since the start of the source
    image: np.ndarray  # BGR, HxWx3 uint8


class VideoFileSource:
    """Reads a video file with OpenCV's FFmpeg backend. Timestamps come from the container
    (presentation time), so variable frame rates and dropped frames keep their real timing."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
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
        self.size = (self._first[1].shape[1], self._first[1].shape[0])

    def _read(self) -> tuple[float, np.ndarray] | None:
        ok, image = self._cap.read()
        if not ok or image is None:
            return None
        return self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, image

    def __iter__(self) -> Iterator[Frame]:
        index, item, last_time = 0, self._first, -1.0
        while item is not None:
            timestamp, image = item
            if timestamp <= last_time:  # container without usable timestamps: fall back to the nominal rate
                timestamp = index / self.fps if self.fps > 0 else last_time + 1 / 30
            yield Frame(index, timestamp, image)
            index, last_time = index + 1, timestamp
            item = self._read()

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> "VideoFileSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_source(source: str | int | Path) -> VideoFileSource:
    """A frame source for ``source``: a video file path."""
    return VideoFileSource(source)
