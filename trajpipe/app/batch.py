"""Many videos at once (``trajpipe batch``): a pool of worker processes on this machine, or Ray
actors on this machine or a cluster, each running the ``trajpipe run`` path over whole videos.

Per video ``DIR/<name>.jsonl`` (and ``DIR/<name>.mp4``, ``DIR/<name>.mcap``), written atomically; then ``DIR/tracks.parquet``
(every track of every frame) and ``DIR/summary.json``. A rerun skips videos whose outputs exist.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import json
import multiprocessing
import os
import signal
import sys
import time
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..config import Config
from ..errors import TrajpipeError, first_line
from ..io.mcap import require_robotics
from ..io.sinks import AtomicFile
from ..registry import forecaster_checkpoint
from ..video.detector import resolve_weights
from ..video.sources import VideoFileSource

VIDEO_EXTENSIONS = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}
ENGINES = ("local", "ray")
MAX_ATTEMPTS = 2  # a video whose worker dies is retried once: the worker may have died of another cause
RAY_INSTALL_HINT = "--engine ray needs Ray: pip install 'trajpipe[ray]'"


@dataclass(frozen=True)
class VideoJob:
    """One input video and where its outputs go (absolute paths: workers may run elsewhere)."""

    input: str  # the input as found (for the summary and the table's ``video`` column)
    path: str  # absolute input path
    jsonl: str
    video: str | None  # None: --no-video
    mcap: str | None = None  # None: no --output-mcap

    @property
    def outputs(self) -> list[str]:
        return [p for p in (self.jsonl, self.video, self.mcap) if p]

    def complete(self) -> bool:
        """Every output is there under its final name (written only once a whole video is done)."""
        return all(Path(p).is_file() for p in self.outputs)

    def discard_partial(self) -> None:
        """Remove the hidden temporary files a killed worker may have left."""
        for path in self.outputs:
            AtomicFile(path).discard()

    def entry(self, status: str, frames: int | None = None, seconds: float | None = None,
              track_ids: int | None = None, error: str | None = None) -> dict:
        """This video's line of ``summary.json``; a failed video lists no outputs (none were written)."""
        outputs = {} if status == "failed" else {"jsonl": self.jsonl, "video": self.video, "mcap": self.mcap}
        return {"input": self.input, "status": status, "frames": frames,
                "seconds": None if seconds is None else round(seconds, 3),
                "fps": round(frames / seconds, 2) if frames and seconds else None,
                "track_ids": track_ids, "outputs": outputs, "error": error}


# ------------------------------------------------------------------------------------------ inputs


def find_videos(inputs: list[str], out: Path) -> list[str]:
    """Video files of ``inputs``: files as given, directories searched recursively for video
    extensions, glob patterns expanded; duplicates dropped, order kept. Files under ``out`` found by
    a directory or pattern are left out (they are this batch's own outputs). A named file that does
    not exist is kept: it becomes a ``failed`` entry, not the end of the batch."""
    out = out.resolve()
    found: list[str] = []
    for spec in inputs:
        path = Path(spec)
        if path.is_dir():
            matches = sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())
        elif path.exists() or not any(c in spec for c in "*?["):
            found.append(spec)
            continue
        else:
            matches = sorted(p for p in glob.glob(spec, recursive=True) if Path(p).is_file())
        matches = [m for m in matches if not Path(m).resolve().is_relative_to(out)]
        if not matches:
            print(f"trajpipe: no videos found in {spec}", file=sys.stderr)
        found.extend(matches)
    unique, seen = [], set()
    for spec in found:
        key = Path(spec).resolve()
        if key not in seen:
            seen.add(key)
            unique.append(spec)
    return unique


def output_names(inputs: list[str]) -> list[str]:
    """An output name per input: its file name without extension, plus a short hash of its absolute
    path where two inputs share a name (``a/clip.mp4``, ``b/clip.mp4``). Stable from run to run for
    the same inputs, so a rerun finds its outputs."""
    stems = [Path(p).stem for p in inputs]
    counts = Counter(stems)
    return [stem if counts[stem] == 1 else f"{stem}-{hashlib.sha1(str(Path(p).resolve()).encode()).hexdigest()[:8]}"
            for stem, p in zip(stems, inputs)]


