"""Run a pipeline over a source and write the annotated video and JSON lines (what ``trajpipe run`` does)."""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .errors import TrajpipeError
from .overlay import Overlay
from .pipeline import Pipeline
from .results import FrameResult
from .sinks import JsonlSink, VideoSink, check_output_path, video_codec
from .sources import Outage

MAX_REPEATS = 25  # live recordings repeat a frame to cover dropped ones, up to this many times


@dataclass
class RunSummary:
    source: str
    frames: int
    seconds: float
    track_ids: int
    forecast_ids: int
    output_video: str | None
    output_jsonl: str | None
    interrupted: bool
    live: bool = False
    captured: int = 0
    dropped: int = 0
    mean_latency: float | None = None
    outages: list[Outage] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        outputs = [f"video -> {self.output_video}" if self.output_video else None,
                   f"JSON lines -> {self.output_jsonl}" if self.output_jsonl else None]
        written = "; ".join(o for o in outputs if o) or "no outputs written"
        text = (f"Processed {self.frames} frames of {self.source} in {self.seconds:.1f} s "
                f"({self.fps:.1f} FPS mean). {self.track_ids} track ids seen, {self.forecast_ids} forecast. ")
        if self.live:
            share = self.dropped / self.captured if self.captured else 0.0
            text += f"Live: {self.dropped} of {self.captured} captured frames dropped to stay fresh ({share:.0%})"
            if self.mean_latency is not None:
                text += f", mean latency capture->result {self.mean_latency * 1000:.0f} ms"
            if self.outages:
                text += f", {len(self.outages)} outage(s) totalling {sum(o.seconds for o in self.outages):.1f} s"
            text += ". "
        text += f"{written}."
        if self.interrupted:
            text += " Stopped early by interrupt; outputs are complete up to the last frame."
        return text


class _Display:
    """An OpenCV window when a display exists; otherwise says so once and stays headless."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        if enabled and sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            print("trajpipe: --show needs a display and none is available; continuing headless", file=sys.stderr)
            self.enabled = False

    def show(self, image) -> bool:
        """Shows ``image``; returns False when the user asked to quit (q or Esc)."""
        if not self.enabled:
            return True
        import cv2

        try:
            cv2.imshow("trajpipe", image)
            return cv2.waitKey(1) & 0xFF not in (ord("q"), 27)
        except cv2.error as exc:
            print(f"trajpipe: cannot open a window ({str(exc).splitlines()[0]}); continuing headless", file=sys.stderr)
            self.enabled = False
            return True

    def close(self) -> None:
        if self.enabled:
            import cv2

            cv2.destroyAllWindows()


class _OutputWriter:
    """Draws the overlay and writes video frames and JSON lines on a background thread, so that
    output costs the detector (which runs on the other core) almost nothing. Order is kept; the
    bounded queue keeps memory flat when the disk is slower than the pipeline."""

    def __init__(self, overlay: Overlay, video: VideoSink | None, jsonl: JsonlSink | None, queue_size: int = 8):
        self.overlay, self.video, self.jsonl = overlay, video, jsonl
        self.error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._work, name="trajpipe-writer", daemon=True)
        self._thread.start()

    def submit(self, result, hud: list[str] | None, repeats: int = 1) -> None:
        """Queue ``result`` for output; ``hud`` None means the frame is already drawn."""
        if self.error is not None:
            raise self.error
        if self.video or self.jsonl:
            self._queue.put((result, hud, repeats))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.error is not None:
                continue  # drain without writing after a failure
            result, hud, repeats = item
            try:
                if self.jsonl:
                    self.jsonl.write(result.to_json())
                if self.video:
                    if hud is not None:
                        self.overlay.draw(result.image, result, hud)
                    for _ in range(repeats):
                        self.video.write(result.image)
            except BaseException as exc:  # re-raised in the main thread
                self.error = exc

    def close(self) -> None:
        """Finish everything queued; re-raise a write failure."""
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error


def check_outputs(source, output_video: str | None, output_jsonl: str | None) -> None:
    """Fail before any work on outputs that could not be written or would overwrite an input."""
    inputs = [Path(str(source))]
    if output_video:
        check_output_path(output_video, inputs, "video")
        video_codec(output_video)
    if output_jsonl and output_jsonl != "-":
        check_output_path(output_jsonl, inputs, "JSON-lines")
        if output_video and Path(output_video).resolve() == Path(output_jsonl).resolve():
            raise TrajpipeError(f"video and JSON-lines outputs are the same file: {output_video}")


def return_frames_to_the_os() -> None:
    """Serve buffers of 512 KiB and more (every video frame) from mmap, on glibc.

    glibc raises its mmap threshold as large blocks are freed, after which freed frames stay in the
    heap; over a long run RSS then creeps up (measured: +2.75 MiB per 1000 frames, in steps of tens of
    MiB). A fixed threshold gives every frame back when it is freed, and RSS stays flat. This is a
    process-wide allocator setting, made once by the run loop; elsewhere it does nothing.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").mallopt(-3, 512 * 1024)  # -3: M_MMAP_THRESHOLD
        except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
            pass


