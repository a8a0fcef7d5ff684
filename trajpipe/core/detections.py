"""Tracked boxes of one frame: what the detector stage hands to the histories (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .anchors import bottom_centre


@dataclass(frozen=True)
class Detections:
    """Tracked boxes of one frame, as parallel arrays (the ``supervision`` layout)."""

    xyxy: np.ndarray  # (N, 4) float32 pixels
    confidence: np.ndarray  # (N,) float32
    class_id: np.ndarray  # (N,) int64
    tracker_id: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return len(self.xyxy)

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64))

    def select(self, rows) -> "Detections":
        """The detections at ``rows`` (indices or a boolean mask), in that order."""
        return Detections(self.xyxy[rows], self.confidence[rows], self.class_id[rows], self.tracker_id[rows])

    @property
    def anchors(self) -> np.ndarray:
        """(N, 2) bottom-centre points (:func:`~trajpipe.core.anchors.bottom_centre`), pixels."""
        return bottom_centre(self.xyxy)
