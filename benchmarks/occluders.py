"""Occluders painted onto copies of a video, and the detector's boxes of each copy cached on disk
(the part of ``benchmarks/occlusion.py`` that costs detector time).

An occluder is a grey rectangle, fixed or moving, given per frame as ``(x0, y0, x1, y1)`` pixels: a
pillar (full height), a band (full width) or a box sliding across the frame over the clip.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from trajpipe.video.sources import open_source  # noqa: E402

GREY = (128, 128, 128)
PERSON = 0  # COCO class id
CACHE = Path(os.environ.get("TRAJPIPE_OCCLUSION_CACHE", REPO / "runs" / "occlusion"))


@dataclass(frozen=True)
class Occluder:
    """A grey rectangle: ``kind`` pillar | band | sliding box; ``start`` and ``end`` its (x0, y0, x1, y1)
    pixels on the first and last frame (equal unless it slides), ``frames`` the clip's length."""

    kind: str
    start: tuple[int, int, int, int]
    end: tuple[int, int, int, int]
    frames: int

    def rect(self, index: int) -> np.ndarray:
        """(4,) x0, y0, x1, y1 pixels on frame ``index``."""
        share = min(max(index / max(self.frames - 1, 1), 0.0), 1.0)
        return np.round(np.add(np.multiply(self.start, 1 - share), np.multiply(self.end, share))).astype(int)

    def paint(self, image: np.ndarray, index: int) -> np.ndarray:
        """A copy of ``image`` with the occluder painted over it."""
        x0, y0, x1, y1 = self.rect(index)
        painted = image.copy()
        painted[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = GREY
        return painted

    def key(self) -> str:
        return f"{self.kind.replace(' ', '')}_{'-'.join(map(str, self.start))}_{'-'.join(map(str, self.end))}"


def frames(video: str, max_frames: int | None, occluder: Occluder | None = None):
    """(index, timestamp, BGR image) of the video, the occluder painted over each frame."""
    with open_source(video) as source:
        for frame in source:
            if max_frames is not None and frame.index >= max_frames:
                break
            image = frame.image if occluder is None else occluder.paint(frame.image, frame.index)
            yield frame.index, frame.timestamp, image


def detections(video: str, max_frames: int | None, occluder: Occluder | None, weights: str) -> list[np.ndarray]:
    """(N, 6) ``[x1, y1, x2, y2, conf, class]`` person boxes of every frame, found by trajpipe's own
    detector stage at the pipeline's defaults (conf 0.1, NMS IoU 0.7), from the cache or from one pass."""
    name = f"{Path(video).stem}_{max_frames or 'all'}_{'clear' if occluder is None else occluder.key()}.npz"
    path = CACHE / name
    if path.is_file():
        with np.load(path) as saved:
            return [saved[f"f{i}"] for i in range(len(saved.files))]
    from trajpipe.video.openvino import OpenVinoNetwork

    network = OpenVinoNetwork(weights, 0.1, 0.7, [PERSON])
    boxes = [network.detect(image) for _, _, image in frames(video, max_frames, occluder)]
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{f"f{i}": b for i, b in enumerate(boxes)})
    return boxes


def candidates(kind: str, width: int, height: int, frames_count: int, size: int) -> list[Occluder]:
    """Occluders of ``kind`` at every position (10 px apart) of a ``width`` x ``height`` frame; ``size``
    is the pillar's width, the band's height or the sliding box's width (its height: 60 % of the frame)."""
    if kind == "pillar":
        return [Occluder(kind, (x, 0, x + size, height), (x, 0, x + size, height), frames_count)
                for x in range(0, width - size + 1, 10)]
    if kind == "band":
        return [Occluder(kind, (0, y, width, y + size), (0, y, width, y + size), frames_count)
                for y in range(0, height - size + 1, 10)]
    tall = int(0.6 * height)
    return [Occluder(kind, (0, y, size, y + tall), (width - size, y, width, y + tall), frames_count)
            for y in range(0, height - tall + 1, 10)]


def bare_tracks(boxes: list[np.ndarray], shape) -> list[dict[int, np.ndarray]]:
    """{id: box} per frame: trajpipe's ByteTrack settings on ``boxes`` alone (no pipeline around it)."""
    from trajpipe.tracking.tracker import BoxTracker

    tracker, blank = BoxTracker("configs/tracker.yaml"), np.zeros(shape, np.uint8)
    out = []
    for frame_boxes in boxes:
        tracked = tracker.update(frame_boxes, blank)
        out.append({int(i): box for i, box in zip(tracked.tracker_id, tracked.xyxy)})
    return out


def passes(tracks: list[dict], occluder: Occluder) -> int:
    """How many times a box centre of ``tracks`` enters ``occluder`` and leaves it later."""
    inside: dict[int, list[bool]] = {}
    for f, frame in enumerate(tracks):
        x0, y0, x1, y1 = occluder.rect(f)
        for track_id, b in frame.items():
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            inside.setdefault(track_id, []).append(x0 <= cx < x1 and y0 <= cy < y1)
    count = 0
    for flags in inside.values():
        steps = np.diff(np.array(flags, int))
        entries, exits = np.flatnonzero(steps == 1), np.flatnonzero(steps == -1)
        count += sum(1 for entry in entries if (exits > entry).any())
    return count


def choose(kind: str, size: int, clear_boxes: list[np.ndarray], shape) -> Occluder:
    """The occluder of ``kind`` that the most tracks of the clear video cross."""
    tracks = bare_tracks(clear_boxes, shape)
    options = candidates(kind, shape[1], shape[0], len(clear_boxes), size)
    return max(options, key=lambda occluder: passes(tracks, occluder))
