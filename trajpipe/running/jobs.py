"""The videos of a batch and where their outputs go: inputs found (files, directories, patterns), one
stable output name each, one :class:`VideoJob` per video."""

from __future__ import annotations

import glob
import hashlib
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import TrajpipeError
from ..io.sinks import AtomicFile

VIDEO_EXTENSIONS = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}


@dataclass(frozen=True)
class VideoJob:
    """One input video and where its outputs go (absolute paths: workers may run elsewhere)."""

    input: str  # the input as found (for the summary and the table's ``video`` column)
    path: str  # absolute input path
    jsonl: str
    video: str | None  # None: --no-video
    mcap: str | None = None  # None: no --output-mcap

    @property
    def outputs(self) -> list[str]:
        return [p for p in (self.jsonl, self.video, self.mcap) if p]

    def complete(self) -> bool:
        """Every output is there under its final name (written only once a whole video is done)."""
        return all(Path(p).is_file() for p in self.outputs)

    def discard_partial(self) -> None:
        """Remove the hidden temporary files a killed worker may have left."""
        for path in self.outputs:
            AtomicFile(path).discard()

    def entry(self, status: str, frames: int | None = None, seconds: float | None = None,
              track_ids: int | None = None, error: str | None = None) -> dict:
        """This video's line of ``summary.json``; a failed or interrupted video lists no outputs (none were written)."""
        outputs = {} if status in ("failed", "interrupted") else {"jsonl": self.jsonl, "video": self.video, "mcap": self.mcap}
        return {"input": self.input, "status": status, "frames": frames,
                "seconds": None if seconds is None else round(seconds, 3),
                "fps": round(frames / seconds, 2) if frames and seconds else None,
                "track_ids": track_ids, "outputs": outputs, "error": error}


def find_videos(inputs: list[str], out: Path) -> list[str]:
    """Video files of ``inputs``: files as given, directories searched recursively for video
    extensions, glob patterns expanded; duplicates dropped, order kept. Files under ``out`` found by
    a directory or pattern are left out (they are this batch's own outputs). A named file that does
    not exist is kept: it becomes a ``failed`` entry, not the end of the batch."""
    out = out.resolve()
    found: list[str] = []
    for spec in inputs:
        path = Path(spec)
        if path.is_dir():
            matches = sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())
        elif path.exists() or not any(c in spec for c in "*?["):
            found.append(spec)
            continue
        else:
            matches = sorted(p for p in glob.glob(spec, recursive=True) if Path(p).is_file())
        matches = [m for m in matches if not Path(m).resolve().is_relative_to(out)]
        if not matches:
            print(f"trajpipe: no videos found in {spec}", file=sys.stderr)
        found.extend(matches)
    unique, seen = [], set()
    for spec in found:
        key = Path(spec).resolve()
        if key not in seen:
            seen.add(key)
            unique.append(spec)
    return unique


def output_names(inputs: list[str]) -> list[str]:
    """An output name per input: its file name without extension, plus a short hash of its absolute
    path where two inputs share a name (``a/clip.mp4``, ``b/clip.mp4``). Stable from run to run for
    the same inputs, so a rerun finds its outputs."""
    stems = [Path(p).stem for p in inputs]
    counts = Counter(stems)
    return [stem if counts[stem] == 1 else f"{stem}-{hashlib.sha1(str(Path(p).resolve()).encode()).hexdigest()[:8]}"
            for stem, p in zip(stems, inputs)]


def plan_jobs(inputs: list[str], out: str | Path, video: bool = True, mcap: bool = False) -> list[VideoJob]:
    """One :class:`VideoJob` per input video (see :func:`find_videos`), outputs under ``out``."""
    out = Path(out).resolve()
    found = find_videos(inputs, out)
    if not found:
        raise TrajpipeError(f"no input videos in {' '.join(inputs)}")
    return [VideoJob(spec, str(Path(spec).resolve()), str(out / f"{name}.jsonl"),
                     str(out / f"{name}.mp4") if video else None, str(out / f"{name}.mcap") if mcap else None)
            for spec, name in zip(found, output_names(found))]


