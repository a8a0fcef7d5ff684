"""The live view's web server: Starlette routes under uvicorn, on a thread of their own.

Every viewer has its own slot for the newest JPEG and a short backlog of JSON lines. The hub's
thread fills them through ``loop.call_soon_threadsafe`` (once per frame, not per viewer) and never
waits for a viewer; a viewer that reads slowly or not at all only loses its own old frames, which
are counted. Nothing outside the page's three assets, held in memory, is ever served.
"""

from __future__ import annotations

import asyncio
import collections
import hmac
import ipaddress
import secrets
import socket
import threading
import time
from http.cookies import SimpleCookie
from importlib import resources
from urllib.parse import parse_qs

import numpy as np

from ..config import Config, serve_address
from ..core.results import FrameResult
from ..draw.overlay import Overlay
from ..errors import TrajpipeError
from .hub import FrameHub

try:  # the optional extra trajpipe[serve]: without it LiveServer says in one line how to install it
    import uvicorn
    from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
    from starlette.routing import Route, Router
except ImportError:
    uvicorn = None

INSTALL_HINT = "the live view (--serve) needs Starlette and uvicorn: pip install 'trajpipe[serve]'"
BOUNDARY = "trajpipeframe"
EVENTS_BACKLOG = 64  # JSON lines kept for a slow /events viewer; older ones are dropped for it alone
KEEPALIVE_SECONDS = 15.0  # an SSE comment when no frame came for this long, so proxies keep the stream
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}  # binds that need no token (the default is the first)
ASSETS = {"/": ("index.html", "text/html; charset=utf-8"), "/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/style.css": ("style.css", "text/css; charset=utf-8")}
PAGE_HEADERS = {  # the page talks to its own origin only, and the token never leaves in a Referer
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


class _Viewer:
    """One open stream (``/stream.mjpg`` or ``/events``): the newest JPEG or the recent JSON lines."""

    def __init__(self, kind: str):
        self.kind = kind  # "video" | "events"
        self.wake = asyncio.Event()
        self.jpeg: bytes | None = None
        self.lines: collections.deque[bytes] = collections.deque(maxlen=EVENTS_BACKLOG)
        self.skipped = 0  # frames or lines replaced before this viewer took them
        self.sent = 0


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
        self._assets = {path: ((resources.files(__package__) / "static" / name).read_bytes(), media)
                        for path, (name, media) in ASSETS.items()}
        self._viewers: set[_Viewer] = set()
        # The newest of each as delivered on the server's loop: what a new viewer starts with (exactly once).
        self._newest_jpeg: bytes | None = None
        self._newest_line: bytes | None = None
        self._closing = False
        self._started_at = time.monotonic()
        self._socket = self._bind(host, port)
        self.port = self._socket.getsockname()[1]
        self._loop: asyncio.AbstractEventLoop | None = None
        self.hub = FrameHub(overlay if overlay is not None else Overlay.from_config(Config()), fps, width, quality,
                            on_line=self._from_hub(self._deliver_line), on_jpeg=self._from_hub(self._deliver_jpeg))
        config = uvicorn.Config(self._app(), log_level="warning", access_log=False, lifespan="off",
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
        if self._closing:
            return
        self.hub.close()
        self._closing = True
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

    def _deliver_jpeg(self, jpeg: bytes) -> None:
        self._newest_jpeg = jpeg
        for viewer in self._viewers:
            if viewer.kind == "video":
                viewer.skipped += viewer.jpeg is not None
                viewer.jpeg = jpeg
                viewer.wake.set()

    def _deliver_line(self, line: bytes) -> None:
        self._newest_line = line
        for viewer in self._viewers:
            if viewer.kind == "events":
                viewer.skipped += len(viewer.lines) == EVENTS_BACKLOG
                viewer.lines.append(line)
                viewer.wake.set()

    async def _end_streams(self) -> None:
        """End every stream: the ones that can still send finish by themselves when woken; a viewer
        that stopped reading is cut off (else uvicorn would wait for it, then log an error)."""
        for viewer in self._viewers:
            viewer.wake.set()
        deadline = time.monotonic() + 0.5
        while self._viewers and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self._viewers:
            for connection in list(self._server.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.abort()

    # -- the web application -------------------------------------------------------------------

    def _app(self) -> "_Guard":
        routes = [Route(path, self._asset) for path in ASSETS] + [
            Route("/stream.mjpg", self._stream), Route("/events", self._events), Route("/snapshot.jpg", self._snapshot),
            Route("/healthz", self._healthz), Route("/stats", self._stats)]
        return _Guard(Router(routes, redirect_slashes=False), self)

    def _asset(self, request) -> Response:
        body, media = self._assets[request.url.path]
        return Response(body, media_type=media, headers=PAGE_HEADERS)

    def _open_viewer(self, kind: str) -> _Viewer | None:
        """A place for a new stream, or None when closing or full."""
        if self._closing or len(self._viewers) >= self.max_clients:
            return None
        viewer = _Viewer(kind)
        self._viewers.add(viewer)
        return viewer

    def _viewer_stream(self, viewer: _Viewer, content, media_type: str):
        """The streaming response of ``viewer``, which gives its place back however it ends."""
        response = StreamingResponse(content, media_type=media_type,
                                     headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

        async def respond(scope, receive, send):
            try:
                await response(scope, receive, send)
            finally:
                self._viewers.discard(viewer)
        return respond

    def _unavailable(self) -> Response:
        why = ("the live view is shutting down" if self._closing else
               f"too many viewers: at most {self.max_clients} open streams (serve_max_clients); try again later")
        return PlainTextResponse(why + "\n", status_code=503, headers={"Retry-After": "5"})

    async def _stream(self, request):
        viewer = self._open_viewer("video")
        if viewer is None:
            return self._unavailable()
        viewer.jpeg = self._newest_jpeg  # start with the newest frame, not a blank

        async def parts():
            while not self._closing:
                if viewer.jpeg is None:
                    await viewer.wake.wait()
                    viewer.wake.clear()
                    continue
                jpeg, viewer.jpeg = viewer.jpeg, None
                viewer.sent += 1
                yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                       .encode() + jpeg + b"\r\n")

        return self._viewer_stream(viewer, parts(), f"multipart/x-mixed-replace; boundary={BOUNDARY}")

    async def _events(self, request):
        viewer = self._open_viewer("events")
        if viewer is None:
            return self._unavailable()
        if self._newest_line is not None:  # the current tracks at once, then every frame
            viewer.lines.append(self._newest_line)

        async def messages():
            yield b": trajpipe live view\n\n"  # the stream is open before the first frame
            while not self._closing:
                if not viewer.lines:
                    try:
                        await asyncio.wait_for(viewer.wake.wait(), KEEPALIVE_SECONDS)
                    except asyncio.TimeoutError:
                        yield b": keep-alive\n\n"
                    viewer.wake.clear()
                    continue
                line = viewer.lines.popleft()
                viewer.sent += 1
                yield b"data: " + line + b"\n\n"

        return self._viewer_stream(viewer, messages(), "text/event-stream")

    def _snapshot(self, request) -> Response:
        if self.hub.jpeg is None:
            return PlainTextResponse("no frame yet\n", status_code=503, headers={"Retry-After": "1"})
        return Response(self.hub.jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    def _healthz(self, request) -> Response:
        return JSONResponse({"status": "ok", "frames": self.hub.published,
                             "seconds_since_last_frame": self._since_last_frame()})

    def _stats(self, request) -> Response:
        return JSONResponse(self.stats())

    def _since_last_frame(self) -> float | None:
        last = self.hub.last_publish
        return None if last is None else round(time.monotonic() - last, 3)

    def stats(self) -> dict:
        """What ``/stats`` answers: the pipeline's pace as the live view sees it, and the viewers'."""
        hub, latest = self.hub, self.hub.latest
        viewers = list(self._viewers)
        return {
            "frames": hub.published, "frame": None if latest is None else latest.frame_index,
            "fps": round(hub.frame_rate, 2),
            # capture -> result on live sources; for files, the pipeline's own time on the frame
            "latency": None if latest is None else round(latest.latency if latest.latency is not None
                                                         else latest.process_seconds, 4),
            "latency_kind": None if latest is None else ("capture" if latest.latency is not None else "processing"),
            "dropped": hub.source_dropped, "lost": hub.lost, "error": hub.error,
            "seconds_since_last_frame": self._since_last_frame(),
            "image_size": hub.image_size, "ground": None if self.ground is None else self.ground.tolist(),
            "jpeg": {"encoded": hub.encoded, "bytes": len(hub.jpeg or b""), "fps_limit": hub.fps,
                     "width_limit": hub.width,
                     "mean_encode_ms": round(1000 * hub.encode_seconds / hub.encoded, 2) if hub.encoded else None},
            "viewers": {"video": sum(v.kind == "video" for v in viewers),
                        "events": sum(v.kind == "events" for v in viewers), "limit": self.max_clients,
                        "skipped": sum(v.skipped for v in viewers), "sent": sum(v.sent for v in viewers)},
            "uptime": round(time.monotonic() - self._started_at, 1),
        }


class _Guard:
    """ASGI middleware in front of every route: the token when one is set (query ``token``, header
    ``Authorization: Bearer``, or the cookie the page gets), else loopback Host names only (so a web
    page elsewhere cannot reach a loopback view by DNS rebinding)."""

    def __init__(self, app, server: LiveServer):
        self.app, self.server = app, server
        self.cookie = f"trajpipe_token_{server.port}"  # cookies ignore ports: one name per server

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        token = self.server.token
        if token is None:
            host = _host_name(headers.get("host", ""))
            if host and host not in LOOPBACK_NAMES and not _is_loopback(host):
                return await PlainTextResponse("forbidden host\n", status_code=403)(scope, receive, send)
            return await self.app(scope, receive, send)
        offered = self._offered(scope, headers)
        if offered is None or not hmac.compare_digest(offered.encode(), token.encode()):
            response = PlainTextResponse("unauthorized: this live view needs its token (?token=...)\n",
                                         status_code=401, headers={"WWW-Authenticate": "Bearer"})
            return await response(scope, receive, send)
        if scope["path"] == "/":  # the page's own requests (image, events, scripts) carry it as a cookie
            cookie = f"{self.cookie}={token}; Path=/; HttpOnly; SameSite=Strict"

            async def send_with_cookie(message):
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message["headers"], (b"set-cookie", cookie.encode())]}
                await send(message)
            return await self.app(scope, receive, send_with_cookie)
        return await self.app(scope, receive, send)

    def _offered(self, scope, headers: dict) -> str | None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if query.get("token"):
            return query["token"][0]
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value:
            return value.strip()
        if "cookie" in headers:
            jar = SimpleCookie()
            try:
                jar.load(headers["cookie"])
            except Exception:  # a malformed Cookie header is no token
                return None
            if self.cookie in jar:
                return jar[self.cookie].value
        return None


def _host_name(header: str) -> str:
    """The name in a Host header, without its port: ``[::1]:8090`` -> ``::1``, ``LocalHost:80`` -> ``localhost``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
