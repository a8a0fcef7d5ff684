"""A live view of a run in the browser (``trajpipe run SOURCE --serve [HOST:]PORT``; docs/live.md).

``LiveServer(port).publish(result)`` serves the page, the annotated MJPEG stream, each frame's JSON
line as server-sent events, a snapshot, health and stats. Needs ``pip install 'trajpipe[serve]'``.
"""

from .hub import FrameHub
from .server import INSTALL_HINT, LiveServer

__all__ = ["FrameHub", "INSTALL_HINT", "LiveServer"]
