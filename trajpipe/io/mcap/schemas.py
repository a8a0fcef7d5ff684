"""The topics' schemas, Foxglove's and ROS 2's, and the shared encoding helpers (timestamps, colours) of
MCAP recordings and the Foxglove live server."""

from __future__ import annotations

import math
from functools import lru_cache

import orjson

from ...core.schema import frame_json_schema
from ...errors import TrajpipeError

INSTALL_HINT = "--output-mcap needs the robotics extra: pip install 'trajpipe[robotics]'"
ROS2_DISTRIBUTION = "ROS2_JAZZY"  # the rosbags type store whose standard .msg definitions are the schemas

TOPIC_IMAGE = "/camera/image/compressed"  # foxglove.CompressedImage
TOPIC_ANNOTATIONS = "/camera/annotations"  # foxglove.ImageAnnotations, pixels of the image above
TOPIC_SCENE = "/trajpipe/scene"  # foxglove.SceneUpdate, on the ground / world frame
TOPIC_TRANSFORM = "/trajpipe/transform"  # foxglove.FrameTransform world -> base_link (with a pose)
TOPIC_MARKERS = "/trajpipe/markers"  # visualization_msgs/msg/MarkerArray (ROS 2), ground / world frame
TOPIC_FORECASTS = "/trajpipe/forecasts"  # JSON: exactly the JSON-lines record of the frame

# The JSON schema of the /trajpipe/forecasts messages: the JSON-lines record (docs/outputs.md), made from
# the record's one field list.
FORECASTS_SCHEMA = frame_json_schema()
HIDDEN_ALPHA = 0.4  # opacity of the box of a track the tracker lost (visible false): Foxglove draws no dashes


def require_robotics() -> None:
    """A one-line :class:`TrajpipeError` saying how to install the extra, when it is missing."""
    try:
        import foxglove.messages  # noqa: F401
        import mcap.writer  # noqa: F401
        import rosbags.typesys  # noqa: F401
    except ImportError:
        raise TrajpipeError(INSTALL_HINT) from None


def log_time(timestamp: float) -> int:
    """A frame's timestamp (s) as an MCAP log time (integer nanoseconds)."""
    if not math.isfinite(timestamp) or timestamp < 0:
        raise TrajpipeError(f"MCAP needs timestamps >= 0 seconds, got {timestamp}")
    return int(round(timestamp * 1e9))


JSON_SCHEMA = ("trajpipe.FrameRecord", "jsonschema", orjson.dumps(FORECASTS_SCHEMA), "json")
_SCHEMAS: dict = {}


def foxglove_schema(message_class) -> tuple:
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


def ros2_schema(type_name: str) -> tuple:
    """(name, encoding, data, message encoding) of a standard ROS 2 message: its .msg definition with
    those of the types it uses, as ``ros2 bag record`` writes them."""
    if type_name not in _SCHEMAS:
        text, _ = _ros2_types().generate_msgdef(type_name, ros_version=2)
        _SCHEMAS[type_name] = (type_name, "ros2msg", text.encode(), "cdr")
    return _SCHEMAS[type_name]


def timestamp(seconds: float):
    import foxglove.messages as fm

    nanoseconds = log_time(seconds)
    return fm.Timestamp(sec=nanoseconds // 1_000_000_000, nsec=nanoseconds % 1_000_000_000)


@lru_cache(maxsize=1024)
def colour(bgr: tuple[int, int, int], alpha: float = 1.0):
    """foxglove.Color of a BGR colour (0-255) and an alpha (0-1); cached: a frame uses a few, many times."""
    import foxglove.messages as fm

    return fm.Color(r=bgr[2] / 255, g=bgr[1] / 255, b=bgr[0] / 255, a=float(alpha))