def plan_jobs(inputs: list[str], out: str | Path, video: bool = True, mcap: bool = False) -> list[VideoJob]:
    """One :class:`VideoJob` per input video (see :func:`find_videos`), outputs under ``out``."""
    out = Path(out).resolve()
    found = find_videos(inputs, out)
    if not found:
        raise TrajpipeError(f"no input videos in {' '.join(inputs)}")
    return [VideoJob(spec, str(Path(spec).resolve()), str(out / f"{name}.jsonl"),
                     str(out / f"{name}.mp4") if video else None, str(out / f"{name}.mcap") if mcap else None)
            for spec, name in zip(found, output_names(found))]


def _absolute(config: Config) -> Config:
    """``config`` with its files checked now (one error, not one per worker) and given as absolute
    paths, so that workers with another working directory (Ray's) load the same files."""
    def absolute(spec: str | None) -> str | None:
        return str(Path(spec).resolve()) if spec is not None and Path(spec).exists() else spec

    model = resolve_weights(config.model)
    checkpoint = forecaster_checkpoint(config)
    forecaster = config.forecaster if checkpoint is None or config.forecaster == "lstm" else str(checkpoint.resolve())
    forecaster_weights = str(checkpoint.resolve()) if config.forecaster == "lstm" else config.forecaster_weights
    return dataclasses.replace(config, model=absolute(model), forecaster=forecaster, forecaster_weights=forecaster_weights,
                               homography=absolute(config.homography), tracker=absolute(config.tracker))


# ----------------------------------------------------------------------------------------- workers


class WorkerSetupError(TrajpipeError):
    """A worker could not build its pipeline (bad weights, ...): every video would fail alike."""


class VideoWorker:
    """Runs whole videos through one :class:`~trajpipe.pipeline.Pipeline`, built on the first video
    and reset between videos (track ids restart per video). One per worker process or Ray actor."""

    def __init__(self, config: Config):
        self.config = config
        self.pipeline = None
        import cv2
        import torch

        # Parallelism comes from the workers: one thread each for torch (the forecaster) and OpenCV.
        torch.set_num_threads(1)
        cv2.setNumThreads(1)

    def process(self, job: VideoJob) -> dict:
        """Run ``job``; its summary entry. Errors of the video are ``failed`` entries; only a pipeline
        that cannot be built raises (:class:`WorkerSetupError`)."""
        from ..pipeline import Pipeline
        from .runner import run

        if self.pipeline is None:
            try:
                self.pipeline = Pipeline(self.config)
            except Exception as exc:
                raise WorkerSetupError(first_line(exc)) from None
        self.pipeline.reset()
        try:
            summary = run(self.pipeline, job.path, job.video, job.jsonl, progress=False,
                          handle_signals=False, keep_incomplete=False, output_mcap=job.mcap)
        except Exception as exc:  # noqa: BLE001 - any failure of one video is that video's, not the batch's
            reason = first_line(exc) if isinstance(exc, TrajpipeError) else f"{type(exc).__name__}: {first_line(exc)}"
            return job.entry("failed", error=reason)
        return job.entry("ok", summary.frames, summary.seconds, summary.track_ids)


_worker: VideoWorker | None = None  # the local engine's worker of this process


def _start_local_worker(config: Config) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _worker = VideoWorker(config)


def _process_locally(job: VideoJob) -> dict:
    return _worker.process(job)


