"""The run loop: a pipeline over a source, its results to the annotated video, JSON lines, MCAP and live
view (what ``trajpipe run`` does, and what batch workers call). Showing frames in a
window is the caller's: it passes a ``display`` callback."""

from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..core.results import FrameResult
from ..draw.annotators import adaptation_line, track_count
from ..draw.overlay import Overlay
from ..errors import TrajpipeError
from ..io.mcap import McapSink, check_mcap_output
from ..io.sinks import JsonlSink, VideoSink, check_output_path, video_codec
from ..pipeline import Pipeline
from ..video.sources import Outage
from .writer import OutputWriter

if TYPE_CHECKING:
    from ..serve import LiveServer

MAX_REPEATS = 25  # live recordings repeat a frame to cover dropped ones, up to this many times


@dataclass
class RunSummary:
    """What a run did; ``str()`` is the line ``trajpipe run`` prints.

    Attributes:
        source: the source as given.
        frames: results produced.
        seconds: wall time of the loop.
        track_ids: distinct track ids seen.
        forecast_ids: distinct track ids that got a forecast.
        output_video: the video written, or None (not asked for, or nothing written).
        output_jsonl: the JSON lines written, or None.
        interrupted: stopped by Ctrl-C or SIGTERM before the end.
        live: the source was live (a camera or a stream).
        output_mcap: the MCAP recording written, or None.
        captured: live: frames captured.
        dropped: live: captured frames dropped to stay fresh.
        mean_latency: live: mean seconds from capture to result.
        outages: live: the stream's outages.
    """

    source: str
    frames: int
    seconds: float
    track_ids: int
    forecast_ids: int
    output_video: str | None
    output_jsonl: str | None
    interrupted: bool
    live: bool = False
    output_mcap: str | None = None
    captured: int = 0
    dropped: int = 0
    mean_latency: float | None = None
    outages: list[Outage] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        outputs = [f"video -> {self.output_video}" if self.output_video else None,
                   f"JSON lines -> {self.output_jsonl}" if self.output_jsonl else None,
                   f"MCAP -> {self.output_mcap}" if self.output_mcap else None]
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


