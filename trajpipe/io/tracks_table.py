"""One table of every track of every frame of many videos: ``tracks.parquet``, built from the
per-video JSON lines. Its columns are declared with the JSON-lines record, in
:mod:`trajpipe.core.schema` (:data:`~trajpipe.core.schema.PARQUET_COLUMNS`).

One row per track per frame. Optional fields (world points, sigma, modes) are null where the record
has none; fields this table does not know are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..core.schema import PARQUET_COLUMNS, parquet_row, read_jsonl
from .sinks import AtomicFile

_POINT = pa.list_(pa.float64())  # [x, y]
_POINTS = pa.list_(_POINT)  # [[x, y], ...]
ARROW_TYPES = {
    "string": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(),
    "floats": pa.list_(pa.float64()), "point": _POINT, "points": _POINTS,
    "modes": pa.list_(pa.struct([("p", pa.float64()), ("xy", _POINTS), ("sigma", _POINTS), ("xy_world", _POINTS)])),
}
SCHEMA = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in PARQUET_COLUMNS])


@dataclass(frozen=True)
class VideoTracks:
    """What one video added to the table.

    Attributes:
        frames: JSON lines, one per processed frame.
        rows: tracks over all frames.
        track_ids: distinct track ids.
    """

    frames: int
    rows: int
    track_ids: int


def video_table(video: str, jsonl: str | Path) -> tuple[pa.Table, VideoTracks]:
    """The rows of one video's JSON-lines file.

    Args:
        video: the video's name, for the ``video`` column.
        jsonl: its JSON-lines file.

    Returns:
        ``(table in SCHEMA, what the video added)``.
    """
    columns: dict[str, list] = {name: [] for name in SCHEMA.names}
    frames, ids = 0, set()
    for record in read_jsonl(jsonl):
        frames += 1
        for track in record["tracks"]:
            ids.add(track["id"])
            for name, value in parquet_row(video, record, track).items():
                columns[name].append(value)
    table = pa.table(columns, schema=SCHEMA)
    return table, VideoTracks(frames, table.num_rows, len(ids))


def write_tracks_parquet(path: str | Path, videos: list[tuple[str, str | Path]]) -> dict[str, VideoTracks]:
    """Write the tracks of many videos to one Parquet file, one row group per video so memory stays at
    one video's rows. Atomic: the file appears only when whole.

    Args:
        path: the Parquet file.
        videos: ``(name, JSON-lines path)`` pairs.

    Returns:
        ``{name: VideoTracks}``.

    Example:
        >>> write_tracks_parquet("tracks.parquet", [("clip", "clip.jsonl")])["clip"].rows  # doctest: +SKIP
    """
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
