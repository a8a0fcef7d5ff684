"""Outputs written atomically: a temporary file beside the target, renamed over it when done,
so an existing output is never replaced by a half-written one."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np
import orjson

from ..errors import TrajpipeError

VIDEO_CODECS = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}


def check_output_path(path: str | Path, inputs: list[Path], kind: str) -> Path:
    """Fail early on an output that could not be written or would destroy an input."""
    path = Path(path)
    if not path.parent.is_dir():
        raise TrajpipeError(f"{kind} output directory does not exist: {path.parent}")
    if path.is_dir():
        raise TrajpipeError(f"{kind} output is a directory: {path}")
    for source in inputs:
        if path.resolve() == source.resolve() or (path.exists() and source.exists() and path.samefile(source)):
            raise TrajpipeError(f"{kind} output would overwrite its input: {path}")
    return path


def video_codec(path: str | Path) -> str:
    """The FourCC to write ``path`` with, chosen by its extension."""
    codec = VIDEO_CODECS.get(Path(path).suffix.lower())
    if codec is None:
        raise TrajpipeError(f"video output must end in {', '.join(VIDEO_CODECS)}: {path}")
    return codec


class AtomicFile:
    """A ``path`` whose content lives at a hidden temporary name until :meth:`commit`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.partial = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")

    def commit(self) -> None:
        os.replace(self.partial, self.path)

    def discard(self) -> None:
        self.partial.unlink(missing_ok=True)

    def finish(self, keep: bool) -> None:
        """Commit or discard: what every sink does when it closes.

        Args:
            keep: True renames the written file over ``path``; False removes it, and any file
                already at ``path`` stays untouched.
        """
        if keep:
            self.commit()
        else:
            self.discard()


class _Sink:
    """A sink is a context manager: on exit the file is committed under its final name when ``keep``
    is true (or nothing was written: then any existing file stays untouched), else discarded."""

    keep: bool = True

    def close(self, commit: bool = True) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close(commit=self.keep)


class VideoSink(_Sink):
    """Annotated frames to an MP4 (mp4v) or AVI (MJPG) file at the source's frame rate."""

    def __init__(self, path: str | Path, fps: float, keep: bool = True):
        self.keep = keep
        self.file = AtomicFile(path)
        self.fourcc = cv2.VideoWriter_fourcc(*video_codec(path))
        self.fps = fps if fps > 0 else 25.0
        self.writer: cv2.VideoWriter | None = None
        self.size: tuple[int, int] | None = None  # (width, height) of the first frame, kept for the file
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        height, width = image.shape[:2]
        if self.writer is None:
            self.size = (width, height)
            self.writer = cv2.VideoWriter(str(self.file.partial), self.fourcc, self.fps, self.size)
            if not self.writer.isOpened():
                raise TrajpipeError(f"cannot write video {self.file.path}")
        if (width, height) != self.size:  # e.g. a camera back at another resolution: the encoder would drop it
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(image)
        self.frames += 1

    def close(self, commit: bool = True) -> None:
        """Finish the file; with no frame written, or ``commit`` False, leave any existing output untouched."""
        if self.writer is not None:
            self.writer.release()
            self.writer = None
        self.file.finish(bool(self.frames) and commit)


def json_line(record: dict) -> bytes:
    """``record`` as one line of JSON (no newline): what JsonlSink writes and the live view sends.

    orjson: a frame's record is thousands of floats, which the standard json module writes 8x slower
    (1.4 against 0.17 ms a frame with 30 tracks and 3 modes each)."""
    return orjson.dumps(record)


class JsonlSink(_Sink):
    """One JSON object per line, flushed per frame; ``-`` writes to standard output."""

    def __init__(self, path: str | Path, keep: bool = True):
        self.keep = keep
        self.to_stdout = str(path) == "-"
        self.file = None if self.to_stdout else AtomicFile(path)
        self.stream = sys.stdout if self.to_stdout else open(self.file.partial, "w", encoding="utf-8")
        self.lines = 0

    def write(self, record: dict) -> None:
        self.write_line(json_line(record))

    def write_line(self, line: bytes) -> None:
        """Write a record already encoded by :func:`json_line`."""
        self.stream.write(line.decode() + "\n")
        self.stream.flush()
        self.lines += 1

    def close(self, commit: bool = True) -> None:
        """Finish the file; with no line written, or ``commit`` False, leave any existing output untouched."""
        if self.to_stdout:
            return
        self.stream.close()
        self.file.finish(bool(self.lines) and commit)
