"""The JSON-lines record of a frame (docs/outputs.md), written and read here, and the Parquet
columns of ``tracks.parquet`` declared from the same fields.

A record: ``{"frame", "timestamp", "camera", "tracks": [...], "latency"?, "adaptation"?}``; each track
``{"id", "class", "conf", "box", "point", "visible"?, "hidden_for"?, "point_world"?, "forecast"?}``
(``visible`` false and ``hidden_for`` seconds only on tracks the tracker lost and still looks for); a forecast
``{"t", "xy", "sigma"?, "xy_world"?, "sigma_world"?, "modes"?: [{"p", "xy", "sigma"?, "xy_world"?}]}``.
Positions in pixels (``*_world``: ground units), times in seconds, ``camera`` the transform from
the previous frame's pixels to this frame's: a (2, 3) affine warp, or (3, 3) when it is a homography.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import TrajpipeError

@dataclass(frozen=True)
class Field:
    """One key of the frame record: the one list the JSON-lines encoder (:func:`encode_frame`), the
    Parquet columns (:data:`PARQUET_COLUMNS`) and the JSON Schema (:func:`frame_json_schema`) are made from.

    ``kind``: integer | number | string | floats (a list of numbers) | point ([x, y]) | points (a list of
    them) | matrix | tracks | forecast | modes. ``encode(obj, r)``: the value written for ``obj`` (``r``
    rounds an array to the record's digits), None to leave the key out. ``table``: a column of
    ``tracks.parquet`` (forecast keys as ``forecast_<key>``)."""

    key: str
    kind: str
    doc: str
    encode: Callable[[Any, Callable], Any]
    required: bool = False
    table: bool = True


def _optional(value, r) -> list | None:
    return None if value is None else r(value)


def _camera(result, r) -> list:
    camera = np.round(np.asarray(np.eye(2, 3) if result.camera is None else result.camera, np.float64), 6)
    if len(camera) == 3:  # a homography's perspective terms are per pixel: tiny, and kept to 10 decimals
        camera[2] = np.round(result.camera[2], 10)
    return camera.tolist()


def _records(fields: tuple[Field, ...], obj, r) -> dict:
    """The record of ``obj``: every field of ``fields`` in order, those without a value left out."""
    record = {}
    for f in fields:
        value = f.encode(obj, r)
        if value is not None:
            record[f.key] = value
    return record


MODE_FIELDS = (  # each of a forecast's alternative futures; encoded by _mode_records (attributes of core.results.ModeSet)
    Field("p", "number", "probability (the modes' sum to 1)", lambda m, r: m.probs),
    Field("xy", "points", "pixels", lambda m, r: m.points),
    Field("sigma", "points", "per-step standard deviation (x, y), pixels", lambda m, r: m.sigma),
    Field("xy_world", "points", "ground units", lambda m, r: m.points_world),
)
FORECAST_FIELDS = (
    Field("t", "floats", "seconds after timestamp", lambda f, r: r(f.times)),
    Field("xy", "points", "pixels (bottom centre of the box)", lambda f, r: r(f.points)),
    Field("sigma", "points", "per-step standard deviation (x, y), pixels", lambda f, r: _optional(f.sigma, r)),
    Field("xy_world", "points", "ground units", lambda f, r: _optional(f.points_world, r)),
    Field("sigma_world", "points", "per-step standard deviation on the ground (x, y)",
          lambda f, r: None if f.sigma_world is None else np.round(f.sigma_world, 4).tolist(), table=False),
    Field("modes", "modes", "alternative futures, most probable first: p, xy, sigma, xy_world",
          lambda f, r: None if f.modes is None else _mode_records(f.modes, r)),
)
TRACK_FIELDS = (
    Field("id", "integer", "track id", lambda t, r: t.id, required=True),
    Field("class", "string", "class name", lambda t, r: t.class_name, required=True),
    Field("conf", "number", "detection confidence", lambda t, r: round(t.confidence, 3), required=True),
    Field("box", "floats", "[x1, y1, x2, y2] pixels", lambda t, r: r(t.box), required=True),
    Field("point", "point", "bottom centre of the box, pixels (a hidden track: where it is estimated to be)",
          lambda t, r: r(t.point), required=True),
    Field("visible", "boolean", "false: a track the tracker lost and still looks for (only on those)",
          lambda t, r: None if t.visible else False, table=False),
    Field("hidden_for", "number", "seconds since a hidden track was last seen (only on those)",
          lambda t, r: None if t.visible else round(t.hidden_for, 3), table=False),
    Field("point_world", "point", "ground-plane point (homography configured)", lambda t, r: _optional(t.point_world, r)),
    Field("forecast", "forecast", "where the track will be",
          lambda t, r: None if t.forecast is None else _records(FORECAST_FIELDS, t.forecast, r), table=False),
)
FRAME_FIELDS = (
    Field("frame", "integer", "the frame's index in the source", lambda f, r: f.frame_index, required=True),
    Field("timestamp", "number", "seconds since the start of the video", lambda f, r: round(f.timestamp, 4),
          required=True),
    Field("camera", "matrix", "(2, 3) warp, or (3, 3) homography, from the previous frame's pixels", _camera,
          required=True, table=False),
    Field("tracks", "tracks", "the tracks of the frame", lambda f, r: [_records(TRACK_FIELDS, t, r) for t in f.tracks],
          required=True, table=False),
    Field("latency", "number", "seconds from capture to result (live sources)",
          lambda f, r: None if f.latency is None else round(f.latency, 4), table=False),
    Field("adaptation", "object", "the scene adaptation's state: adapted, windows, shrink, sigma_scale (adapt_to_scene)",
          lambda f, r: None if f.adaptation is None else f.adaptation.to_json(), table=False),
)

# The Parquet columns of one track in one frame, in order: (column, type). Types are named here and
# made into Arrow types by trajpipe.io.tracks_table. ``video`` is the input as the batch named it;
# the others are the record's fields, the forecast's flattened to ``forecast_<key>``.
_COLUMN_TYPES = {"integer": "int64", "number": "float64", "string": "string", "floats": "floats", "point": "point",
                 "points": "points", "modes": "modes"}
# A hidden track's two keys are in the record only where they differ from a visible track's; every row has them.
HIDDEN_COLUMNS = (("visible", "bool"), ("hidden_for", "float64"))
PARQUET_COLUMNS = (("video", "string"), *((f.key, _COLUMN_TYPES[f.kind]) for f in FRAME_FIELDS if f.table),
                   *((f.key, _COLUMN_TYPES[f.kind]) for f in TRACK_FIELDS if f.table), *HIDDEN_COLUMNS,
                   *((f"forecast_{f.key}", _COLUMN_TYPES[f.kind]) for f in FORECAST_FIELDS if f.table))
TRACK_KEYS = tuple(f.key for f in TRACK_FIELDS if f.table)  # copied as they are into the table
FORECAST_KEYS = tuple(f.key for f in FORECAST_FIELDS if f.table)  # into forecast_<key>
MODE_KEYS = tuple(f.key for f in MODE_FIELDS)


def encode_frame(result, ndigits: int = 2) -> dict:
    """The JSON-lines record of a frame, its keys in the order of :data:`FRAME_FIELDS`.

    Args:
        result: a :class:`~trajpipe.core.results.FrameResult`.
        ndigits: decimals of positions and times in pixels and ground units.

    Returns:
        The record as plain Python values (what ``orjson.dumps`` writes as one JSON line).
    """
    def r(a) -> list:
        return np.round(np.asarray(a, np.float64), ndigits).tolist()

    return _records(FRAME_FIELDS, result, r)


def _mode_records(modes, r) -> list[dict]:
    """The ``forecast.modes`` list of a record. Each array is rounded once for all modes: this runs
    for every track of every frame on the output thread."""
    rounded = {f.key: r(value) for f in MODE_FIELDS if f.key != "p" and (value := f.encode(modes, r)) is not None}
    return [{"p": round(float(p), 3), **{key: value[m] for key, value in rounded.items()}}
            for m, p in enumerate(modes.probs.tolist())]


_JSON_KINDS = {"integer": {"type": "integer"}, "number": {"type": "number"}, "string": {"type": "string"},
               "floats": {"type": "array", "items": {"type": "number"}},
               "point": {"type": "array", "items": {"type": ["number", "null"]}, "minItems": 2, "maxItems": 2},
               "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
               "boolean": {"type": "boolean"}, "object": {"type": "object"}}
_JSON_KINDS["points"] = {"type": "array", "items": _JSON_KINDS["point"]}


def _json_object(fields: tuple[Field, ...]) -> dict:
    nested = {"tracks": lambda: {"type": "array", "items": _json_object(TRACK_FIELDS)},
              "forecast": lambda: _json_object(FORECAST_FIELDS),
              "modes": lambda: {"type": "array", "items": _json_object(MODE_FIELDS)}}
    properties = {f.key: {**(nested[f.kind]() if f.kind in nested else _JSON_KINDS[f.kind]), "description": f.doc}
                  for f in fields}
    out = {"type": "object", "properties": properties}
    required = [f.key for f in fields if f.required]
    return {**out, "required": required} if required else out


def frame_json_schema() -> dict:
    """The JSON Schema of one frame record, made from :data:`FRAME_FIELDS` (what an MCAP file declares
    for its forecasts topic).

    Returns:
        A JSON Schema (draft 2020-12 keywords) as a dict.
    """
    return {"title": "trajpipe.FrameRecord",
            "description": "One frame of trajpipe's JSON lines: tracks (pixels; *_world: ground units) and their forecasts",
            **_json_object(FRAME_FIELDS)}


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