class _LocalEngine:
    """Worker processes on this machine ('spawn': no fork of a process that already runs threads)."""

    name = "local"

    def __init__(self, config: Config, workers: int):
        self.config, self.workers = config, workers
        self.pool: ProcessPoolExecutor | None = None
        self.running: dict[Future, tuple[VideoJob, ProcessPoolExecutor]] = {}

    def submit(self, job: VideoJob) -> None:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_start_local_worker, initargs=(self.config,))
        self.running[self.pool.submit(_process_locally, job)] = (job, self.pool)

    def next_done(self) -> tuple[VideoJob, dict | str]:
        """The next finished job and its entry, or why its worker died."""
        done, _ = wait(self.running, return_when=FIRST_COMPLETED)
        future = next(iter(done))
        job, pool = self.running.pop(future)
        try:
            return job, future.result()
        except BrokenProcessPool as exc:  # every job in flight on this pool lands here; what is left gets a fresh pool
            if pool is self.pool:
                pool.shutdown(wait=False)
                self.pool = None
            return job, first_line(exc)

    def close(self, kill: bool) -> None:
        if self.pool is None:
            return
        if kill:  # Ctrl-C: stop the videos in progress now (their outputs stay hidden temporaries)
            if hasattr(self.pool, "terminate_workers"):  # Python >= 3.14
                self.pool.terminate_workers()
            else:
                for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                    process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None


def import_ray():
    try:
        import ray
    except ImportError:
        raise TrajpipeError(RAY_INSTALL_HINT) from None
    return ray


def ray_actor_options(gpus_per_worker: float = 0.0) -> dict:
    """The resources each Ray actor asks for: one CPU, and ``gpus_per_worker`` GPUs (fractions let
    several videos share a GPU)."""
    if gpus_per_worker < 0:
        raise TrajpipeError(f"--gpus-per-worker must be >= 0, got {gpus_per_worker}")
    options: dict[str, Any] = {"num_cpus": 1}
    if gpus_per_worker:
        options["num_gpus"] = gpus_per_worker
    return options


class _RayEngine:
    """Ray actors, each a :class:`VideoWorker`. Without ``address`` Ray starts on this machine
    (unless already started in this process); ``auto`` or ``ray://host:10001`` joins a cluster."""

    name = "ray"

    def __init__(self, config: Config, workers: int | None, address: str | None, gpus_per_worker: float):
        self.ray = ray = import_ray()
        self.options = ray_actor_options(gpus_per_worker)
        self.idle: list = []
        self.running: dict = {}  # object ref -> (actor, job)
        self.started = not ray.is_initialized()
        if self.started:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            except Exception as exc:  # Ray raises ConnectionError, ValueError, ... for a bad address
                raise TrajpipeError(f"cannot start or join Ray{f' at {address}' if address else ''}: {first_line(exc)}") from None
        resources = ray.cluster_resources()
        if gpus_per_worker and resources.get("GPU", 0) < gpus_per_worker:
            self.close(kill=True)
            raise TrajpipeError(f"--gpus-per-worker {gpus_per_worker}: the Ray cluster has {resources.get('GPU', 0):g} GPUs")
        self.workers = workers or default_workers(int(resources.get("CPU", 1)))
        self.config = config
        self.actor_class = ray.remote(VideoWorker)

    def submit(self, job: VideoJob) -> None:
        actor = self.idle.pop() if self.idle else self.actor_class.options(**self.options).remote(self.config)
        self.running[actor.process.remote(job)] = (actor, job)

    def next_done(self) -> tuple[VideoJob, dict | str]:
        """The next finished job and its entry, or why its worker died."""
        ray = self.ray
        (ref,), _ = ray.wait(list(self.running), num_returns=1)
        actor, job = self.running.pop(ref)
        try:
            entry = ray.get(ref)
        except ray.exceptions.RayActorError as exc:  # the actor's process died: a new one takes the next job
            return job, first_line(exc)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if isinstance(exc.cause, TrajpipeError) else None
            raise WorkerSetupError(first_line(cause) if cause else first_line(exc)) from None
        self.idle.append(actor)
        return job, entry

    def close(self, kill: bool) -> None:
        for actor in self.idle + [actor for actor, _ in self.running.values()]:
            self.ray.kill(actor)
        self.idle, self.running = [], {}
        if self.started:
            self.ray.shutdown()