def check_outputs(source, output_video: str | None, output_jsonl: str | None, output_mcap: str | None = None) -> None:
    """Fail before any work on outputs that could not be written or would overwrite an input (and on
    an MCAP output without the robotics extra installed)."""
    inputs = [Path(str(source))]
    if output_video:
        check_output_path(output_video, inputs, "video")
        video_codec(output_video)
    if output_jsonl and output_jsonl != "-":
        check_output_path(output_jsonl, inputs, "JSON-lines")
        if output_video and Path(output_video).resolve() == Path(output_jsonl).resolve():
            raise TrajpipeError(f"video and JSON-lines outputs are the same file: {output_video}")
    if output_mcap:
        check_mcap_output(output_mcap, inputs)
        for other in (output_video, output_jsonl):
            if other and other != "-" and Path(other).resolve() == Path(output_mcap).resolve():
                raise TrajpipeError(f"the MCAP output is also another output: {output_mcap}")


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

    def __init__(self, on_request: Callable[[], None] | None = None):
        self.requested = False
        self.previous = {}
        self.on_request = on_request  # e.g. a ROS 2 source's interrupt(): it may be waiting for a frame

    def __call__(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if self.on_request is not None:
            self.on_request()

    def __enter__(self) -> "_StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


@dataclass
class _RunStats:
    """What the loop counts as results come in."""

    started: float = field(default_factory=time.perf_counter)
    frames: int = 0
    track_ids: set = field(default_factory=set)
    forecast_ids: set = field(default_factory=set)
    latencies: list = field(default_factory=list)

    def add(self, result: FrameResult) -> None:
        self.frames += 1
        self.track_ids.update(t.id for t in result.tracks)
        self.forecast_ids.update(t.id for t in result.tracks if t.forecast is not None)
        if result.latency is not None:
            self.latencies.append(result.latency)

    @property
    def fps(self) -> float:
        return self.frames / (time.perf_counter() - self.started)


def run(pipeline: Pipeline, source, output_video: str | None = None, output_jsonl: str | None = None,
        max_frames: int | None = None, display: Callable[[np.ndarray], bool] | None = None, progress: bool = True,
        on_result: Callable[[FrameResult], None] | None = None, handle_signals: bool = True,
        keep_incomplete: bool = True, output_mcap: str | None = None, live: "LiveServer | None" = None,
        publishers=()) -> RunSummary:
    """Process ``source`` frame by frame and write its outputs (what ``trajpipe run`` does).

    Ctrl-C or SIGTERM stop cleanly after the current frame with outputs finalised (a second one stops
    at once, outputs still finalised).

    Args:
        pipeline: the :class:`~trajpipe.pipeline.Pipeline` to run.
        source: a video file, webcam index, device path or stream URL (see :meth:`Pipeline.stream`).
        output_video: the annotated video (``.mp4``, ``.avi``, ``.mkv``), or None.
        output_jsonl: the JSON lines (``-``: standard output), or None.
        max_frames: stop after this many results (>= 1), or None for the whole source.
        display: called on this (the main) thread with every annotated frame (BGR, (H, W, 3) uint8);
            it returns False to stop the run (a window's q key). None: nothing shown, the overlay is
            drawn on the output thread.
        progress: show a progress bar on standard error.
        on_result: called with every result, after it is queued for output.
        handle_signals: False leaves SIGINT/SIGTERM to the caller (batch workers).
        keep_incomplete: False discards the outputs of a run that did not reach its end (interrupt or
            error), so a file under its final name always holds a whole video.
        output_mcap: an MCAP recording for Foxglove and ROS 2 tools
            (:class:`~trajpipe.io.mcap.McapSink`; needs the ``robotics`` extra), or None.
        live: a :class:`~trajpipe.serve.LiveServer` shown every result (with this run's overlay and
            JSON lines, from the output thread); the caller starts and closes it.
        publishers: objects with ``publish(result, record, scene, image)``
            (:class:`~trajpipe.io.dds.Ros2Publisher`, :class:`~trajpipe.io.foxglove_live.FoxgloveLive`)
            shown every result from the output thread; the caller opens and closes them.

    Returns:
        The run's :class:`RunSummary`: frames, seconds, track ids and the outputs written.

    Example:
        >>> with Pipeline(classes=["person"]) as pipe:  # doctest: +SKIP
        ...     print(run(pipe, "videos/concourse.mp4", output_jsonl="tracks.jsonl", progress=False))
    """
    if max_frames is not None and max_frames < 1:
        raise TrajpipeError(f"--max-frames must be >= 1, got {max_frames}")
    check_outputs(source, output_video, output_jsonl, output_mcap)
    return_frames_to_the_os()
    stats = _RunStats()
    with ExitStack() as stack:  # closed in reverse: the writer finishes before the sinks and the source
        frames_in = stack.enter_context(pipeline.open(source))
        sinks = _open_sinks(stack, pipeline, frames_in.fps, output_video, output_jsonl, output_mcap, keep_incomplete)
        overlay = Overlay.from_config(pipeline.config, hud_lines=_hud(pipeline, frames_in, stats))
        if live is not None:
            live.overlay = overlay
        writer = stack.enter_context(OutputWriter(overlay, *sinks, live, publishers=publishers))
        stop = _StopRequest(getattr(frames_in, "interrupt", None))  # a ROS 2 source may be waiting for a frame
        if handle_signals:
            stack.enter_context(stop)
        interrupted = _loop(pipeline, frames_in, max_frames, stack, stats, writer, overlay, display, on_result,
                            progress, stop)
        if not interrupted:  # reached its end: whole outputs, kept whatever keep_incomplete says
            for sink in filter(None, sinks):
                sink.keep = True
    return _summary(source, frames_in, stats, interrupted, sinks, output_video, output_jsonl, output_mcap)


def _open_sinks(stack: ExitStack, pipeline: Pipeline, fps: float, output_video, output_jsonl, output_mcap,
                keep_incomplete: bool) -> tuple:
    """The video, JSON-lines and MCAP sinks of a run (None where not asked for), entered on ``stack``."""
    video = stack.enter_context(VideoSink(output_video, fps, keep_incomplete)) if output_video else None
    jsonl = stack.enter_context(JsonlSink(output_jsonl, keep_incomplete)) if output_jsonl else None
    mcap = None
    if output_mcap:
        mcap = stack.enter_context(McapSink(output_mcap, pipeline.config.mcap_image, pipeline.ground is not None,
                                            pipeline.config.trail_seconds, keep=keep_incomplete))
    return video, jsonl, mcap


def _loop(pipeline: Pipeline, frames_in, max_frames, stack: ExitStack, stats: "_RunStats", writer: OutputWriter,
          overlay: Overlay, display, on_result, progress: bool, stop: "_StopRequest") -> bool:
    """Results of ``frames_in`` to the writer (and the display) until the end, a stop request or the
    display's quit; True when interrupted."""
    from tqdm import tqdm

    # the display's overlay is drawn into the frame: keep it raw for an MCAP of raw images and the publishers
    keep_raw = (writer.mcap is not None and writer.mcap.image == "raw") or bool(writer.publishers)
    total = min(frames_in.frame_count, max_frames or frames_in.frame_count) or None
    bar = stack.enter_context(tqdm(total=total, unit="frame", disable=not progress, file=sys.stderr, dynamic_ncols=True))
    stats.started = time.perf_counter()
    last_index = -1
    results = pipeline.stream(frames_in, max_frames)
    try:
        for result in results:
            stats.add(result)
            # Live: repeat the frame over the ones dropped, so the recording plays in real time.
            repeats = max(min(result.frame_index - last_index, MAX_REPEATS), 1) if frames_in.live else 1
            if display is not None:  # windows belong to the main thread: draw here, write in the background
                raw = result.image.copy() if keep_raw else None
                overlay.draw(result.image, result)
                writer.submit(result, True, repeats, raw)
                if not display(result.image):
                    break
            else:
                writer.submit(result, False, repeats)
            if on_result is not None:
                on_result(result)
            last_index = result.frame_index
            bar.update(1)
            bar.set_postfix(tracks=len(result.tracks), refresh=False)
            if stop.requested:
                return True
    except KeyboardInterrupt:
        return True
    finally:
        # The network's and the forecaster's threads end here, while the stop handler still stands: left to
        # the interpreter's exit, a second Ctrl-C there would cut their join short and OpenVINO would abort.
        results.close()
    return stop.requested  # a source that ended on the request (ROS 2: while waiting for a frame)


def _summary(source, frames_in, stats: "_RunStats", interrupted: bool, sinks: tuple, output_video, output_jsonl,
             output_mcap) -> RunSummary:
    """The :class:`RunSummary` of a finished run: an output is named only when something was written to it."""
    video, jsonl, mcap = sinks
    summary = RunSummary(str(source), stats.frames, time.perf_counter() - stats.started, len(stats.track_ids),
                         len(stats.forecast_ids), output_video if video and video.frames else None,
                         output_jsonl if jsonl and jsonl.lines else None, interrupted, frames_in.live,
                         output_mcap if mcap and mcap.frames else None)
    if frames_in.live:
        summary.captured, summary.dropped, summary.outages = frames_in.captured, frames_in.dropped, list(frames_in.outages)
        summary.mean_latency = sum(stats.latencies) / len(stats.latencies) if stats.latencies else None
    return summary


def _hud(pipeline: Pipeline, frames_in, stats: _RunStats) -> Callable[[FrameResult], list[str]]:
    """The HUD text of a run: frame, time, FPS, tracks, the forecaster and, live, latency and drops."""
    forecaster = pipeline.forecaster
    horizon = f"forecast: {forecaster.name} {forecaster.pred_steps * forecaster.dt:.1f}s"

    def lines(result: FrameResult) -> list[str]:
        rings = pipeline.config.draw_uncertainty and any(t.forecast is not None and t.forecast.sigma is not None
                                                         for t in result.tracks)
        text = [f"frame {result.frame_index}  t={result.timestamp:.2f}s", f"{stats.fps:.1f} FPS  {track_count(result)}",
                horizon + (" (ring: 1 sigma)" if rings else "")] + adaptation_line(result)
        if frames_in.live:
            text.insert(2, f"latency {result.latency * 1000:.0f} ms  dropped {frames_in.dropped}")
        return text

    return lines
