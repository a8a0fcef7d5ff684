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
from .scene import FrameScene


class FoxgloveLive:
    """A Foxglove WebSocket server at ``host:port`` (port 0: any free one, see :attr:`port`) showing each
    published result on the MCAP's topics. ``image``: ``raw`` (default), ``annotated`` or ``none``;
    ``world``: the 3D scene and markers (None: decided by the first result, as the MCAP)."""

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
        return f"ws://{self.host}:{self.port}"

    @classmethod
    def from_config(cls, config) -> "FoxgloveLive":
        """A server at the config key ``foxglove`` ([HOST:]PORT) with the MCAP's ``mcap_image``."""
        host, port = serve_address(config.foxglove, "foxglove")
        return cls(host, port, config.mcap_image if config.mcap_image != "annotated" else "raw", None,
                   config.trail_seconds)

    def ready(self, pipeline) -> None:
        """Before the first frame: the scene when ``pipeline`` has a ground plane."""
        self.encoder.world = pipeline.ground is not None

    def publish(self, result: FrameResult, record: dict | None = None, scene: FrameScene | None = None,
                image=None) -> None:
        """Send ``result`` to the connected clients (``image``: the raw BGR frame, default ``result.image``;
        ``record`` and ``scene``: its JSON record and geometry, when another output made them)."""
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
