"""MCAP recordings (the ROS 2 bag format) that open in Foxglove and play back as topics: the camera
image, its annotations, the 3D scene on the ground or world frame, the robot's transform, the
forecasts as RViz markers (ROS 2) and as the exact JSON-lines record. Topics, frames and units:
docs/mcap.md.

Needs the ``robotics`` extra (``mcap``, ``foxglove-sdk`` for the Foxglove schemas, ``rosbags`` for the
standard ROS 2 message definitions). Modules: :mod:`.schemas` (topics, schemas), :mod:`.image_topics`,
:mod:`.world_topics`, :mod:`.messages` (a frame's messages, shared with the Foxglove live server),
:mod:`.sink` (the file), :mod:`.reader`.
"""

from ..scene import FRAME_BASE, FRAME_CAMERA, FRAME_GROUND, FRAME_WORLD, MIN_MODE_ALPHA  # noqa: F401
from ..scene import end_ellipse as _end_ellipse  # noqa: F401
from .image_topics import _points_annotations, _points_head, image_annotations  # noqa: F401
from .messages import TopicEncoder, TopicMessage  # noqa: F401
from .reader import read_records  # noqa: F401
from .schemas import (FORECASTS_SCHEMA, INSTALL_HINT, TOPIC_ANNOTATIONS, TOPIC_FORECASTS, TOPIC_IMAGE,  # noqa: F401
                      TOPIC_MARKERS, TOPIC_SCENE, TOPIC_TRANSFORM, log_time, require_robotics)
from .schemas import colour as _colour  # noqa: F401
from .sink import McapSink, check_mcap_output  # noqa: F401
