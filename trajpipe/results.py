"""Typed results handed from the pipeline to overlays, sinks and user code."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Forecast:
    times: np.ndarray  # (T,) seconds after the frame's timestamp
    points: np.ndarray  # (T, 2) pixels, bottom-centre of the box
    sigma: np.ndarray | None = None  # (T, 2) per-step standard deviation in pixels, when the forecaster gives one


@dataclass(frozen=True)
class TrackState:
    id: int
    class_id: int
    class_name: str
    confidence: float
    box: np.ndarray  # (4,) xyxy pixels
    history: np.ndarray  # (T, 2) past anchor points, oldest first
    history_times: np.ndarray  # (T,) their timestamps in seconds
    forecast: Forecast | None = None


@dataclass(frozen=True)
class FrameResult:
    frame_index: int
    timestamp: float  # seconds since the start of the source
    tracks: list[TrackState] = field(default_factory=list)
    process_seconds: float = 0.0  # time spent on this frame by the pipeline
    image: np.ndarray | None = field(default=None, repr=False, compare=False)  # the frame processed (BGR)

    def to_json(self, ndigits: int = 2) -> dict:
        """The JSON-lines record of this frame (see README, "Outputs")."""
        def r(a) -> list:
            return np.round(np.asarray(a, np.float64), ndigits).tolist()

        tracks = []
        for t in self.tracks:
            record = {"id": t.id, "class": t.class_name, "conf": round(t.confidence, 3), "box": r(t.box),
                      "point": r(t.history[-1])}
            if t.forecast is not None:
                record["forecast"] = {"t": r(t.forecast.times), "xy": r(t.forecast.points)}
                if t.forecast.sigma is not None:
                    record["forecast"]["sigma"] = r(t.forecast.sigma)
            tracks.append(record)
        return {"frame": self.frame_index, "timestamp": round(self.timestamp, 4), "tracks": tracks}