def available_cores() -> int:
    """CPU cores this process may use (its affinity, e.g. a container's limit)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers(cores: int | None = None) -> int:
    """One worker per two cores: a worker keeps about two cores busy (the detector on one, and the
    forecasts, overlay and video encoding on threads beside it)."""
    return max(1, (cores or available_cores()) // 2)


# ------------------------------------------------------------------------------------------ driver


def run_batch(inputs: list[str] | str, out: str | Path, engine: str = "local", address: str | None = None,
              workers: int | None = None, video: bool = True, mcap: bool = False, force: bool = False,
              config: Config | None = None,
              gpus_per_worker: float = 0.0, progress: bool = False, **overrides) -> dict:
    """Process many videos; returns the summary written to ``out/summary.json``:
    ``{"videos": [one entry per input], "totals": {...}}``, entries with the keys ``input``, ``status``
    (ok, failed, skipped), ``frames``, ``seconds``, ``fps``, ``track_ids``, ``outputs``, ``error``.

    ``inputs``: video files, directories (searched recursively) or glob patterns. ``engine``: ``local``
    (worker processes) or ``ray``. ``workers``: default :func:`default_workers`. ``video`` False: JSON
    lines only. ``mcap``: also ``out/<name>.mcap`` per video (needs the ``robotics`` extra). ``force``: rerun videos whose outputs exist. ``overrides``: config keys. Raises
    :class:`TrajpipeError` on bad arguments or config (nothing run); a failing video is only ``failed``.
    Ctrl-C stops the workers and raises :class:`KeyboardInterrupt` after writing the summary (finished
    videos stay; no half-written file is left under a final name)."""
    if engine not in ENGINES:
        raise TrajpipeError(f"unknown engine {engine!r}; use {' or '.join(ENGINES)}")
    if workers is not None and workers < 1:
        raise TrajpipeError(f"--workers must be >= 1, got {workers}")
    if engine == "local" and (address or gpus_per_worker):
        raise TrajpipeError("--address and --gpus-per-worker are for --engine ray")
    config = _absolute((config or Config()).merged(overrides))
    if mcap:
        require_robotics()  # one error now, not one per video
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise TrajpipeError(f"--out is not a directory: {out}")
    jobs = plan_jobs([inputs] if isinstance(inputs, str) else list(inputs), out, video, mcap)
    out.mkdir(parents=True, exist_ok=True)
    entries: dict[str, dict] = {}
    todo, frames_known = [], 0
    for job in jobs:
        if not force and job.complete():
            entries[job.jsonl] = job.entry("skipped")
            continue
        try:  # a missing, unreadable or empty video fails here, without a worker
            with VideoFileSource(job.path) as source:
                frames_known += source.frame_count
        except TrajpipeError as exc:
            entries[job.jsonl] = job.entry("failed", error=first_line(exc))
            continue
        todo.append(job)

    started = time.perf_counter()
    interrupted = False
    runner = None
    if todo:
        runner = (_LocalEngine(config, workers or default_workers()) if engine == "local"
                  else _RayEngine(config, workers, address, gpus_per_worker))
        runner.workers = min(runner.workers, len(todo))  # no worker loads models for nothing
        finished = False
        try:
            for job, entry in _schedule(runner, todo, progress, frames_known):
                entries[job.jsonl] = entry
            finished = True
        except KeyboardInterrupt:
            interrupted = True
        finally:
            runner.close(kill=not finished)
            for job in todo:
                if job.jsonl not in entries:
                    job.discard_partial()
                    entries[job.jsonl] = job.entry("failed", error="interrupted before it finished")
    seconds = time.perf_counter() - started

    ordered = [entries[job.jsonl] for job in jobs]
    table_rows = None
    if not interrupted:  # the table of a whole batch only; an interrupted one keeps the last table
        done = [(job, e) for job, e in zip(jobs, ordered) if e["status"] in ("ok", "skipped")]
        if done:
            from ..io.tracks_table import write_tracks_parquet

            counts = write_tracks_parquet(out / "tracks.parquet", [(job.input, job.jsonl) for job, _ in done])
            for job, entry in done:
                if entry["status"] == "skipped":  # counted from its JSON lines: nothing was run
                    entry["frames"], entry["track_ids"] = counts[job.input].frames, counts[job.input].track_ids
            table_rows = sum(c.rows for c in counts.values())
    summary = {"videos": ordered, "totals": _totals(ordered, seconds, engine, runner, table_rows, out)}
    _write_json(out / "summary.json", summary)
    if interrupted:
        raise KeyboardInterrupt
    return summary


def _schedule(runner, jobs: list[VideoJob], progress: bool, frames_known: int) -> Iterator[tuple[VideoJob, dict]]:
    """``(job, entry)`` of ``jobs`` as their videos finish, at most ``runner.workers`` at a time (a worker
    that dies costs only the videos it had); a progress bar over videos, with their frames done out
    of the ``frames_known`` the video headers announced."""
    from tqdm import tqdm

    queue, attempts = deque(jobs), Counter()
    frames = failed = 0
    with tqdm(total=len(jobs), unit="video", disable=not progress, file=sys.stderr, dynamic_ncols=True) as bar:
        while queue or runner.running:
            while queue and len(runner.running) < runner.workers:
                runner.submit(queue.popleft())
            job, entry = runner.next_done()
            if isinstance(entry, str):  # its worker died
                attempts[job.jsonl] += 1
                if attempts[job.jsonl] < MAX_ATTEMPTS:
                    job.discard_partial()
                    queue.append(job)
                    continue
                entry = job.entry("failed", error=f"its worker died twice (killed, or crashed on this video): {entry}")
            frames += entry["frames"] or 0
            failed += entry["status"] == "failed"
            bar.update(1)
            bar.set_postfix(frames=f"{frames}/{frames_known or '?'}", failed=failed, refresh=False)
            yield job, entry


def _totals(entries: list[dict], seconds: float, engine: str, runner, table_rows: int | None, out: Path) -> dict:
    status = Counter(e["status"] for e in entries)
    frames = sum(e["frames"] or 0 for e in entries if e["status"] == "ok")
    return {"videos": len(entries), "ok": status["ok"], "skipped": status["skipped"], "failed": status["failed"],
            "frames": frames, "seconds": round(seconds, 3), "fps": round(frames / seconds, 2) if seconds and frames else None,
            "videos_per_minute": round(60 * status["ok"] / seconds, 2) if seconds and status["ok"] else None,
            "engine": engine, "workers": runner.workers if runner else 0,
            "tracks_parquet": str(out / "tracks.parquet") if table_rows is not None else None, "table_rows": table_rows}


def _write_json(path: Path, data: dict) -> None:
    target = AtomicFile(path)
    target.partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    target.commit()


def format_summary(summary: dict) -> str:
    """The summary as a short table: one line per video, then the totals."""
    rows = [("video", "status", "frames", "seconds", "fps", "tracks", "error")]
    for e in summary["videos"]:
        rows.append((e["input"], e["status"], *("-" if e[k] is None else str(e[k]) for k in ("frames", "seconds", "fps", "track_ids")),
                     e["error"] or ""))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r[:6], widths)) + ("  " + r[6] if r[6] else "") for r in rows]
    t = summary["totals"]
    line = (f"{t['videos']} videos: {t['ok']} ok, {t['skipped']} skipped, {t['failed']} failed; "
            f"{t['frames']} frames in {t['seconds']:.1f} s ({t['engine']} engine, {t['workers']} worker"
            f"{'' if t['workers'] == 1 else 's'})")
    if t["videos_per_minute"]:
        line += f", {t['videos_per_minute']} videos/min"
    if t["tracks_parquet"]:
        line += f". {t['table_rows']} track rows -> {t['tracks_parquet']}"
    return "\n".join(lines + [line + "."])
