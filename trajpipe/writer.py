"""Output process: the overlay, the annotated video and the JSON lines are produced by a child
process, so output work never competes with the detector for the parent's GIL (with a writer
thread, JSON encoding and drawing held the GIL while the detector's pre- and post-processing
waited for it). POSIX only (the pipes are handed to the child with ``pass_fds``).

Frames travel through a ring of shared-memory slots (one copy each), everything else as a small
pickled packet over a pipe: ids, boxes, current points and forecasts, stacked into arrays. The
child keeps the recent points of every track itself (for the trails), so whole histories never
cross the process boundary. The child's answers (slot freed, error, final counts) come back over
a second pipe. A parent that dies without closing leaves the outputs untouched: the child sees
the pipe close and discards what it had written (see :class:`~trajpipe.sinks.AtomicFile`).
"""

from __future__ import annotations

import mmap
import os
import pickle
import signal
import subprocess
import sys
import tempfile
from collections import deque
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from .errors import TrajpipeError, first_line
from .results import Forecast, FrameResult, TrackState

RING_BUDGET = 64 * 1024 * 1024  # bytes of shared memory for frames in flight
MAX_SLOTS = 16
PIPE_BYTES = 1024 * 1024  # room for packets sent while the child starts up (Linux: F_SETPIPE_SZ)


# ------------------------------------------------------------------------------------- packets


def _stack(values: list, dtype=np.float64) -> np.ndarray | list | None:
    """One array for a list of equally shaped arrays; the list itself when ragged; None if any is None."""
    if any(v is None for v in values):
        return None
    try:
        return np.stack(values).astype(dtype, copy=False) if values else np.zeros((0,), dtype)
    except ValueError:
        return values


def pack_result(result: FrameResult) -> dict:
    """What the output process needs of ``result`` (not the image, not the histories), in a few arrays."""
    tracks = result.tracks
    forecast_rows = [i for i, t in enumerate(tracks) if t.forecast is not None]
    forecasts = [tracks[i].forecast for i in forecast_rows]
    return {
        "frame": result.frame_index, "timestamp": result.timestamp, "latency": result.latency,
        "process_seconds": result.process_seconds,
        "id": [t.id for t in tracks], "class_id": [t.class_id for t in tracks],
        "class_name": [t.class_name for t in tracks], "conf": [t.confidence for t in tracks],
        "box": _stack([t.box for t in tracks]), "point": _stack([t.history[-1] for t in tracks]),
        "point_world": _stack([t.point_world for t in tracks]) if tracks else None,
        "forecast_rows": forecast_rows,
        "f_times": _stack([f.times for f in forecasts]), "f_points": _stack([f.points for f in forecasts]),
        "f_sigma": _stack([f.sigma for f in forecasts]) if forecasts else None,
        "f_world": _stack([f.points_world for f in forecasts]) if forecasts else None,
        "f_origin": [f.origin for f in forecasts],
    }


class TrailMemory:
    """The recent points of every track, kept by the output process from the packets it receives."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.tracks: dict[int, deque] = {}

    def update(self, timestamp: float, ids: list[int], points: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Add this frame's points; returns each track's (times, points) of the last ``seconds``."""
        oldest = timestamp - self.seconds
        trails = []
        for track_id, point in zip(ids, points):
            samples = self.tracks.setdefault(track_id, deque())
            samples.append((timestamp, point))
            while samples[0][0] < oldest:
                samples.popleft()
            trails.append((np.array([s[0] for s in samples]), np.array([s[1] for s in samples])))
        for track_id in [i for i, s in self.tracks.items() if s[-1][0] < oldest]:
            del self.tracks[track_id]
        return trails


def unpack_result(packet: dict, image: np.ndarray | None, trails: TrailMemory | None) -> FrameResult:
    """The :class:`FrameResult` that :func:`pack_result` came from, with histories replaced by the
    trails (or the current point alone when ``trails`` is None). Its JSON record is the same."""
    n = len(packet["id"])
    timestamp = packet["timestamp"]
    points = packet["point"] if n else np.zeros((0, 2))
    if trails is not None:
        histories = trails.update(timestamp, packet["id"], points)
    else:
        histories = [(np.array([timestamp]), points[i:i + 1]) for i in range(n)]
    forecasts: list[Forecast | None] = [None] * n
    for k, row in enumerate(packet["forecast_rows"]):
        forecasts[row] = Forecast(
            times=packet["f_times"][k], points=packet["f_points"][k],
            sigma=None if packet["f_sigma"] is None else packet["f_sigma"][k], origin=packet["f_origin"][k],
            points_world=None if packet["f_world"] is None else packet["f_world"][k])
    world = packet["point_world"]
    tracks = [TrackState(id=packet["id"][i], class_id=packet["class_id"][i], class_name=packet["class_name"][i],
                         confidence=packet["conf"][i], box=packet["box"][i], history=histories[i][1],
                         history_times=histories[i][0], forecast=forecasts[i],
                         point_world=None if world is None else world[i])
              for i in range(n)]
    return FrameResult(packet["frame"], timestamp, tracks, packet["process_seconds"], packet["latency"], image)


