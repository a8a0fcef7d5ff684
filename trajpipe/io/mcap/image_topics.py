"""The image topics of a frame: foxglove.ImageAnnotations in the image's pixels (boxes, labels, trails,
forecasts, modes, 1-sigma circles), with the points laid out by numpy in protobuf's wire format."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ...core.results import FrameResult, TrackState
from ...draw.annotators import track_colour
from ..scene import FORECAST_COLOUR, MIN_MODE_ALPHA
from .schemas import HIDDEN_ALPHA
from .schemas import colour as _colour
from .schemas import timestamp as _timestamp

MAX_TRAIL_POINTS = 16  # a trail drawn through more (2 s at 25 fps is 50) looks the same and costs 3x


def image_annotations(result: FrameResult, trail_seconds: float = 2.0) -> bytes:
    """foxglove.ImageAnnotations (protobuf bytes) of ``result`` in pixels: per track its box, ``id class``
    label, trail, every mode (alpha by probability), the forecast and a circle of one standard deviation
    at its end (the radius of the circle of the same area as the 1-sigma ellipse); drawn in this order:
    boxes and trails, modes, forecasts. Paths behind a robot's camera are left out."""
    import foxglove.messages as fm

    stamp = _timestamp(result.timestamp)
    strip, loop = "LineStrip", "LineLoop"  # names of fm.PointsAnnotationType (its values are not hashable)
    polylines: list[tuple[bytes, np.ndarray]] = []  # (the annotation without its points, (N, 2) points)
    circles, texts = [], []
    if result.tracks:
        boxes = np.array([t.box for t in result.tracks], np.float64)
        corners = boxes[:, [[0, 1], [2, 1], [2, 3], [0, 3]]]  # (N, 4, 2) clockwise from the top-left
    for track, box_corners in zip(result.tracks, corners if result.tracks else ()):
        bgr = track_colour(track.id)
        polylines.append((_points_head(loop, bgr, 1.0 if track.visible else HIDDEN_ALPHA, 1.5), box_corners))
        x1, y1 = box_corners[0].tolist()
        texts.append(fm.TextAnnotation(timestamp=stamp, position=fm.Point2(x=x1, y=max(y1 - 2, 12.0)),
                                       text=f"{track.id} {track.class_name}" + ("" if track.visible else " (hidden)"), font_size=12,
                                       text_color=_colour((0, 0, 0)), background_color=_colour(bgr)))
        trail = track.history[track.history_times >= result.timestamp - trail_seconds]
        trail = trail[np.isfinite(trail).all(axis=1)]  # a robot's past points behind its camera have no pixel
        if len(trail) > MAX_TRAIL_POINTS:  # every k-th point, counted back from the newest (the track's position)
            trail = trail[::-1][::-(-len(trail) // MAX_TRAIL_POINTS)][::-1]
        if len(trail) >= 2:
            polylines.append((_points_head(strip, bgr, 1.0, 2.0), trail))
    for group in _same_shapes([t for t in result.tracks if t.forecast is not None]):
        polylines += _forecast_polylines(group)
        for track in group:
            sigma = track.forecast.sigma
            if sigma is not None:
                sx, sy = sigma[-1].tolist()
                x, y = track.forecast.points[-1].tolist()
                if all(map(math.isfinite, (sx, sy, x, y))):
                    circles.append(fm.CircleAnnotation(timestamp=stamp, position=fm.Point2(x=x, y=y), thickness=1.0,
                                                       diameter=2 * math.sqrt(sx * sy), outline_color=_colour(FORECAST_COLOUR, 0.6)))
    message = fm.ImageAnnotations(circles=circles, texts=texts).encode()
    return message + _points_annotations(polylines, fm.PointsAnnotation(timestamp=stamp).encode())


def _same_shapes(tracks: list[TrackState]) -> list[list[TrackState]]:
    """``tracks`` (with forecasts) in groups whose forecasts and modes have the same shapes, to be stacked
    (one group in practice: one forecaster makes a frame's forecasts)."""
    groups: dict[tuple, list[TrackState]] = {}
    for track in tracks:
        modes = track.forecast.modes
        groups.setdefault((track.forecast.points.shape, None if modes is None else modes.points.shape), []).append(track)
    return list(groups.values())


def _forecast_polylines(group: list[TrackState]) -> list[tuple[bytes, np.ndarray]]:
    """(head, points) of each mode (alpha by probability) then each forecast of ``group``, all from the
    track's position; stacked, so that a frame costs a few numpy calls rather than a few per track."""
    starts = np.stack([t.point for t in group])[:, None]  # (K, 1, 2)
    paths = np.concatenate([starts, np.stack([t.forecast.points for t in group])], axis=1)  # (K, T + 1, 2)
    polylines = []
    if group[0].forecast.modes is not None:
        modes = np.stack([t.forecast.modes.points for t in group])  # (K, M, T, 2)
        mode_paths = np.concatenate([np.broadcast_to(starts[:, None], (*modes.shape[:2], 1, 2)), modes], axis=2)
        # rounded: the encoded heads are cached by alpha
        alphas = np.round(np.maximum(np.stack([t.forecast.modes.probs for t in group]), MIN_MODE_ALPHA), 2).tolist()
        polylines += [(_points_head("LineStrip", FORECAST_COLOUR, alpha, 1.5), mode_path)
                      for track_paths, track_alphas in zip(mode_paths, alphas)
                      for mode_path, alpha in zip(track_paths, track_alphas)]
    head = _points_head("LineStrip", FORECAST_COLOUR, 1.0, 3.0)
    return polylines + [(head, path) for path in paths]


# The repeated Point2 of a PointsAnnotation, laid out by numpy in protobuf's wire format: one foxglove
# Point2 object per point cost 1 us, 2.5 ms a frame of a crowded scene on the detector's second core.
# Field numbers from the foxglove schema (PointsAnnotation.points = 3, Point2.x = 1, Point2.y = 2, doubles);
# each point is the length-delimited field 3 holding two 64-bit fields. Protobuf merges concatenated
# encodings of a message, so the SDK-encoded rest of the annotation and these points make one message.
_POINT2_FIELDS = np.dtype([("tag", "u1"), ("length", "u1"), ("x_tag", "u1"), ("x", "<f8"), ("y_tag", "u1"), ("y", "<f8")])
_POINTS_TAG, _POINT2_LENGTH, _X_TAG, _Y_TAG = (3 << 3) | 2, 18, (1 << 3) | 1, (2 << 3) | 1
_IMAGE_ANNOTATIONS_POINTS_TAG = bytes([(2 << 3) | 2])  # ImageAnnotations.points = 2, length-delimited


@lru_cache(maxsize=1024)
def _points_head(kind: str, bgr: tuple[int, int, int], alpha: float, thickness: float) -> bytes:
    """A foxglove.PointsAnnotation of type ``kind`` (a PointsAnnotationType name) without timestamp and
    points, encoded by the SDK (cached: a frame has a few kinds of line, many times)."""
    import foxglove.messages as fm

    return fm.PointsAnnotation(type=getattr(fm.PointsAnnotationType, kind), outline_color=_colour(bgr, alpha), thickness=thickness).encode()


@lru_cache(maxsize=4096)
def _varint(value: int) -> bytes:
    """``value`` (>= 0) as a protobuf varint (cached: a frame's annotations have a few lengths, many times)."""
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _points_annotations(polylines: list[tuple[bytes, np.ndarray]], stamp: bytes) -> bytes:
    """The ``points`` entries of a foxglove.ImageAnnotations: each ``(head, (N, 2) points)`` with ``stamp``
    (the encoded timestamp field) as one PointsAnnotation; polylines with a non-finite point (behind a
    robot's camera) are left out."""
    if not polylines:
        return b""
    points = np.concatenate([p for _, p in polylines])
    lengths = [len(p) for _, p in polylines]
    offsets = np.cumsum([0] + lengths[:-1])
    complete = (np.add.reduceat(np.isfinite(points).all(axis=1), offsets) == lengths).tolist()
    fields = np.empty(len(points), _POINT2_FIELDS)
    fields["tag"], fields["length"], fields["x_tag"], fields["y_tag"] = _POINTS_TAG, _POINT2_LENGTH, _X_TAG, _Y_TAG
    fields["x"], fields["y"] = points[:, 0], points[:, 1]
    encoded, size, stamp_size, out = memoryview(fields.tobytes()), _POINT2_FIELDS.itemsize, len(stamp), []
    for (head, _), start, length, keep in zip(polylines, offsets.tolist(), lengths, complete):
        if keep:
            out += (_IMAGE_ANNOTATIONS_POINTS_TAG, _varint(stamp_size + len(head) + length * size), stamp, head,
                    encoded[start * size:(start + length) * size])
    return b"".join(out)

