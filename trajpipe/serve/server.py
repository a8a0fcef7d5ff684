"""The live view's server and its life cycle: bound at once, Starlette routes (:mod:`.routes`, behind
:mod:`.auth`) under uvicorn on a thread of their own, closed with every stream ended.

The hub's thread fills the viewers' slots (:mod:`.viewers`) through ``loop.call_soon_threadsafe`` (once
per frame, not per viewer) and never waits for a viewer.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time

import numpy as np

from ..config import Config, serve_address
from ..core.results import FrameResult
from ..draw.overlay import Overlay
from ..errors import TrajpipeError
from .auth import LOOPBACK_NAMES
from .hub import FrameHub
from .viewers import Viewers

try:  # the optional extra trajpipe[serve]: without it LiveServer says in one line how to install it
    import uvicorn
    import starlette  # noqa: F401  (the routes' framework: checked here, imported with them)
except ImportError:
    uvicorn = None

INSTALL_HINT = "the live view (--serve) needs Starlette and uvicorn: pip install 'trajpipe[serve]'"


class LiveServer:
    """Serve a live view of pipeline results at ``http://host:port/`` while your loop runs.

    Binds at once (``port=0`` picks a free port, see :attr:`port`) and serves from a background
    thread until :meth:`close` (or the end of a ``with`` block). :meth:`publish` hands it a
    :class:`FrameResult`; the page, the MJPEG stream and the JSON events follow. A host other than
    the loopback default needs a token on every request: ``token``, or one generated here
    (:attr:`url` carries it).

    ``fps``: most JPEG frames a second; ``width``: most pixels wide; ``max_clients``: most open
    streams (a page uses two: video and events); ``overlay``: what to draw on frames published
    without an annotated image (default: trajpipe's overlay); ``ground``: the (3, 3) image->ground
    homography, so the page measures closest approaches in ground units.
    """

    def __init__(self, port: int = 8090, host: str = "127.0.0.1", *, fps: float = 15.0, width: int = 960,
                 token: str | None = None, max_clients: int = 8, overlay: Overlay | None = None,
                 ground: np.ndarray | None = None, quality: int = 80):
        if uvicorn is None:
            raise TrajpipeError(INSTALL_HINT)
        if fps <= 0 or width < 16 or max_clients < 1:
            raise TrajpipeError(f"live view needs fps > 0, width >= 16 and max_clients >= 1 "
                                f"(got {fps}, {width}, {max_clients})")
        self.host, self.max_clients = host, max_clients
        self.token = token or (None if host in LOOPBACK_NAMES else secrets.token_urlsafe(18))
        self.ground = None if ground is None else np.asarray(ground, np.float64).reshape(3, 3)
        self.viewers = Viewers(max_clients)
        self._started_at = time.monotonic()
        self._socket = self._bind(host, port)
        self.port = self._socket.getsockname()[1]
        self._loop: asyncio.AbstractEventLoop | None = None
        self.hub = FrameHub(overlay if overlay is not None else Overlay.from_config(Config()), fps, width, quality,
                            on_line=self._from_hub(self.viewers.deliver_line), on_jpeg=self._from_hub(self.viewers.deliver_jpeg))
        from .routes import live_app

        config = uvicorn.Config(live_app(self), log_level="warning", access_log=False, lifespan="off",
                                ws="none", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="trajpipe-live-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10.0
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self._server.started:
            self.hub.close()
            self._socket.close()
            raise TrajpipeError(f"the live view did not start on {self.host}:{self.port}")

    @classmethod
    def from_config(cls, config: Config, overlay: Overlay | None = None,
                    ground: np.ndarray | None = None) -> "LiveServer":
        """The server the config keys ``serve``, ``serve_fps``, ``serve_width``, ``serve_token`` and
        ``serve_max_clients`` describe."""
        host, port = serve_address(config.serve)
        return cls(port, host, fps=config.serve_fps, width=config.serve_width, token=config.serve_token,
                   max_clients=config.serve_max_clients, overlay=overlay, ground=ground)

    @property
    def url(self) -> str:
        """The page's address, with the token when one is needed."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    @property
    def overlay(self) -> Overlay:
        """What is drawn on frames published without an annotated image (a run sets its own)."""
        return self.hub.overlay

    @overlay.setter
    def overlay(self, overlay: Overlay) -> None:
        self.hub.overlay = overlay

    def publish(self, result: FrameResult, image: np.ndarray | None = None, line: bytes | None = None) -> None:
        """Show ``result`` to the viewers. Returns at once: see :meth:`FrameHub.publish`."""
        self.hub.publish(result, image, line)

    def close(self) -> None:
        """Send what is pending, end every stream and stop the server (idempotent)."""
        if self.viewers.closing:
            return
        self.hub.close()
        self.viewers.closing = True
        if self._loop is not None and not self._loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(self._end_streams(), self._loop).result(timeout=5.0)
            except (RuntimeError, TimeoutError, asyncio.TimeoutError):  # the loop stopped meanwhile
                pass
        self._server.should_exit = True
        self._thread.join(5.0)
        if self._thread.is_alive():  # a connection that would not finish: drop it
            self._server.force_exit = True
            self._thread.join(5.0)

    def __enter__(self) -> "LiveServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- server thread -------------------------------------------------------------------------

    @staticmethod
    def _bind(host: str, port: int) -> socket.socket:
        try:
            family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
            sock = socket.socket(family, kind, proto)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(128)
        except OSError as exc:
            raise TrajpipeError(f"cannot serve the live view on {host}:{port}: {exc.strerror or exc}") from None
        return sock

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._server.serve(sockets=[self._socket]))
        finally:
            self._loop.close()

    def _from_hub(self, deliver):
        """A callback for the hub's thread that runs ``deliver`` on the server's loop, never waiting."""
        def call(payload: bytes) -> None:
            try:
                self._loop.call_soon_threadsafe(deliver, payload)
            except (AttributeError, RuntimeError):  # the loop is not running (yet, or any more): nobody to deliver to
                pass
        return call

    async def _end_streams(self) -> None:
        """End every stream: the ones that can still send finish by themselves when woken; a viewer
        that stopped reading is cut off (else uvicorn would wait for it, then log an error)."""
        for viewer in self.viewers.open:
            viewer.wake.set()
        deadline = time.monotonic() + 0.5
        while self.viewers.open and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self.viewers.open:
            for connection in list(self._server.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.abort()

    def since_last_frame(self) -> float | None:
        """Seconds since the last :meth:`publish`, or None before the first."""
        last = self.hub.last_publish
        return None if last is None else round(time.monotonic() - last, 3)

    def stats(self) -> dict:
        """What ``/stats`` answers: the pipeline's pace as the live view sees it, and the viewers'."""
        hub, latest = self.hub, self.hub.latest
        return {
            "frames": hub.published, "frame": None if latest is None else latest.frame_index,
            "fps": round(hub.frame_rate, 2),
            # capture -> result on live sources; for files, the pipeline's own time on the frame
            "latency": None if latest is None else round(latest.latency if latest.latency is not None
                                                         else latest.process_seconds, 4),
            "latency_kind": None if latest is None else ("capture" if latest.latency is not None else "processing"),
            "dropped": hub.source_dropped, "lost": hub.lost, "error": hub.error,
            "seconds_since_last_frame": self.since_last_frame(),
            "image_size": hub.image_size, "ground": None if self.ground is None else self.ground.tolist(),
            "jpeg": {"encoded": hub.encoded, "bytes": len(hub.jpeg or b""), "fps_limit": hub.fps,
                     "width_limit": hub.width,
                     "mean_encode_ms": round(1000 * hub.encode_seconds / hub.encoded, 2) if hub.encoded else None},
            "viewers": self.viewers.stats(),
            "uptime": round(time.monotonic() - self._started_at, 1),
        }