class _StopRequest:
    """SIGINT/SIGTERM handler: the first signal asks the loop to stop after the current frame, so
    the video and the JSON lines end on the same frame; a second one stops at once."""

    def __init__(self):
        self.requested = False
        self.previous = {}

    def __call__(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self)

    def uninstall(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def run(pipeline: Pipeline, source, output_video: str | None = None, output_jsonl: str | None = None,
        max_frames: int | None = None, show: bool = False, progress: bool = True,
        on_result: Callable[[FrameResult], None] | None = None, handle_signals: bool = True,
        keep_incomplete: bool = True) -> RunSummary:
    """Process ``source`` frame by frame. Ctrl-C or SIGTERM stop cleanly after the current frame with
    outputs finalised (a second one stops at once, outputs still finalised). ``on_result`` is called
    with every result, after it is queued for output.

    ``handle_signals`` False leaves SIGINT/SIGTERM to the caller (batch workers). ``keep_incomplete``
    False discards the outputs of a run that did not reach its end (interrupt or error), so a file
    under its final name always holds a whole video."""
    if max_frames is not None and max_frames < 1:
        raise TrajpipeError(f"--max-frames must be >= 1, got {max_frames}")
    check_outputs(source, output_video, output_jsonl)
    return_frames_to_the_os()
    frames_in = pipeline.open(source)
    try:
        video = VideoSink(output_video, frames_in.fps) if output_video else None
        jsonl = JsonlSink(output_jsonl) if output_jsonl else None
    except BaseException:
        frames_in.close()
        raise
    sinks = [s for s in (video, jsonl) if s is not None]

    cfg = pipeline.config
    overlay = Overlay(cfg.trail_seconds, cfg.draw_boxes, cfg.draw_hud, cfg.draw_uncertainty)
    display = _Display(show)
    writer = _OutputWriter(overlay, video, jsonl)
    total = frames_in.frame_count or None
    if total and max_frames:
        total = min(total, max_frames)
    from tqdm import tqdm

    bar = tqdm(total=total, unit="frame", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    stop = _StopRequest()
    if handle_signals:
        stop.install()
    seen, forecast_ids, latencies, frames, interrupted = set(), set(), [], 0, False
    last_index = -1
    forecaster = pipeline.forecaster
    horizon = f"forecast: {forecaster.name} {forecaster.pred_steps * forecaster.dt:.1f}s"
    started = time.perf_counter()
    reached_end = False
    try:
        for result in pipeline.stream(frames_in, max_frames):
            frames += 1
            seen.update(t.id for t in result.tracks)
            forecast_ids.update(t.id for t in result.tracks if t.forecast is not None)
            if result.latency is not None:
                latencies.append(result.latency)
            hud = None
            if video or display.enabled:
                fps = frames / (time.perf_counter() - started)
                rings = cfg.draw_uncertainty and any(t.forecast is not None and t.forecast.sigma is not None
                                                      for t in result.tracks)
                hud = [f"frame {result.frame_index}  t={result.timestamp:.2f}s",
                       f"{fps:.1f} FPS  {len(result.tracks)} tracks", horizon + (" (ring: 1 sigma)" if rings else "")]
                if frames_in.live:
                    hud.insert(2, f"latency {result.latency * 1000:.0f} ms  dropped {frames_in.dropped}")
            # Live: repeat the frame over the ones dropped, so the recording plays in real time.
            repeats = max(min(result.frame_index - last_index, MAX_REPEATS), 1) if frames_in.live else 1
            if display.enabled:  # windows belong to the main thread: draw here, write in the background
                overlay.draw(result.image, result, hud)
                writer.submit(result, None, repeats)
                if not display.show(result.image):
                    break
            else:
                writer.submit(result, hud, repeats)
            if on_result is not None:
                on_result(result)
            last_index = result.frame_index
            bar.update(1)
            bar.set_postfix(tracks=len(result.tracks), refresh=False)
            if stop.requested:
                interrupted = True
                break
        reached_end = not interrupted
    except KeyboardInterrupt:
        interrupted = True
    finally:
        try:
            writer.close()
        finally:
            elapsed = time.perf_counter() - started
            bar.close()
            frames_in.close()
            display.close()
            for sink in sinks:
                sink.close(commit=keep_incomplete or reached_end)
            stop.uninstall()
    summary = RunSummary(str(source), frames, elapsed, len(seen), len(forecast_ids),
                         output_video if video and video.frames else None,
                         output_jsonl if jsonl and jsonl.lines else None, interrupted, frames_in.live)
    if frames_in.live:
        summary.captured, summary.dropped, summary.outages = frames_in.captured, frames_in.dropped, list(frames_in.outages)
        summary.mean_latency = sum(latencies) / len(latencies) if latencies else None
    return summary
