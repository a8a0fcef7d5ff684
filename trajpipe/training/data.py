"""Trajectory data for training and evaluating forecasters.

Three sources, all turned into a :class:`TrackTable` (positions on a uniform time grid):

* ETH/UCY text files (``frame  id  x  y``, tab separated, metres, one annotation every 0.4 s),
  the Social-GAN leave-one-scene-out layout ``<scene>/{train,val,test}/*.txt``.
* MOTChallenge ``gt.txt`` (``frame,id,x,y,w,h,...``, pixels). Position = **box bottom centre** (the
  ground-contact point that ``trajpipe run`` tracks and forecasts), scale = box height. Needs the fps.
* trajpipe's own JSON-lines output (one object per frame with ``timestamp`` and ``tracks``; each
  track's ``box`` is ``[x1, y1, x2, y2]``). Position = the track's ``point`` (the box's bottom centre),
  scale = box height.

Pixel sources are resampled onto the forecaster's grid (default 0.4 s) by linear interpolation
inside each track's observed time span (never extrapolated). Samples are cut into windows by
:mod:`trajpipe.training.windows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from ..core.anchors import bottom_centre, box_height, xywh_to_xyxy
from ..core.interp import resample
from ..core.schema import read_jsonl
from ..errors import TrajpipeError
from ..forecast.base import STEP_SECONDS


@dataclass
class TrackTable:
    """Positions of every track of one recording on a uniform grid: ``pos`` (F, M, 2) with NaN where a
    track is absent; ``scale`` (F, M) object height in position units (NaN: unknown, i.e. metric)."""

    name: str
    pos: np.ndarray
    scale: np.ndarray
    dt: float


# ----------------------------------------------------------------------------------------- loaders


def _table_from_rows(name: str, frame_idx: np.ndarray, ids: np.ndarray, xy: np.ndarray, scale: np.ndarray, dt: float) -> TrackTable:
    frame_idx = np.asarray(frame_idx, dtype=np.int64)
    frame_idx = frame_idx - frame_idx.min()
    uid, col = np.unique(ids, return_inverse=True)
    F, M = int(frame_idx.max()) + 1, len(uid)
    pos = np.full((F, M, 2), np.nan, dtype=np.float64)
    sc = np.full((F, M), np.nan, dtype=np.float64)
    pos[frame_idx, col] = xy
    sc[frame_idx, col] = scale
    return TrackTable(name, pos, sc, dt)


def eth_ucy_grid_index(frames: np.ndarray) -> np.ndarray:
    """Grid index of each frame number of an ETH/UCY file, one annotation step per index.

    The step is the most common spacing of the sorted distinct frame numbers. A *gap-free run* is a
    stretch of frames each ``step`` after the previous; inside a run the index counts steps, so no two
    frames share an index. After a gap (any other spacing) a new run starts: its index continues
    ``round(gap / step)`` steps on, but always leaves at least one empty index, so no track continues
    across a gap and no window spans one. Recordings whose gaps are whole multiples of the step (every
    Social-GAN file) get the same indices as a single grid counted from the first frame; the ETH file
    at its true 0.4 s step (frame step 6) has gaps after which the frame numbers are offset by 3 or 5,
    which a single grid would round into their neighbours (merging frames, breaking tracks)."""
    frames = np.asarray(frames, dtype=np.float64)
    uniq, inverse = np.unique(frames, return_inverse=True)
    if len(uniq) < 2:
        return np.zeros(len(frames), dtype=np.int64)
    diffs = np.diff(uniq)
    step = max(int(np.bincount(np.round(diffs).astype(np.int64)).argmax()), 1)
    in_run = np.abs(diffs - step) <= 1e-6 * step
    advance = np.where(in_run, 1, np.maximum(2, np.round(diffs / step))).astype(np.int64)
    grid = np.concatenate([[0], np.cumsum(advance)])
    return grid[inverse.reshape(-1)]


def load_eth_ucy(path: str | Path, dt: float = STEP_SECONDS) -> TrackTable:
    """One ETH/UCY ``frame id x y`` file (metres). Frames go onto the grid by
    :func:`eth_ucy_grid_index`: one index per annotated frame within each gap-free run, gaps in the
    recording stay gaps."""
    path = Path(path)
    try:
        a = np.loadtxt(path, ndmin=2)
    except (OSError, ValueError) as e:
        raise TrajpipeError(f"cannot read ETH/UCY file {path}: {e}") from None
    if a.size == 0 or a.shape[1] < 4:
        raise TrajpipeError(f"{path} is not an ETH/UCY 'frame id x y' file")
    idx = eth_ucy_grid_index(a[:, 0])
    return _table_from_rows(path.name, idx, a[:, 1], a[:, 2:4], np.full(len(a), np.nan), dt)


def _resample_rows(name: str, times: np.ndarray, ids: np.ndarray, xy: np.ndarray, h: np.ndarray, dt: float) -> TrackTable:
    """Irregular (time, id, xy, height) samples -> uniform grid of step ``dt`` by per-track linear
    interpolation inside each track's span."""
    order = np.lexsort((times, ids))
    times, ids, xy, h = times[order], ids[order], xy[order], h[order]
    t0 = times.min()
    F = int(np.floor((times.max() - t0) / dt + 1e-9)) + 1
    grid = t0 + dt * np.arange(F)
    uid, start = np.unique(ids, return_index=True)
    bounds = list(start) + [len(ids)]
    pos = np.full((F, len(uid), 2), np.nan)
    sc = np.full((F, len(uid)), np.nan)
    for m in range(len(uid)):
        s, e = bounds[m], bounds[m + 1]
        t = times[s:e]
        t, keep = np.unique(t, return_index=True)
        inside = (grid >= t[0] - 1e-9) & (grid <= t[-1] + 1e-9)
        if not inside.any():
            continue
        pos[inside, m] = resample(t, xy[s:e][keep], grid[inside])
        sc[inside, m] = resample(t, h[s:e][keep, None], grid[inside])[:, 0]
    return TrackTable(name, pos, sc, dt)


