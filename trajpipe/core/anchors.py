"""Which point of a box is an object's position, and how big a box is: one rule each.

The position of a tracked object is the **bottom centre** of its box: where it touches the
ground, the point a ground-plane homography maps and the one trajpipe tracks and forecasts.
Its **box height** sets the scale that turns pixels into metres for the forecaster, with a
person taken to be :data:`PERSON_HEIGHT_M` tall.
"""

from __future__ import annotations

import numpy as np

PERSON_HEIGHT_M = 1.75  # one box height of a person is taken as this many metres


def bottom_centre(xyxy) -> np.ndarray:
    """(..., 4) boxes ``[x1, y1, x2, y2]`` -> (..., 2) bottom-centre points ``[(x1 + x2) / 2, y2]``."""
    xyxy = np.asarray(xyxy)
    return np.stack([(xyxy[..., 0] + xyxy[..., 2]) / 2, xyxy[..., 3]], axis=-1)


def box_height(xyxy) -> np.ndarray:
    """(..., 4) boxes ``[x1, y1, x2, y2]`` -> (...,) heights ``y2 - y1``, in the boxes' units."""
    xyxy = np.asarray(xyxy)
    return xyxy[..., 3] - xyxy[..., 1]


def xywh_to_xyxy(xywh) -> np.ndarray:
    """(..., 4) boxes ``[x, y, w, h]`` (top-left corner and size, MOTChallenge's layout) -> ``[x1, y1, x2, y2]``."""
    xywh = np.asarray(xywh, np.float64)
    return np.concatenate([xywh[..., :2], xywh[..., :2] + xywh[..., 2:4]], axis=-1)


def metres_per_unit(scale, n: int) -> np.ndarray:
    """(n,) metres per position unit of each track: ``PERSON_HEIGHT_M / scale`` for tracks in pixels
    whose box height is ``scale`` (n,), 1 for metric tracks (``scale`` None, NaN or not positive)."""
    if scale is None:
        return np.ones(n)
    scale = np.asarray(scale, dtype=np.float64).reshape(-1)
    if scale.shape[0] != n:
        raise ValueError(f"scale must have shape ({n},), got {scale.shape}")
    factor = np.ones(n)
    ok = np.isfinite(scale) & (scale > 0)
    factor[ok] = PERSON_HEIGHT_M / scale[ok]
    return factor
