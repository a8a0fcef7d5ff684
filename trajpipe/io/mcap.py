"""MCAP recordings (the ROS 2 bag format) that open in Foxglove and play back as topics: the camera
image, its annotations, the 3D scene on the ground or world frame, the robot's transform, the
forecasts as RViz markers (ROS 2) and as the exact JSON-lines record. Topics, frames and units:
docs/mcap.md.

Needs the ``robotics`` extra (``mcap``, ``foxglove-sdk`` for the Foxglove schemas, ``rosbags`` for the
standard ROS 2 message definitions and their CDR encoding).
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import orjson

from ..config import MCAP_IMAGES
from ..core.results import FrameResult, TrackState
from ..draw.annotators import FORECAST_NEAR, track_colour
from ..errors import TrajpipeError
from .sinks import AtomicFile, _Sink, check_output_path

if TYPE_CHECKING:
    from ..draw.overlay import Overlay
    from ..pipeline import Pipeline

INSTALL_HINT = "--output-mcap needs the robotics extra: pip install 'trajpipe[robotics]'"
JPEG_QUALITY = 85  # Foxglove's default look; 90+ doubles the file for no visible gain at these sizes

TOPIC_IMAGE = "/camera/image/compressed"  # foxglove.CompressedImage
TOPIC_ANNOTATIONS = "/camera/annotations"  # foxglove.ImageAnnotations, pixels of the image above
TOPIC_SCENE = "/trajpipe/scene"  # foxglove.SceneUpdate, on the ground / world frame
TOPIC_TRANSFORM = "/trajpipe/transform"  # foxglove.FrameTransform world -> base_link (with a pose)
TOPIC_MARKERS = "/trajpipe/markers"  # visualization_msgs/msg/MarkerArray (ROS 2), ground / world frame
TOPIC_FORECASTS = "/trajpipe/forecasts"  # JSON: exactly the JSON-lines record of the frame

FRAME_CAMERA = "camera"  # the image's frame
FRAME_BASE = "base_link"  # the robot's base (REP 105), child of FRAME_WORLD through the pose
FRAME_WORLD = "world"  # the world / odometry frame the pose is given in (metres)
FRAME_GROUND = "ground"  # a fixed camera's ground plane (the homography's units)

# The JSON schema of the /trajpipe/forecasts messages: the JSON-lines record (docs/outputs.md).
_POINT = {"type": "array", "items": {"type": ["number", "null"]}, "minItems": 2, "maxItems": 2}
_POINTS = {"type": "array", "items": _POINT}
FORECASTS_SCHEMA = {
    "title": "trajpipe.FrameRecord",
    "description": "One frame of trajpipe's JSON lines: tracks (pixels; *_world: ground units) and their forecasts",
    "type": "object",
    "required": ["frame", "timestamp", "camera", "tracks"],
    "properties": {
        "frame": {"type": "integer"},
        "timestamp": {"type": "number", "description": "seconds (the message's log time)"},
        "camera": {"type": "array", "description": "(2, 3) warp from the previous frame's pixels"},
        "latency": {"type": "number"},
        "tracks": {"type": "array", "items": {
            "type": "object", "required": ["id", "class", "conf", "box", "point"],
            "properties": {
                "id": {"type": "integer"}, "class": {"type": "string"}, "conf": {"type": "number"},
                "box": {"type": "array", "items": {"type": "number"}}, "point": _POINT, "point_world": _POINT,
                "visible": {"type": "boolean", "description": "false: lost by the tracker, point continued from its forecast"},
                "hidden_for": {"type": "number", "description": "seconds since a hidden track was last seen"},
                "forecast": {"type": "object", "properties": {
                    "t": {"type": "array", "items": {"type": "number"}}, "xy": _POINTS, "sigma": _POINTS,
                    "xy_world": _POINTS, "sigma_world": _POINTS,
                    "modes": {"type": "array", "items": {"type": "object", "properties": {
                        "p": {"type": "number"}, "xy": _POINTS, "sigma": _POINTS, "xy_world": _POINTS}}}}},
            }}},
    },
}

HIDDEN_ALPHA = 0.4  # opacity of the box of a track the tracker lost (visible false)
ROS2_DISTRIBUTION = "ROS2_HUMBLE"  # the rosbags type store whose standard definitions are written


def require_robotics() -> None:
    """A one-line :class:`TrajpipeError` saying how to install the extra, when it is missing."""
    try:
        import foxglove.messages  # noqa: F401
        import mcap.writer  # noqa: F401
        import rosbags.typesys  # noqa: F401
    except ImportError:
        raise TrajpipeError(INSTALL_HINT) from None


def check_mcap_output(path: str | Path, inputs: list[Path]) -> Path:
    """Fail early on an MCAP output that could not be written (before any model loads)."""
    path = check_output_path(path, inputs, "MCAP")
    if path.suffix.lower() != ".mcap":
        raise TrajpipeError(f"MCAP output must end in .mcap: {path}")
    require_robotics()
    partial = AtomicFile(path).partial
    try:  # the one sure test that the file can be written (permissions, read-only or special file systems)
        with open(partial, "xb"):
            pass
    except FileExistsError:  # another run's partial file (or a killed one's): writable enough, leave it be
        pass
    except OSError as exc:
        raise TrajpipeError(f"cannot write MCAP {path}: {exc.strerror}") from None
    else:
        partial.unlink()
    return path


def log_time(timestamp: float) -> int:
    """A frame's timestamp (s) as an MCAP log time (integer nanoseconds)."""
    if not math.isfinite(timestamp) or timestamp < 0:
        raise TrajpipeError(f"MCAP needs timestamps >= 0 seconds, got {timestamp}")
    return int(round(timestamp * 1e9))


