"""Reading back an MCAP that :class:`~trajpipe.io.mcap.McapSink` wrote."""

from __future__ import annotations

from pathlib import Path

import orjson

from ...errors import TrajpipeError
from .schemas import TOPIC_FORECASTS, require_robotics


def read_records(path: str | Path):
    """``(timestamp s, record)`` of each frame of an MCAP written by :class:`McapSink`, in time order: the
    records of its ``/trajpipe/forecasts`` topic, the JSON-lines records of docs/outputs.md."""
    require_robotics()
    from mcap.exceptions import McapError
    from mcap.reader import make_reader

    try:
        with open(path, "rb") as stream:
            for _, _, message in make_reader(stream).iter_messages(topics=[TOPIC_FORECASTS], log_time_order=True):
                yield message.log_time / 1e9, orjson.loads(message.data)
    except (OSError, McapError) as exc:
        raise TrajpipeError(f"cannot read MCAP {path}: {exc}") from None
