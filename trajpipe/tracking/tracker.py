"""Ultralytics' multi-object trackers (ByteTrack, BoT-SORT) fed with boxes trajpipe detected itself.

This is what ``YOLO.track(persist=True)`` does after its NMS (``ultralytics.trackers.track``), without the
predictor around it: the same tracker classes, the same YAML settings, the same rows handed back.
"""

from __future__ import annotations

import numpy as np

from ..core.detections import Detections
from ..errors import TrajpipeError
from ..resources import resolve

TRACKER_ALIASES = {"bytetrack": "bytetrack.yaml", "botsort": "botsort.yaml"}


def resolve_tracker(spec: str) -> str:
    """Ultralytics' stock ``bytetrack``/``botsort``, or a tracker YAML (relative paths: from the working
    directory; ``configs/tracker.yaml`` where it is not there: the one the package ships)."""
    if spec in TRACKER_ALIASES:
        return TRACKER_ALIASES[spec]
    path = resolve(spec)
    if not path.is_file():
        raise TrajpipeError(f"tracker must be bytetrack, botsort or an existing tracker YAML, got {spec!r}")
    return str(path)


class BoxTracker:
    """One Ultralytics tracker built from a tracker YAML.

    Args:
        tracker_yaml: ``bytetrack.yaml``, ``botsort.yaml`` (Ultralytics' stock files) or a path to a tracker YAML.
    """

    def __init__(self, tracker_yaml: str):
        from ultralytics.trackers.track import TRACKER_MAP
        from ultralytics.utils import YAML, IterableSimpleNamespace
        from ultralytics.utils.checks import check_yaml

        cfg = IterableSimpleNamespace(**YAML.load(check_yaml(tracker_yaml)))
        if cfg.tracker_type not in ("bytetrack", "botsort"):
            raise TrajpipeError(f"tracker_type must be bytetrack or botsort, got {cfg.tracker_type!r} in {tracker_yaml}")
        if getattr(cfg, "with_reid", False):  # its appearance model would be another download and another network
            raise TrajpipeError(f"{tracker_yaml}: with_reid needs the Ultralytics runtime (detector_runtime=ultralytics)")
        cfg.device = "cpu"
        self.tracker = TRACKER_MAP[cfg.tracker_type](args=cfg)

    def update(self, boxes: np.ndarray, frame_bgr: np.ndarray) -> Detections:
        """Track one frame's boxes.

        Args:
            boxes: (N, 6) float32 x1, y1, x2, y2 (pixels), confidence, class index, as the detector found them.
            frame_bgr: the frame (BoT-SORT's own camera-motion estimate reads it).

        Returns:
            The tracked boxes (the tracker's smoothed boxes, its ids), in the tracker's order.
        """
        from ultralytics.engine.results import Boxes

        tracks = self.tracker.update(Boxes(boxes, frame_bgr.shape[:2]), frame_bgr)
        if len(tracks) == 0:
            return Detections.empty()
        return Detections(xyxy=tracks[:, :4].astype(np.float32), confidence=tracks[:, 5].astype(np.float32),
                          class_id=tracks[:, 6].astype(np.int64), tracker_id=tracks[:, 4].astype(np.int64))

    def reset(self) -> None:
        """Forget every track and restart ids."""
        self.tracker.reset()