class McapSink(_Sink):
    """An MCAP file of a run's frames, written under a hidden name and renamed when closed (with at
    least one frame and ``keep``): the file under the final name always has its summary.

    ``image``: ``raw``, ``annotated`` or ``none`` (config key ``mcap_image``). ``world``: write the 3D
    scene and the markers (needs ground points: a homography, and for the world frame a pose);
    None decides on the first frame (a pose or a track on the ground). ``overlay`` draws the
    annotated image when :meth:`write` is not given one. :meth:`for_pipeline` takes all this from a
    pipeline. Thread-safe: :meth:`close` waits for a write in progress.
    """

    def __init__(self, path: str | Path, image: str = "raw", world: bool | None = None, trail_seconds: float = 2.0,
                 overlay: Overlay | None = None, keep: bool = True):
        if image not in MCAP_IMAGES:
            raise TrajpipeError(f"invalid value for mcap_image={image!r}: must be one of {', '.join(MCAP_IMAGES)}")
        require_robotics()
        from mcap.writer import CompressionType, Writer

        self.image, self.world, self.trail_seconds, self.overlay, self.keep = image, world, trail_seconds, overlay, keep
        self.file = AtomicFile(path)
        try:
            self._stream = open(self.file.partial, "wb")
        except OSError as exc:
            raise TrajpipeError(f"cannot write MCAP {self.file.path}: {exc.strerror}") from None
        # Chunks compressed only without images: JPEG does not compress, and LZ4 over it cost the writer
        # thread 1-4 ms a frame; without images, LZ4 shrinks the JSON and the geometry 4-5x for little CPU.
        compression = CompressionType.LZ4 if image == "none" else CompressionType.NONE
        self._writer = Writer(self._stream, compression=compression)
        from .. import __version__

        self._writer.start(profile="", library=f"trajpipe {__version__}")
        self._channels: dict[str, int] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.frames = 0

    @classmethod
    def for_pipeline(cls, path: str | Path, pipeline: Pipeline, keep: bool = True) -> "McapSink":
        """A sink for ``pipeline``'s results: its ``mcap_image`` and ``trail_seconds``, the scene when it has
        a ground plane, and its overlay for annotated images."""
        config = pipeline.config
        overlay = None
        if config.mcap_image == "annotated":
            from ..draw.overlay import Overlay

            overlay = Overlay.from_config(config)
        return cls(path, config.mcap_image, pipeline.ground is not None, config.trail_seconds, overlay, keep)

    def write(self, result: FrameResult, image: np.ndarray | bytes | None = None, record: dict | None = None) -> None:
        """Record ``result`` at its timestamp. ``image``: the BGR frame to record, or its JPEG bytes (the
        annotated frame for ``annotated``); default ``result.image`` (drawn on a copy for ``annotated``).
        ``record``: the result's JSON-lines record when the caller has it already."""
        stamp = log_time(result.timestamp)
        if self.world is None:
            self.world = result.pose is not None or any(t.point_world is not None for t in result.tracks)
        messages = self._encode(result, image, record)
        with self._lock:
            if self._closed:
                raise TrajpipeError(f"MCAP {self.file.path} is closed")
            for topic, schema, data in messages:
                channel = self._channels.get(topic) or self._register(topic, *schema)
                self._writer.add_message(channel, stamp, data, stamp, sequence=self.frames)
            self.frames += 1

    def _encode(self, result: FrameResult, image, record) -> list[tuple[str, tuple, bytes]]:
        """(topic, (schema name, schema encoding, schema data, message encoding), message) of ``result``."""
        import foxglove.messages as fm

        stamp = _timestamp(result.timestamp)
        out = []
        if self.image != "none":
            jpeg = image if isinstance(image, bytes) else self._jpeg(result, image)
            out.append((TOPIC_IMAGE, _foxglove_schema(fm.CompressedImage),
                        fm.CompressedImage(timestamp=stamp, frame_id=FRAME_CAMERA, data=jpeg, format="jpeg").encode()))
        out.append((TOPIC_ANNOTATIONS, _foxglove_schema(fm.ImageAnnotations),
                    image_annotations(result, self.trail_seconds)))
        if self.world:
            frame_id = FRAME_GROUND if result.pose is None else FRAME_WORLD
            tracks = world_tracks(result)
            out.append((TOPIC_SCENE, _foxglove_schema(fm.SceneUpdate), scene_update(tracks, stamp, frame_id).encode()))
            if result.pose is not None:
                out.append((TOPIC_TRANSFORM, _foxglove_schema(fm.FrameTransform), base_transform(result.pose, stamp).encode()))
            out.append((TOPIC_MARKERS, _ros2_schema("visualization_msgs/msg/MarkerArray"),
                        ros2_markers(tracks, result.timestamp, frame_id)))
        out.append((TOPIC_FORECASTS, _JSON_SCHEMA, orjson.dumps(result.to_json() if record is None else record)))
        return out

    def _jpeg(self, result: FrameResult, image: np.ndarray | None) -> bytes:
        """JPEG bytes of ``image`` (BGR), else of the result's frame (with the overlay drawn on a copy for
        ``annotated``)."""
        if image is None:
            if result.image is None:
                raise TrajpipeError("this result carries no image: pass one to write(), or use mcap_image=none")
            image = result.image
            if self.image == "annotated":
                if self.overlay is None:
                    raise TrajpipeError("mcap_image=annotated needs an overlay (McapSink.for_pipeline gives one) "
                                        "or the annotated image passed to write()")
                image = self.overlay.draw(image.copy(), result)
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise TrajpipeError(f"cannot encode a frame of shape {image.shape} as JPEG")
        return encoded.tobytes()

    def _register(self, topic: str, name: str, schema_encoding: str, schema: bytes, message_encoding: str) -> int:
        schema_id = self._writer.register_schema(name, schema_encoding, schema)
        self._channels[topic] = self._writer.register_channel(topic, message_encoding, schema_id)
        return self._channels[topic]

    def close(self, commit: bool = True) -> None:
        """Write the summary and rename; with no frame written, or ``commit`` False, leave any existing output
        untouched."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            committed = False
            try:
                self._writer.finish()  # the summary and the index: what makes the file whole
                self._stream.close()
                if self.frames and commit:
                    self.file.commit()
                    committed = True
            finally:  # also when finishing failed or was interrupted (a second Ctrl-C): no half file is left
                self._stream.close()
                if not committed:
                    self.file.discard()


# ------------------------------------------------------------------------------------------ schemas

_JSON_SCHEMA = ("trajpipe.FrameRecord", "jsonschema", orjson.dumps(FORECASTS_SCHEMA), "json")
_SCHEMAS: dict = {}


def _foxglove_schema(message_class) -> tuple:
    """(name, encoding, data, message encoding) of a Foxglove message class (protobuf)."""
    if message_class not in _SCHEMAS:
        schema = message_class.get_schema()
        _SCHEMAS[message_class] = (schema.name, schema.encoding, bytes(schema.data), schema.encoding)
    return _SCHEMAS[message_class]


def _ros2_types():
    from rosbags.typesys import Stores, get_typestore

    if "ros2" not in _SCHEMAS:
        _SCHEMAS["ros2"] = get_typestore(getattr(Stores, ROS2_DISTRIBUTION))
    return _SCHEMAS["ros2"]


def _ros2_schema(type_name: str) -> tuple:
    """(name, encoding, data, message encoding) of a standard ROS 2 message: its .msg definition with
    those of the types it uses, as ``ros2 bag record`` writes them."""
    if type_name not in _SCHEMAS:
        text, _ = _ros2_types().generate_msgdef(type_name, ros_version=2)
        _SCHEMAS[type_name] = (type_name, "ros2msg", text.encode(), "cdr")
    return _SCHEMAS[type_name]


def _timestamp(seconds: float):
    import foxglove.messages as fm

    nanoseconds = log_time(seconds)
    return fm.Timestamp(sec=nanoseconds // 1_000_000_000, nsec=nanoseconds % 1_000_000_000)


@lru_cache(maxsize=1024)
def _colour(bgr: tuple[int, int, int], alpha: float = 1.0):
    """foxglove.Color of a BGR colour (0-255) and an alpha (0-1); cached: a frame uses a few, many times."""
    import foxglove.messages as fm

    return fm.Color(r=bgr[2] / 255, g=bgr[1] / 255, b=bgr[0] / 255, a=float(alpha))


# ------------------------------------------------------------------------------------ image topics

FORECAST_COLOUR = tuple(int(c) for c in FORECAST_NEAR)  # the overlay's bright forecast yellow (BGR)
MAX_TRAIL_POINTS = 16  # a trail drawn through more (2 s at 25 fps is 50) looks the same and costs 3x
MIN_MODE_ALPHA = 0.15  # a mode's line alpha is its probability, but no less: a 5 % future stays visible


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
        # Foxglove draws no dashes: a hidden track's box is faint instead, and says so
        polylines.append((_points_head(loop, bgr, 1.0 if track.visible else HIDDEN_ALPHA, 1.5), box_corners))
        x1, y1 = box_corners[0].tolist()
        label = f"{track.id} {track.class_name}" + ("" if track.visible else " (hidden)")
        texts.append(fm.TextAnnotation(timestamp=stamp, position=fm.Point2(x=x1, y=max(y1 - 2, 12.0)),
                                       text=label, font_size=12,
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


# ------------------------------------------------------------------------------------ world topics

TRACK_DIAMETER = 0.4  # m: the sphere marking a track's position on the ground
LINE_WIDTH = 0.06  # m: forecast lines on the ground
LABEL_HEIGHT = 2.0  # m above the ground: the id label, over a standing person's head
SIGMA_ALPHA = 0.25  # the 1-sigma ellipses, under the lines


class WorldTrack:
    """A track's geometry on the ground / world plane (units of the homography; metres with a pose):
    ``position`` (2,), ``forecast`` (T+1, 2) from the current position, ``modes`` [((T+1, 2), p)], and
    ``ellipses`` [(centre (2,), diameters (2,), yaw rad)] of one standard deviation (at the forecast's end)."""

    def __init__(self, track: TrackState, position, forecast, modes, ellipses):
        self.id, self.label, self.bgr = track.id, f"{track.id} {track.class_name}", track_colour(track.id)
        self.position, self.forecast, self.modes, self.ellipses = position, forecast, modes, ellipses


def world_tracks(result: FrameResult) -> list[WorldTrack]:
    """The tracks of ``result`` that have a ground point, as :class:`WorldTrack`."""
    tracks = []
    for track in result.tracks:
        if track.point_world is None or not np.isfinite(track.point_world).all():
            continue
        position = np.asarray(track.point_world, np.float64)
        forecast, modes, ellipses = None, [], []
        f = track.forecast
        if f is not None and f.points_world is not None:
            start = (position if f.start_world is None else f.start_world)[None]
            forecast = np.vstack([start, f.points_world])
            if f.modes is not None and f.modes.points_world is not None:
                modes = [(np.vstack([start, m]), p) for m, p in zip(f.modes.points_world, f.modes.probs.tolist())]
            ellipse = _end_ellipse(f.points_world, f.covariance_world, f.sigma_world)
            ellipses = [] if ellipse is None else [ellipse]
        tracks.append(WorldTrack(track, position, forecast, modes, ellipses))
    return tracks


def _end_ellipse(points, covariance, sigma) -> tuple[np.ndarray, np.ndarray, float] | None:
    """The 1-sigma ellipse at the forecast's end: (centre (2,), diameters (2,) along its axes, yaw of its
    first axis in radians); None without an uncertainty."""
    if covariance is not None:
        (a, b), (_, c) = np.asarray(covariance[-1], np.float64)
    elif sigma is not None:
        a, b, c = float(sigma[-1][0]) ** 2, 0.0, float(sigma[-1][1]) ** 2
    else:
        return None
    # eigen-decomposition of the symmetric 2x2 [[a, b], [b, c]] in closed form
    half_gap = math.hypot((a - c) / 2, b)
    major, minor = (a + c) / 2 + half_gap, max((a + c) / 2 - half_gap, 0.0)
    centre = np.asarray(points[-1], np.float64)
    if not (np.isfinite(centre).all() and math.isfinite(major)):
        return None
    return centre, 2 * np.sqrt([major, minor]), 0.5 * math.atan2(2 * b, a - c)


def _yaw_quaternion(yaw: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a rotation by ``yaw`` radians about z."""
    return 0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)


def scene_update(tracks: list[WorldTrack], stamp, frame_id: str):
    """foxglove.SceneUpdate: the last frame's entities deleted, then one entity ``track/<id>`` per track: a
    sphere at its position, its label, the forecast line, each mode's line (alpha by probability) and
    a flat 1-sigma ellipsoid at the forecast's end."""
    import foxglove.messages as fm

    def pose(xy, yaw=0.0, z=0.0):
        qx, qy, qz, qw = _yaw_quaternion(yaw)
        return fm.Pose(position=fm.Vector3(x=float(xy[0]), y=float(xy[1]), z=z),
                       orientation=fm.Quaternion(x=qx, y=qy, z=qz, w=qw))

    def line(path, colour):
        return fm.LinePrimitive(type=fm.LinePrimitiveLineType.LineStrip, pose=pose((0, 0)), thickness=LINE_WIDTH,
                                points=[fm.Point3(x=x, y=y, z=0.0) for x, y in path.tolist()], color=colour)

    forecast_colour = _colour(FORECAST_COLOUR)
    entities = []
    for t in tracks:
        colour = _colour(t.bgr)
        lines = [] if t.forecast is None else [line(t.forecast, forecast_colour)]
        lines += [line(path, _colour(FORECAST_COLOUR, max(p, MIN_MODE_ALPHA))) for path, p in t.modes]
        spheres = [fm.SpherePrimitive(pose=pose(t.position), color=colour,
                                      size=fm.Vector3(x=TRACK_DIAMETER, y=TRACK_DIAMETER, z=TRACK_DIAMETER))]
        spheres += [fm.SpherePrimitive(pose=pose(centre, yaw), size=fm.Vector3(x=float(d[0]), y=float(d[1]), z=0.01),
                                       color=_colour(FORECAST_COLOUR, SIGMA_ALPHA)) for centre, d, yaw in t.ellipses]
        label = fm.TextPrimitive(pose=pose(t.position, z=LABEL_HEIGHT), billboard=True, font_size=14.0,
                                 scale_invariant=True, color=colour, text=t.label)
        entities.append(fm.SceneEntity(timestamp=stamp, frame_id=frame_id, id=f"track/{t.id}", spheres=spheres,
                                       lines=lines, texts=[label]))
    # "ALL" at this frame's time deletes the entities of earlier frames: tracks that are gone disappear
    deletion = fm.SceneEntityDeletion(timestamp=stamp, type=fm.SceneEntityDeletionType.All)
    return fm.SceneUpdate(deletions=[deletion], entities=entities)


def base_transform(pose, stamp):
    """foxglove.FrameTransform world -> base_link of a robot pose ``(x, y, yaw)`` (metres, radians)."""
    import foxglove.messages as fm

    x, y, yaw = (float(v) for v in pose)
    qx, qy, qz, qw = _yaw_quaternion(yaw)
    return fm.FrameTransform(timestamp=stamp, parent_frame_id=FRAME_WORLD, child_frame_id=FRAME_BASE,
                             translation=fm.Vector3(x=x, y=y, z=0.0), rotation=fm.Quaternion(x=qx, y=qy, z=qz, w=qw))


# Marker namespaces of /trajpipe/markers: per-track markers have the track's id (``mode/<k>``: its k-th most
# probable mode); the positions of all tracks are one SPHERE_LIST (id 0): a marker costs ~40 us to serialise.
MARKER_NAMESPACES = ("positions", "label", "forecast", "sigma", "mode/<k>")


def ros2_markers(tracks: list[WorldTrack], timestamp: float, frame_id: str) -> bytes:
    """visualization_msgs/msg/MarkerArray (CDR) of ``tracks`` for RViz: a DELETEALL first (tracks that are
    gone disappear); a SPHERE_LIST of every track's position in its colour (``positions``); per track a
    TEXT_VIEW_FACING ``id class`` (``label``), a LINE_STRIP of its forecast from its position
    (``forecast``), a flat CYLINDER for the 1-sigma ellipse at the forecast's end (``sigma``) and a
    LINE_STRIP per mode, alpha by probability (``mode/0``, ``mode/1``, ...)."""
    types = _ros2_types()
    T = types.types
    Marker = T["visualization_msgs/msg/Marker"]
    nanoseconds = log_time(timestamp)
    header = T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=nanoseconds // 1_000_000_000,
                                                                            nanosec=nanoseconds % 1_000_000_000),
                                      frame_id=frame_id)
    empty_bytes = np.zeros(0, np.uint8)
    unused = dict(lifetime=T["builtin_interfaces/msg/Duration"](sec=0, nanosec=0), frame_locked=False,
                  texture_resource="", uv_coordinates=[], mesh_resource="", mesh_use_embedded_materials=False,
                  texture=T["sensor_msgs/msg/CompressedImage"](header=header, format="", data=empty_bytes),
                  mesh_file=T["visualization_msgs/msg/MeshFile"](filename="", data=empty_bytes))
    Point, Vector3, Colour = T["geometry_msgs/msg/Point"], T["geometry_msgs/msg/Vector3"], T["std_msgs/msg/ColorRGBA"]

    def pose(xy=(0.0, 0.0), yaw=0.0, z=0.0):
        qx, qy, qz, qw = _yaw_quaternion(yaw)
        return T["geometry_msgs/msg/Pose"](position=Point(x=float(xy[0]), y=float(xy[1]), z=z),
                                           orientation=T["geometry_msgs/msg/Quaternion"](x=qx, y=qy, z=qz, w=qw))

    def colour(bgr, alpha=1.0):
        return Colour(r=bgr[2] / 255, g=bgr[1] / 255, b=bgr[0] / 255, a=float(alpha))

    def marker(ns, marker_id, kind, scale, rgba, marker_pose=None, points=(), colours=(), text="", action=Marker.ADD):
        return Marker(header=header, ns=ns, id=marker_id, type=kind, action=action, pose=marker_pose or pose(),
                      scale=Vector3(x=scale[0], y=scale[1], z=scale[2]), color=rgba,
                      points=[Point(x=x, y=y, z=0.0) for x, y in points], colors=list(colours), text=text, **unused)

    forecast_colour = colour(FORECAST_COLOUR)
    markers = [marker("", 0, Marker.SPHERE, (0.0, 0.0, 0.0), colour((0, 0, 0), 0.0), action=Marker.DELETEALL)]
    if tracks:
        markers.append(marker("positions", 0, Marker.SPHERE_LIST, (TRACK_DIAMETER,) * 3, colour((255, 255, 255)),
                              points=[t.position.tolist() for t in tracks], colours=[colour(t.bgr) for t in tracks]))
    for t in tracks:
        markers.append(marker("label", t.id, Marker.TEXT_VIEW_FACING, (0.0, 0.0, 0.3), colour(t.bgr),
                              pose(t.position, z=LABEL_HEIGHT), text=t.label))
        if t.forecast is not None:
            markers.append(marker("forecast", t.id, Marker.LINE_STRIP, (LINE_WIDTH, 0.0, 0.0), forecast_colour,
                                  points=t.forecast.tolist()))
        for centre, diameters, yaw in t.ellipses:
            markers.append(marker("sigma", t.id, Marker.CYLINDER, (float(diameters[0]), float(diameters[1]), 0.01),
                                  colour(FORECAST_COLOUR, SIGMA_ALPHA), pose(centre, yaw)))
        for k, (path, p) in enumerate(t.modes):
            markers.append(marker(f"mode/{k}", t.id, Marker.LINE_STRIP, (LINE_WIDTH / 2, 0.0, 0.0),
                                  colour(FORECAST_COLOUR, max(p, MIN_MODE_ALPHA)), points=path.tolist()))
    return bytes(types.serialize_cdr(T["visualization_msgs/msg/MarkerArray"](markers=markers),
                                     "visualization_msgs/msg/MarkerArray"))


# ------------------------------------------------------------------------------------------ reading


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
