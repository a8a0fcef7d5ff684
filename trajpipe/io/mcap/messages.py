"""A frame's messages on the topics of docs/mcap.md, encoded once and shared by the MCAP recording
(:class:`~trajpipe.io.mcap.McapSink`) and the Foxglove live server
(:class:`~trajpipe.io.foxglove_live.FoxgloveLive`)."""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
import orjson

from ...config import MCAP_IMAGES
from ...core.results import FrameResult
from ...errors import TrajpipeError
from ..frame_scene import FrameScene
from ..scene import FRAME_CAMERA, FRAME_GROUND, FRAME_WORLD
from .image_topics import image_annotations
from .schemas import (JSON_SCHEMA, TOPIC_ANNOTATIONS, TOPIC_FORECASTS, TOPIC_IMAGE, TOPIC_MARKERS, TOPIC_SCENE,
                      TOPIC_TRANSFORM, foxglove_schema, ros2_schema, timestamp)
from .world_topics import base_transform, scene_update

JPEG_QUALITY = 85  # Foxglove's default look; 90+ doubles the file for no visible gain at these sizes


class TopicMessage(NamedTuple):
    topic: str
    schema: tuple  # (schema name, schema encoding, schema data, message encoding)
    data: bytes


class TopicEncoder:
    """Encodes results on the topics. ``image``: ``raw``, ``annotated`` or ``none``. ``world``: the 3D scene
    and the markers (needs ground points: a homography, and for the world frame a pose); None decides on
    the first frame (a pose or a track on the ground). ``overlay`` draws the annotated image when
    :meth:`encode` is not given one."""

    def __init__(self, image: str = "raw", world: bool | None = None, trail_seconds: float = 2.0, overlay=None):
        if image not in MCAP_IMAGES:
            raise TrajpipeError(f"invalid value for mcap_image={image!r}: must be one of {', '.join(MCAP_IMAGES)}")
        self.image, self.world, self.trail_seconds, self.overlay = image, world, trail_seconds, overlay

    def encode(self, result: FrameResult, image: np.ndarray | bytes | None = None, record: dict | None = None,
               scene: FrameScene | None = None) -> list[TopicMessage]:
        """The messages of ``result``. ``image``: the BGR frame, or its JPEG bytes (the annotated frame for
        ``annotated``); default ``result.image``. ``record``: its JSON-lines record when the caller has it;
        ``scene``: its geometry and ROS 2 messages when another output made them."""
        if self.world is None:
            self.world = result.pose is not None or any(t.point_world is not None for t in result.tracks)
        if scene is None or self.image == "annotated":  # an annotated image: drawn by whoever asks
            return self._encode(result, image, record, scene)
        key = ("topics", self.image, self.world, self.trail_seconds)  # the MCAP and Foxglove live: one encoding
        if key not in scene.shared:
            scene.shared[key] = self._encode(result, image, record, scene)
        return scene.shared[key]

    def _encode(self, result: FrameResult, image, record, scene) -> list[TopicMessage]:
        import foxglove.messages as fm

        stamp = timestamp(result.timestamp)
        out = []
        if self.image != "none":
            jpeg = image if isinstance(image, bytes) else self._jpeg(result, image)
            out.append(TopicMessage(TOPIC_IMAGE, foxglove_schema(fm.CompressedImage), fm.CompressedImage(
                timestamp=stamp, frame_id=FRAME_CAMERA, data=jpeg, format="jpeg").encode()))
        out.append(TopicMessage(TOPIC_ANNOTATIONS, foxglove_schema(fm.ImageAnnotations),
                                image_annotations(result, self.trail_seconds)))
        if self.world:
            scene = scene or FrameScene(result)
            frame_id = FRAME_GROUND if result.pose is None else FRAME_WORLD
            out.append(TopicMessage(TOPIC_SCENE, foxglove_schema(fm.SceneUpdate),
                                    scene_update(scene.tracks(True), stamp, frame_id).encode()))
            if result.pose is not None:
                out.append(TopicMessage(TOPIC_TRANSFORM, foxglove_schema(fm.FrameTransform),
                                        base_transform(result.pose, stamp).encode()))
            out.append(TopicMessage(TOPIC_MARKERS, ros2_schema("visualization_msgs/msg/MarkerArray"),
                                    scene.encoded("markers", True, frame_id)))
        out.append(TopicMessage(TOPIC_FORECASTS, JSON_SCHEMA,
                                orjson.dumps(result.to_json() if record is None else record)))
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
