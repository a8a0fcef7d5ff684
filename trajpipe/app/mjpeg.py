"""A small MJPEG-over-HTTP server that plays a video file as a live camera stream.

Used by the tests and benchmarks (loopback only) and handy for trying live mode without a camera:
``python -m trajpipe.app.mjpeg videos/concourse.mp4 --port 8090`` then
``trajpipe run http://127.0.0.1:8090/stream.mjpg``.
"""

from __future__ import annotations

import argparse
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2

BOUNDARY = "trajpipeframe"


def encode_frames(video: str | Path, max_frames: int | None = None, quality: int = 85) -> list[bytes]:
    """The video's frames as JPEG bytes (pre-encoded so serving costs no CPU per client)."""
    cap = cv2.VideoCapture(str(video))
    frames = []
    while max_frames is None or len(frames) < max_frames:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes())
    cap.release()
    if not frames:
        raise ValueError(f"no frames read from {video}")
    return frames


class MjpegServer:
    """Serves ``frames`` in a loop at ``fps`` to every client of ``http://host:port/<anything>``.
    ``stop()`` drops all clients and closes the port; ``start()`` opens it again on the same port."""

    def __init__(self, frames: list[bytes], fps: float = 25.0, host: str = "127.0.0.1", port: int = 0):
        self.frames, self.fps, self.host, self.port = frames, fps, host, port
        self._server: ThreadingHTTPServer | None = None
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/stream.mjpg"

    def start(self) -> "MjpegServer":
        server_ref = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test and benchmark output clean
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                start, index = time.monotonic(), 0
                try:
                    while not server_ref._stopping.is_set():
                        jpeg = server_ref.frames[index % len(server_ref.frames)]
                        self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                         f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
                        index += 1
                        delay = start + index / server_ref.fps - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._stopping.clear()
        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="mjpeg-server", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._stopping.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "MjpegServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a video file as an MJPEG live stream over HTTP.")
    parser.add_argument("video")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--fps", type=float, default=25.0)
    args = parser.parse_args()
    server = MjpegServer(encode_frames(args.video), args.fps, args.host, args.port).start()
    print(f"serving {args.video} at {server.url} ({args.fps:g} fps); Ctrl-C stops", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
