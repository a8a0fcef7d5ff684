"""The JSON-lines record of a frame (docs/outputs.md), written and read here, and the Parquet
columns of ``tracks.parquet`` declared from the same fields.

A record: ``{"frame", "timestamp", "camera", "tracks": [...], "latency"?}``; each track
``{"id", "class", "conf", "box", "point", "visible"?, "hidden_for"?, "point_world"?, "forecast"?}``
(``visible`` false and ``hidden_for`` seconds only on tracks the tracker lost and still looks for); a forecast
``{"t", "xy", "sigma"?, "xy_world"?, "sigma_world"?, "modes"?: [{"p", "xy", "sigma"?, "xy_world"?}]}``.
Positions in pixels (``*_world``: ground units), times in seconds, ``camera`` the transform from
the previous frame's pixels to this frame's: a (2, 3) affine warp, or (3, 3) when it is a homography.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import TrajpipeError
from .anchors import bottom_centre, box_height

# The Parquet columns of one track in one frame, in order: (column, type). Types are named here and
# made into Arrow types by trajpipe.io.tracks_table. ``video`` is the input as the batch named it;
# the others are the record's fields, the forecast's flattened to ``forecast_<key>``.
PARQUET_COLUMNS = (
    ("video", "string"),
    ("frame", "int64"),
    ("timestamp", "float64"),  # seconds since the start of the video
    ("id", "int64"),
    ("class", "string"),
    ("conf", "float64"),
    ("box", "floats"),  # [x1, y1, x2, y2] pixels
    ("point", "point"),  # bottom centre of the box, pixels
    ("point_world", "point"),  # ground-plane point (homography configured)
    ("visible", "bool"),  # false: a track the tracker lost, its point continued from its last forecast
    ("hidden_for", "float64"),  # seconds since a hidden track was last seen (0 for visible tracks)
    ("forecast_t", "floats"),  # seconds after timestamp
    ("forecast_xy", "points"),  # pixels
    ("forecast_sigma", "points"),  # per-step standard deviation (x, y), pixels
    ("forecast_xy_world", "points"),
    ("forecast_modes", "modes"),  # alternative futures, most probable first: p, xy, sigma, xy_world
)
TRACK_KEYS = ("id", "class", "conf", "box", "point", "point_world")  # copied as they are into the table
FORECAST_KEYS = ("t", "xy", "sigma", "xy_world", "modes")  # into forecast_<key>
MODE_KEYS = ("p", "xy", "sigma", "xy_world")


def encode_frame(result, ndigits: int = 2) -> dict:
    """The JSON-lines record of a :class:`~trajpipe.core.results.FrameResult`."""
    def r(a) -> list:
        return np.round(np.asarray(a, np.float64), ndigits).tolist()

    tracks = []
    for t in result.tracks:
        record = {"id": t.id, "class": t.class_name, "conf": round(t.confidence, 3), "box": r(t.box),
                  "point": r(t.point)}
        if not t.visible:  # only hidden tracks carry these: visible tracks' records stay as they were
            record["visible"], record["hidden_for"] = False, round(t.hidden_for, 3)
        if t.point_world is not None:
            record["point_world"] = r(t.point_world)
        if t.forecast is not None:
            forecast = record["forecast"] = {"t": r(t.forecast.times), "xy": r(t.forecast.points)}
            if t.forecast.sigma is not None:
                forecast["sigma"] = r(t.forecast.sigma)
            if t.forecast.points_world is not None:
                forecast["xy_world"] = r(t.forecast.points_world)
            if t.forecast.sigma_world is not None:
                forecast["sigma_world"] = np.round(t.forecast.sigma_world, 4).tolist()
            if t.forecast.modes is not None:
                forecast["modes"] = _mode_records(t.forecast.modes, r)
        tracks.append(record)
    camera = np.round(np.asarray(np.eye(2, 3) if result.camera is None else result.camera, np.float64), 6)
    if len(camera) == 3:  # a homography's perspective terms are per pixel: tiny, and kept to 10 decimals
        camera[2] = np.round(result.camera[2], 10)
    record = {"frame": result.frame_index, "timestamp": round(result.timestamp, 4),
              "camera": camera.tolist(), "tracks": tracks}
    if result.latency is not None:
        record["latency"] = round(result.latency, 4)
    if result.adaptation is not None:
        record["adaptation"] = result.adaptation.to_json()
    return record


def _mode_records(modes, r) -> list[dict]:
    """The ``forecast.modes`` list of a record. Each array is rounded once for all modes: this runs
    for every track of every frame on the output thread."""
    fields = {"xy": modes.points, "sigma": modes.sigma, "xy_world": modes.points_world}
    rounded = {key: r(value) for key, value in fields.items() if value is not None}
    return [{"p": round(float(p), 3), **{key: value[m] for key, value in rounded.items()}}
            for m, p in enumerate(modes.probs.tolist())]


def read_jsonl(path: str | Path) -> Iterator[dict]:
    """The frame records of a JSON-lines file written by :func:`encode_frame`, in order. Blank lines
    are skipped; a line that is not a frame record is a :class:`TrajpipeError` naming it."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as lines:
            for line_no, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise TrajpipeError(f"{path}:{line_no}: not a JSON line ({exc})") from None
                if not isinstance(record, dict) or not isinstance(record.get("tracks"), list) or "timestamp" not in record:
                    raise TrajpipeError(f"{path}:{line_no}: not a trajpipe frame record (needs 'timestamp' and 'tracks')")
                yield record
    except OSError as exc:
        raise TrajpipeError(f"cannot read tracks file {path}: {exc}") from None


def parquet_row(video: str, record: dict, track: dict) -> dict:
    """One row of :data:`PARQUET_COLUMNS` for ``track`` of the frame ``record``; fields the record
    lacks are None."""
    forecast = track.get("forecast") or {}
    return {"video": video, "frame": record.get("frame"), "timestamp": record["timestamp"],
            **{key: track.get(key) for key in TRACK_KEYS},
            "visible": track.get("visible", True), "hidden_for": track.get("hidden_for", 0.0),
            **{f"forecast_{key}": forecast.get(key) for key in FORECAST_KEYS}}


def track_samples(path: str | Path, classes: tuple[str, ...] | None = ("person",)):
    """Every track sample of a JSON-lines file, for training: ``(times (S,), ids (S,), points (S, 2),
    heights (S,))``, positions the record's ``point`` (else the box's bottom centre), heights the box
    heights (pixels). Only tracks of ``classes`` (None: all)."""
    path = Path(path)
    times, ids, points, boxes = [], [], [], []
    try:
        for record in read_jsonl(path):
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
        raise TrajpipeError(f"{path} is not a trajpipe JSON-lines tracks file ({exc})") from None
    if not times:
        raise TrajpipeError(f"{path} holds no tracks")
    return np.array(times), np.array(ids), np.array(points, np.float64).reshape(-1, 2), box_height(np.array(boxes))
