"""The live view's web application: the page's three assets (held in memory: nothing else is ever
served), the MJPEG stream, the JSON lines as server-sent events, a snapshot, health and stats, all
behind the :class:`~trajpipe.serve.auth.TokenGuard`."""

from __future__ import annotations

import asyncio
from importlib import resources
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, Router

from .auth import TokenGuard
from .viewers import Viewer

BOUNDARY = "trajpipeframe"
KEEPALIVE_SECONDS = 15.0  # an SSE comment when no frame came for this long, so proxies keep the stream
ASSETS = {"/": ("index.html", "text/html; charset=utf-8"), "/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/style.css": ("style.css", "text/css; charset=utf-8")}
PAGE_HEADERS = {  # the page talks to its own origin only, and the token never leaves in a Referer
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def live_app(server) -> TokenGuard:
    """The ASGI application of ``server``: its routes behind its token (or loopback) guard.

    Args:
        server: the :class:`~trajpipe.serve.LiveServer` whose hub, viewers and stats the routes read.

    Returns:
        The guarded application, for uvicorn.
    """
    routes = _Routes(server)
    table = [Route(path, routes.asset) for path in ASSETS] + [
        Route("/stream.mjpg", routes.stream), Route("/events", routes.events), Route("/snapshot.jpg", routes.snapshot),
        Route("/healthz", routes.healthz), Route("/stats", routes.stats)]
    return TokenGuard(Router(table, redirect_slashes=False), server.token, server.port)


class _Routes:
    """The handlers of one server's routes."""

    def __init__(self, server):
        self.server, self.viewers = server, server.viewers
        self.assets = {path: ((resources.files(__package__) / "static" / name).read_bytes(), media)
                       for path, (name, media) in ASSETS.items()}

    def asset(self, request) -> Response:
        body, media = self.assets[request.url.path]
        return Response(body, media_type=media, headers=PAGE_HEADERS)

    def _viewer_stream(self, viewer: Viewer, content, media_type: str):
        """The streaming response of ``viewer``, which gives its place back however it ends."""
        response = StreamingResponse(content, media_type=media_type,
                                     headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

        async def respond(scope, receive, send):
            try:
                await response(scope, receive, send)
            finally:
                self.viewers.open.discard(viewer)
        return respond

    def _unavailable(self) -> Response:
        why = ("the live view is shutting down" if self.viewers.closing else
               f"too many viewers: at most {self.viewers.max_clients} open streams (serve_max_clients); try again later")
        return PlainTextResponse(why + "\n", status_code=503, headers={"Retry-After": "5"})

    async def stream(self, request):
        viewer = self.viewers.add("video")
        if viewer is None:
            return self._unavailable()
        viewer.jpeg = self.viewers.newest_jpeg  # start with the newest frame, not a blank

        async def parts():
            while not self.viewers.closing:
                if viewer.jpeg is None:
                    await viewer.wake.wait()
                    viewer.wake.clear()
                    continue
                jpeg, viewer.jpeg = viewer.jpeg, None
                viewer.sent += 1
                yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                       .encode() + jpeg + b"\r\n")

        return self._viewer_stream(viewer, parts(), f"multipart/x-mixed-replace; boundary={BOUNDARY}")

    async def events(self, request):
        viewer = self.viewers.add("events")
        if viewer is None:
            return self._unavailable()
        if self.viewers.newest_line is not None:  # the current tracks at once, then every frame
            viewer.lines.append(self.viewers.newest_line)

        async def messages():
            yield b": trajpipe live view\n\n"  # the stream is open before the first frame
            while not self.viewers.closing:
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

    def snapshot(self, request) -> Response:
        jpeg = self.server.hub.jpeg
        if jpeg is None:
            return PlainTextResponse("no frame yet\n", status_code=503, headers={"Retry-After": "1"})
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    def healthz(self, request) -> Response:
        return JSONResponse({"status": "ok", "frames": self.server.hub.published,
                             "seconds_since_last_frame": self.server.since_last_frame()})

    def stats(self, request) -> Response:
        return JSONResponse(self.server.stats())