def load_mot(path: str | Path, fps: float, dt: float = STEP_SECONDS) -> TrackTable:
    """MOTChallenge ``gt.txt``/``det.txt`` style file: ``frame,id,x,y,w,h,...`` in pixels.
    Position = box bottom centre, scale = box height. Rows with a 7th column (``conf``/``consider``) equal to
    0 are ignored (MOT17 gt marks ignored boxes that way)."""
    path = Path(path)
    if fps is None or fps <= 0:
        raise TrajpipeError("MOTChallenge files need --fps (frames per second of the video)")
    try:
        a = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as e:
        raise TrajpipeError(f"cannot read MOTChallenge file {path}: {e}") from None
    if a.size == 0 or a.shape[1] < 6:
        raise TrajpipeError(f"{path} is not a MOTChallenge 'frame,id,x,y,w,h' file")
    if a.shape[1] >= 7:
        a = a[a[:, 6] != 0]
    boxes = xywh_to_xyxy(a[:, 2:6])
    return _resample_rows(path.name, a[:, 0] / fps, a[:, 1], bottom_centre(boxes), box_height(boxes), dt)


def track_samples(records: Iterable[dict], classes: tuple[str, ...] | None = ("person",), name: str | Path = "tracks"):
    """Every track sample of trajpipe's frame records, for training.

    Args:
        records: frame records as :func:`~trajpipe.core.schema.encode_frame` makes them (read back from
            JSON lines by :func:`~trajpipe.core.schema.read_jsonl`, or ``FrameResult.to_json()``).
        classes: class names to keep (None: all).
        name: where the records come from, for error messages.

    Returns:
        ``(times (S,), ids (S,), points (S, 2), heights (S,))``: seconds, track ids, the record's
        ``point`` (else the box's bottom centre) and the box heights, in pixels.
    """
    times, ids, points, boxes = [], [], [], []
    try:
        for record in records:
            for track in record["tracks"]:
                if classes is not None and track.get("class", "person") not in classes:
                    continue
                if not track.get("visible", True):  # a forecast of where a hidden track is, not a sighting
                    continue
                box = np.asarray(track["box"], np.float64)
                point = track.get("point")
                times.append(float(record["timestamp"]))
                ids.append(int(track["id"]))
                points.append(bottom_centre(box) if point is None else np.asarray(point, np.float64))
                boxes.append(box)
    except (KeyError, TypeError, ValueError) as exc:
        raise TrajpipeError(f"{name} is not a trajpipe JSON-lines tracks file ({exc})") from None
    if not times:
        raise TrajpipeError(f"{name} holds no tracks")
    return np.array(times), np.array(ids), np.array(points, np.float64).reshape(-1, 2), box_height(np.array(boxes))


def records_table(records: Iterable[dict], name: str, dt: float = STEP_SECONDS,
                  classes: tuple[str, ...] | None = ("person",)) -> TrackTable:
    """Frame records (see :func:`track_samples`) as a :class:`TrackTable` on a grid of ``dt`` seconds:
    position = the track's ``point``, scale = box height (pixels). Only tracks of ``classes`` (None: all)."""
    times, ids, points, heights = track_samples(records, classes, name)
    return _resample_rows(name, times, ids, points, heights, dt)


def load_jsonl(path: str | Path, dt: float = STEP_SECONDS, classes: tuple[str, ...] | None = ("person",)) -> TrackTable:
    """trajpipe ``run`` output (JSON lines) as a :class:`TrackTable`: see :func:`records_table`."""
    times, ids, points, heights = track_samples(read_jsonl(path), classes, Path(path))
    return _resample_rows(Path(path).name, times, ids, points, heights, dt)


def eth_ucy_files(root: str | Path, scene: str | None, split: str) -> list[Path]:
    """Files of one split. ``root`` is either a fold directory (``.../eth_ucy/eth``, holding
    train/val/test) or the ``eth_ucy`` root; with the root and ``scene=None`` the split's files of all
    folds are merged (deduplicated by file name), i.e. every scene."""
    root = Path(root)
    if not root.is_dir():
        raise TrajpipeError(f"data directory not found: {root}")
    if scene is not None:
        root = root / scene
        if not root.is_dir():
            raise TrajpipeError(f"scene directory not found: {root}")
    if (root / split).is_dir():
        files = sorted((root / split).glob("*.txt"))
    else:
        seen: dict[str, Path] = {}
        for fold in sorted(p for p in root.iterdir() if (p / split).is_dir()):
            for f in sorted((fold / split).glob("*.txt")):
                seen.setdefault(f.name, f)
        files = [seen[k] for k in sorted(seen)]
    if not files:
        raise TrajpipeError(f"no {split} .txt files under {root}")
    return files


def load_tables(paths, fmt: str = "eth_ucy", fps: float | None = None, dt: float = STEP_SECONDS) -> list[TrackTable]:
    out = []
    for p in paths:
        if fmt == "eth_ucy":
            out.append(load_eth_ucy(p, dt))
        elif fmt == "mot":
            out.append(load_mot(p, fps, dt))
        elif fmt == "jsonl":
            out.append(load_jsonl(p, dt))
        else:
            raise TrajpipeError(f"unknown data format {fmt!r} (use eth_ucy, mot or jsonl)")
    return out
