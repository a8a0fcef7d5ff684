"""One table of every track of every frame of many videos: ``tracks.parquet``, built from the
per-video JSON lines (the record :meth:`trajpipe.results.FrameResult.to_json` writes, read by
:func:`trajpipe.results.read_jsonl`).

One row per track per frame. Columns are the JSON-lines fields, with the forecast's flattened to
``forecast_<key>``, and the video in front. Optional fields (world points, sigma, modes) are null
where the record has none; fields this table does not know are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .results import read_jsonl
from .sinks import AtomicFile

_POINT = pa.list_(pa.float64())  # [x, y]
_POINTS = pa.list_(_POINT)  # [[x, y], ...]

SCHEMA = pa.schema([
    ("video", pa.string()),  # the input video, as the batch named it
    ("frame", pa.int64()),
    ("timestamp", pa.float64()),  # seconds since the start of the video
    ("id", pa.int64()),
    ("class", pa.string()),
    ("conf", pa.float64()),
    ("box", pa.list_(pa.float64())),  # [x1, y1, x2, y2] pixels
    ("point", _POINT),  # bottom centre of the box, pixels
    ("point_world", _POINT),  # ground-plane point (homography configured)
    ("forecast_t", pa.list_(pa.float64())),  # seconds after timestamp
    ("forecast_xy", _POINTS),  # pixels
    ("forecast_sigma", _POINTS),  # per-step standard deviation (x, y), pixels
    ("forecast_xy_world", _POINTS),
    # Alternative futures, most probable first: probability, points, and where given sigma and ground points.
    ("forecast_modes", pa.list_(pa.struct([("p", pa.float64()), ("xy", _POINTS), ("sigma", _POINTS),
                                           ("xy_world", _POINTS)]))),
])
_FORECAST_KEYS = {"t": "forecast_t", "xy": "forecast_xy", "sigma": "forecast_sigma",
                  "xy_world": "forecast_xy_world", "modes": "forecast_modes"}


@dataclass(frozen=True)
class VideoTracks:
    """What one video added to the table."""

    frames: int  # JSON lines, one per processed frame
    rows: int  # tracks over all frames
    track_ids: int  # distinct track ids


def video_table(video: str, jsonl: str | Path) -> tuple[pa.Table, VideoTracks]:
    """The rows of one video's JSON-lines file, in :data:`SCHEMA`."""
    columns: dict[str, list] = {name: [] for name in SCHEMA.names}
    frames, ids = 0, set()
    for record in read_jsonl(jsonl):
        frames += 1
        for track in record["tracks"]:
            ids.add(track["id"])
            columns["video"].append(video)
            columns["frame"].append(record.get("frame"))
            columns["timestamp"].append(record["timestamp"])
            for key in ("id", "class", "conf", "box", "point", "point_world"):
                columns[key].append(track.get(key))
            forecast = track.get("forecast") or {}
            for key, column in _FORECAST_KEYS.items():
                columns[column].append(forecast.get(key))
    table = pa.table(columns, schema=SCHEMA)
    return table, VideoTracks(frames, table.num_rows, len(ids))


def write_tracks_parquet(path: str | Path, videos: list[tuple[str, str | Path]]) -> dict[str, VideoTracks]:
    """Write the tracks of ``videos`` ((name, JSON-lines path) pairs) to one Parquet file, one row
    group per video so memory stays at one video's rows. Atomic: the file appears only when whole."""
    target = AtomicFile(path)
    written: dict[str, VideoTracks] = {}
    try:
        with pq.ParquetWriter(target.partial, SCHEMA) as writer:
            for video, jsonl in videos:
                table, written[video] = video_table(video, jsonl)
                writer.write_table(table)
    except BaseException:
        target.discard()
        raise
    target.commit()
    return written