# -------------------------------------------------------------------------------- parent side


def _enlarge_pipe(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):  # not Linux, or above the system's pipe-max-size
        pass


def _ring_directory() -> str | None:
    """/dev/shm (memory) when it has ample room for the ring (containers often give it only 64 MiB),
    else the temporary directory (then the page cache holds the frames)."""
    try:
        shm = os.statvfs("/dev/shm")
        if shm.f_bavail * shm.f_frsize >= 2 * RING_BUDGET:
            return "/dev/shm"
    except OSError:
        pass
    return None


class OutputProcess:
    """Hands each result to the output child process. ``submit`` copies the frame into a free
    slot (waiting only when all slots are in flight, which keeps memory bounded when the disk is
    slower than the pipeline); ``close`` waits until everything is written and the files are in place."""

    def __init__(self, video_path: str | None, fps: float, jsonl_path: str | None, overlay_settings: dict):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        _enlarge_pipe(to_child_w)
        self._ring_file = tempfile.TemporaryFile(dir=_ring_directory())
        package_root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p))
        args = [sys.executable, "-m", "trajpipe.writer", str(to_child_r), str(from_child_w), str(self._ring_file.fileno())]
        # Its own session: a Ctrl-C in the terminal reaches the parent only, which then closes cleanly.
        self._proc = subprocess.Popen(args, pass_fds=(to_child_r, from_child_w, self._ring_file.fileno()),
                                      env=env, start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self._to_child = Connection(to_child_w, readable=False)
        self._from_child = Connection(from_child_r, writable=False)
        self._ring: mmap.mmap | None = None
        self._slot_bytes = 0
        self._slots = 0
        self._free: list[int] = []
        self.error: str | None = None
        self.video_frames = self.jsonl_lines = 0
        self._video = bool(video_path)
        self._send(("open", {"video": video_path, "fps": fps, "jsonl": jsonl_path, "overlay": overlay_settings}))

    def _send(self, message) -> None:
        try:
            self._to_child.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        except (BrokenPipeError, ConnectionResetError):
            raise TrajpipeError(self._death()) from None

    def _death(self) -> str:
        code = self._proc.wait()
        return self.error or f"the output writer process exited unexpectedly (exit code {code})"

    def _collect(self, wait: bool) -> None:
        """Take in the child's answers; with ``wait``, wait up to half a second for the first one
        (and fail if the child has died meanwhile)."""
        timeout = 0.5 if wait else 0.0
        while self._from_child.poll(timeout):
            try:
                message = self._from_child.recv()
            except EOFError:
                raise TrajpipeError(self._death()) from None
            kind = message[0]
            if kind == "free":
                self._free.append(message[1])
            elif kind == "error":
                self.error = message[1]
            elif kind == "closed":
                self.video_frames, self.jsonl_lines = message[1], message[2]
            timeout, wait = 0.0, False
        if wait and self._proc.poll() is not None:
            raise TrajpipeError(self._death())

    def _make_ring(self, image: np.ndarray) -> None:
        """(Re)size the slots for frames like ``image``, once no slot is in flight."""
        while len(self._free) < self._slots:
            self._collect(wait=True)
        if self._ring is not None:
            self._ring.close()
        self._slot_bytes = image.nbytes
        self._slots = int(min(MAX_SLOTS, max(2, RING_BUDGET // max(image.nbytes, 1))))
        try:  # reserve the space now: a full disk is an error here, not a SIGBUS on a later write
            os.posix_fallocate(self._ring_file.fileno(), 0, self._slots * self._slot_bytes)
        except OSError as exc:
            raise TrajpipeError(f"no room for the output frame buffer ({self._slots * self._slot_bytes >> 20} MiB): "
                                f"{first_line(exc)}") from None
        self._ring = mmap.mmap(self._ring_file.fileno(), self._slots * self._slot_bytes)
        self._free = list(range(self._slots))
        self._send(("ring", self._slots * self._slot_bytes, self._slot_bytes))

    def submit(self, result: FrameResult, hud: list[str] | None, repeats: int = 1) -> None:
        """Queue ``result`` for output; ``hud`` None means its image is already drawn."""
        self._collect(wait=False)
        if self.error is not None:
            raise TrajpipeError(f"writing outputs failed: {self.error}")
        slot, shape, dtype = None, None, None
        if self._video:  # the image crosses over only when a video is written
            image = np.ascontiguousarray(result.image)
            if self._ring is None or image.nbytes != self._slot_bytes:
                self._make_ring(image)
            while not self._free:
                self._collect(wait=True)
            slot, shape, dtype = self._free.pop(), image.shape, image.dtype.str
            np.ndarray(shape, image.dtype, buffer=self._ring, offset=slot * self._slot_bytes)[...] = image
        self._send(("frame", slot, shape, dtype, pack_result(result), hud, repeats))

    def close(self) -> None:
        """Finish everything queued and put the files in place; raise if writing failed."""
        try:
            if self._proc.poll() is None:
                self._send(("close",))
                while self._proc.poll() is None or self._from_child.poll(0):
                    try:
                        self._collect(wait=True)
                    except TrajpipeError:
                        break
        finally:
            self._proc.wait()
            self._to_child.close()
            self._from_child.close()
            if self._ring is not None:
                self._ring.close()
            self._ring_file.close()
        if self.error is not None:
            raise TrajpipeError(f"writing outputs failed: {self.error}")
        if self._proc.returncode != 0:
            raise TrajpipeError(self._death())


# --------------------------------------------------------------------------------- child side


def _child_main(inbox_fd: int, outbox_fd: int, ring_fd: int) -> int:
    from .overlay import Overlay
    from .sinks import JsonlSink, VideoSink

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    inbox = Connection(inbox_fd, writable=False)
    outbox = Connection(outbox_fd, readable=False)
    video = jsonl = ring = None
    slot_bytes = 0
    overlay = trails = None
    error = None
    try:
        while True:
            message = inbox.recv()
            kind = message[0]
            if kind == "frame":
                _, slot, shape, dtype, packet, hud, repeats = message
                if error is None:
                    try:
                        image = None if slot is None else np.ndarray(shape, np.dtype(dtype), buffer=ring,
                                                                     offset=slot * slot_bytes)
                        draw = video is not None and hud is not None
                        result = unpack_result(packet, image, trails if draw else None)
                        if jsonl is not None:
                            jsonl.write(result.to_json())
                        if video is not None:
                            if draw:
                                overlay.draw(image, result, hud)
                            for _ in range(repeats):
                                video.write(image)
                    except Exception as exc:  # reported to the parent, which stops the run
                        error = first_line(exc)
                        outbox.send(("error", error))
                if slot is not None:
                    outbox.send(("free", slot))
            elif kind == "ring":
                if ring is not None:
                    ring.close()
                ring, slot_bytes = mmap.mmap(ring_fd, message[1]), message[2]
            elif kind == "open":
                settings = message[1]
                try:
                    overlay = Overlay(**settings["overlay"])
                    trails = TrailMemory(overlay.trail_seconds)
                    video = VideoSink(settings["video"], settings["fps"]) if settings["video"] else None
                    jsonl = JsonlSink(settings["jsonl"]) if settings["jsonl"] else None
                except Exception as exc:
                    error = first_line(exc)
                    outbox.send(("error", error))
            elif kind == "close":
                try:
                    for sink in (video, jsonl):
                        if sink is not None:
                            sink.close()
                except Exception as exc:
                    outbox.send(("error", first_line(exc)))
                outbox.send(("closed", video.frames if video else 0, jsonl.lines if jsonl else 0))
                return 0
    except (EOFError, BrokenPipeError, ConnectionResetError):  # the parent went away without closing:
        # leave every existing file as it was
        for sink in (video, jsonl):
            if sink is not None and sink.file is not None:
                if isinstance(sink, VideoSink) and sink.writer is not None:
                    sink.writer.release()
                sink.file.discard()
        return 1


if __name__ == "__main__":
    sys.exit(_child_main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
