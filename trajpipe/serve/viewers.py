"""The live view's open streams: every viewer has its own slot for the newest JPEG and a short backlog
of JSON lines, filled on the server's loop once per frame; a viewer that reads slowly or not at all
only loses its own old frames, which are counted."""

from __future__ import annotations

import asyncio
import collections

EVENTS_BACKLOG = 64  # JSON lines kept for a slow /events viewer; older ones are dropped for it alone


class Viewer:
    """One open stream (``/stream.mjpg`` or ``/events``): the newest JPEG or the recent JSON lines."""

    def __init__(self, kind: str):
        self.kind = kind  # "video" | "events"
        self.wake = asyncio.Event()
        self.jpeg: bytes | None = None
        self.lines: collections.deque[bytes] = collections.deque(maxlen=EVENTS_BACKLOG)
        self.skipped = 0  # frames or lines replaced before this viewer took them
        self.sent = 0


class Viewers:
    """The open streams of one server, at most ``max_clients``, and the newest JPEG and JSON line as
    delivered (what a new viewer starts with, exactly once). Used on the server's loop only."""

    def __init__(self, max_clients: int):
        self.max_clients = max_clients
        self.open: set[Viewer] = set()
        self.newest_jpeg: bytes | None = None
        self.newest_line: bytes | None = None
        self.closing = False

    def add(self, kind: str) -> Viewer | None:
        """A place for a new stream of ``kind`` ("video" or "events"), or None when closing or full."""
        if self.closing or len(self.open) >= self.max_clients:
            return None
        viewer = Viewer(kind)
        self.open.add(viewer)
        return viewer

    def deliver_jpeg(self, jpeg: bytes) -> None:
        """Give every video viewer ``jpeg`` in place of a frame it has not taken yet (counted as skipped)."""
        self.newest_jpeg = jpeg
        for viewer in self.open:
            if viewer.kind == "video":
                viewer.skipped += viewer.jpeg is not None
                viewer.jpeg = jpeg
                viewer.wake.set()

    def deliver_line(self, line: bytes) -> None:
        """Append ``line`` to every events viewer's backlog (its oldest line dropped when full, counted)."""
        self.newest_line = line
        for viewer in self.open:
            if viewer.kind == "events":
                viewer.skipped += len(viewer.lines) == EVENTS_BACKLOG
                viewer.lines.append(line)
                viewer.wake.set()

    def stats(self) -> dict:
        """The ``viewers`` part of ``/stats``: open streams of each kind, the limit, frames skipped and sent."""
        viewers = list(self.open)
        return {"video": sum(v.kind == "video" for v in viewers), "events": sum(v.kind == "events" for v in viewers),
                "limit": self.max_clients, "skipped": sum(v.skipped for v in viewers), "sent": sum(v.sent for v in viewers)}
