"""The MCAP recording's topics live: a Foxglove WebSocket server (foxglove-sdk, protocol
``foxglove.websocket.v1``) that Foxglove connects to, e.g. on a headless robot through an SSH tunnel.
Channels, schemas and messages are those of docs/mcap.md, encoded by the same
:class:`~trajpipe.io.mcap.TopicEncoder`. Loopback by default, as the browser view.
"""

from __future__ import annotations

import threading

from ..config import serve_address
from ..core.results import FrameResult
from ..errors import TrajpipeError
from .mcap.messages import TopicEncoder
from .mcap.schemas import log_time, require_robotics
from .frame_scene import FrameScene


class FoxgloveLive:
    """A Foxglove WebSocket server showing each published result on the MCAP's topics.

    Args:
        host: the address to listen on (loopback by default).
        port: the TCP port (0: any free one, see :attr:`port`).
        image: the image topic: ``raw`` (default), ``annotated`` or ``none``.
        world: the 3D scene and markers (None: decided by the first result, as the MCAP).
        trail_seconds: the length of the tracks' trails in the image annotations, in seconds.
        overlay: draws the annotated image for ``image="annotated"`` when :meth:`publish` is not given one
            (an object with ``draw(image, result)``, e.g. a pipeline's overlay).

    Attributes:
        encoder: the :class:`~trajpipe.io.mcap.TopicEncoder` of the messages.
        host: the address listened on.
        port: the port listened on (the one chosen when ``port`` was 0).
        frames: results published so far.

    Raises:
        TrajpipeError: ``foxglove-sdk`` is missing, ``image`` is invalid or the port cannot be bound.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8765, image: str = "raw", world: bool | None = None,
                 trail_seconds: float = 2.0, overlay=None):
        require_robotics()
        import foxglove

        self.encoder = TopicEncoder(image, world, trail_seconds, overlay)
        self.context = foxglove.Context()
        try:
            self.server = foxglove.start_server(name="trajpipe", host=host, port=port, context=self.context)
        except Exception as exc:  # the SDK raises its own error type for a busy or forbidden port
            raise TrajpipeError(f"cannot start the Foxglove server on {host}:{port}: {exc}") from None
        self.host, self.port = host, self.server.port
        self._channels: dict[str, object] = {}
        self._lock = threading.Lock()
        self.frames = 0

    @property
    def url(self) -> str:
        """The address Foxglove connects to, ``ws://host:port``."""
        return f"ws://{self.host}:{self.port}"

    @classmethod
    def from_config(cls, config) -> "FoxgloveLive":
        """A server set up by the config, as the MCAP recording.

        Args:
            config: a :class:`~trajpipe.config.Config`: ``foxglove`` ([HOST:]PORT), ``mcap_image``
                (``annotated`` is sent as ``raw``) and ``trail_seconds``.

        Returns:
            The running server, plane decided by :meth:`ready` or the first result.

        Raises:
            TrajpipeError: ``foxglove`` is not [HOST:]PORT, or the server cannot start.
        """
        host, port = serve_address(config.foxglove, "foxglove")
        return cls(host, port, config.mcap_image if config.mcap_image != "annotated" else "raw", None,
                   config.trail_seconds)

    def ready(self, pipeline) -> None:
        """Before the first frame: the 3D scene when the pipeline has a ground plane.

        Args:
            pipeline: the :class:`~trajpipe.Pipeline` whose results will be published.
        """
        self.encoder.world = pipeline.ground is not None

    def publish(self, result: FrameResult, record: dict | None = None, scene: FrameScene | None = None,
                image=None) -> None:
        """Send one result to the connected clients, logged at its timestamp.

        Args:
            result: the frame's result.
            record: its JSON-lines record, when another output made it.
            scene: its geometry and ROS 2 messages, when another output made them.
            image: the raw (H, W, 3) uint8 BGR frame, or its JPEG bytes (default ``result.image``).

        Raises:
            TrajpipeError: the result's timestamp is negative or not finite, or there is no image to
                send (``image`` not ``none``, none given and none in ``result``).
        """
        import foxglove

        messages = self.encoder.encode(result, image, record, scene)
        stamp = log_time(result.timestamp)
        with self._lock:
            for topic, (name, encoding, data, message_encoding), payload in messages:
                channel = self._channels.get(topic)
                if channel is None:
                    schema = foxglove.Schema(name=name, encoding=encoding, data=data)
                    channel = foxglove.Channel(topic, schema=schema, message_encoding=message_encoding,
                                               context=self.context)
                    self._channels[topic] = channel
                channel.log(payload, log_time=stamp)
            self.frames += 1

    def close(self) -> None:
        """Close the channels and stop the server (clients are disconnected); closing twice is harmless."""
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
            if self.server is not None:
                self.server.stop()
                self.server = None

    def __enter__(self) -> "FoxgloveLive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
