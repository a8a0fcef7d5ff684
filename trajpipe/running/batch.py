"""Many videos at once (``trajpipe batch``): a pool of worker processes on this machine, or Ray
actors on this machine or a cluster (:mod:`.engines`), each running the run loop over whole videos.

Per video ``DIR/<name>.jsonl`` (and ``DIR/<name>.mp4``, ``DIR/<name>.mcap``), written atomically; then ``DIR/tracks.parquet``
(every track of every frame) and ``DIR/summary.json``. A rerun skips videos whose outputs exist.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections import Counter, deque
from pathlib import Path
from typing import Iterator

from ..config import Config
from ..errors import Interrupted, TrajpipeError, first_line
from ..io.mcap import require_robotics
from ..io.sinks import AtomicFile
from ..video.sources import VideoFileSource
from .engines import Engine, LocalEngine, RayEngine, default_workers
from .jobs import VideoJob, plan_jobs
from .worker import with_absolute_paths

ENGINES = ("local", "ray")
MAX_ATTEMPTS = 2  # a video whose worker dies is retried once: the worker may have died of another cause


def run_batch(inputs: list[str] | str, out: str | Path, engine: str = "local", address: str | None = None,
              workers: int | None = None, video: bool = True, mcap: bool = False, force: bool = False,
              config: Config | None = None,
              gpus_per_worker: float = 0.0, progress: bool = False, **overrides) -> dict:
    """Process many videos and write ``out/summary.json`` and ``out/tracks.parquet``. SIGINT or SIGTERM
    stops the workers and raises :class:`~trajpipe.errors.Interrupted` after writing the summary (finished
    videos stay, the others are ``interrupted`` and leave no file; a rerun does them).

    Args:
        inputs: video files, directories (searched recursively) or glob patterns.
        out: the output directory (made when missing).
        engine: ``local`` (worker processes) or ``ray``.
        address: ``--engine ray`` only: ``auto`` or ``ray://host:10001`` joins a cluster.
        workers: how many videos at once; default :func:`~trajpipe.running.engines.default_workers`.
        video: False writes JSON lines only (no annotated videos).
        mcap: also ``out/<name>.mcap`` per video (needs the ``robotics`` extra).
        force: rerun videos whose outputs exist.
        config: the base configuration (default :class:`~trajpipe.config.Config`).
        gpus_per_worker: ``--engine ray`` only: GPUs (fractions allowed) each actor asks for.
        progress: show a progress bar over videos on standard error.
        **overrides: config keys.

    Returns:
        The summary: ``{"videos": [one entry per input], "totals": {...}}``, entries with the keys
        ``input``, ``status`` (ok, failed, skipped, interrupted), ``frames``, ``seconds``, ``fps``, ``track_ids``,
        ``outputs``, ``error``.

    Raises:
        TrajpipeError: bad arguments or config (nothing run); a failing video is only ``failed``.
        Interrupted: SIGINT or SIGTERM stopped the batch (its ``signum`` says which).
    """
    _check_engine(engine, workers, address, gpus_per_worker)
    config = with_absolute_paths((config or Config()).merged(overrides))
    if mcap:
        require_robotics()  # one error now, not one per video
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise TrajpipeError(f"--out is not a directory: {out}")
    jobs = plan_jobs([inputs] if isinstance(inputs, str) else list(inputs), out, video, mcap)
    out.mkdir(parents=True, exist_ok=True)
    entries, todo, frames_known = _triage(jobs, force)
    started = time.perf_counter()
    with _StopOnSignals() as stop:
        runner = _engine(engine, config, workers, address, gpus_per_worker, len(todo)) if todo else None
        if runner is not None and _run_jobs(runner, todo, progress, frames_known, entries) and stop.signum is None:
            stop.signum = signal.SIGINT  # a KeyboardInterrupt of its own (outside the main thread)
        stop.armed = False  # a signal from here on waits for the summary
        ordered = [entries[job.jsonl] for job in jobs]
        # the table of a whole batch only; an interrupted one keeps the last table
        table_rows = None if stop.signum else _write_table(out, jobs, ordered)
        summary = {"videos": ordered, "totals": _totals(ordered, time.perf_counter() - started, engine, runner, table_rows, out)}
        _write_json(out / "summary.json", summary)
    if stop.signum:
        t = summary["totals"]
        raise Interrupted(f"batch stopped by {signal.Signals(stop.signum).name}: {t['ok'] + t['skipped']} of {t['videos']} "
                          f"videos done, {t['interrupted']} interrupted (no file of theirs left); {out / 'summary.json'} "
                          "lists them; the same command again does the rest", stop.signum)
    return summary


def _engine(engine: str, config: Config, workers: int | None, address: str | None, gpus_per_worker: float,
            jobs: int) -> Engine:
    """The engine that runs ``jobs`` videos, with no more workers than videos (none loads models for nothing)."""
    runner = (LocalEngine(config, workers or default_workers()) if engine == "local"
              else RayEngine(config, workers, address, gpus_per_worker))
    runner.workers = min(runner.workers, jobs)
    return runner


def _check_engine(engine: str, workers: int | None, address: str | None, gpus_per_worker: float) -> None:
    """A :class:`TrajpipeError` for an unknown engine, or options it does not take."""
    if engine not in ENGINES:
        raise TrajpipeError(f"unknown engine {engine!r}; use {' or '.join(ENGINES)}")
    if workers is not None and workers < 1:
        raise TrajpipeError(f"--workers must be >= 1, got {workers}")
    if engine == "local" and (address or gpus_per_worker):
        raise TrajpipeError("--address and --gpus-per-worker are for --engine ray")


def _triage(jobs: list[VideoJob], force: bool) -> tuple[dict[str, dict], list[VideoJob], int]:
    """The entries of the jobs settled without a worker (skipped: outputs there; failed: the video
    cannot be opened), the jobs left to run, and how many frames their headers announce."""
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
    return entries, todo, frames_known


def _run_jobs(runner: Engine, todo: list[VideoJob], progress: bool, frames_known: int, entries: dict) -> bool:
    """Run ``todo`` on ``runner``, its entries into ``entries``; True when SIGINT or SIGTERM stopped it
    (the workers are killed, the jobs they left get ``interrupted`` entries and no partial file)."""
    finished = interrupted = False
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
                entries[job.jsonl] = job.entry("interrupted", error="interrupted before it finished")
    return interrupted


class _StopOnSignals:
    """SIGINT and SIGTERM (how job schedulers stop a job) while installed: the first one raises
    :class:`Interrupted` in the main thread while the videos run (``armed``), or is only noted once they
    are done (the summary is written first); later ones are ignored while the workers are stopped."""

    def __init__(self):
        self.signum: int | None = None
        self.armed = True
        self.previous: dict = {}

    def __call__(self, signum, _frame):
        if self.signum is None:
            self.signum = signum
            if self.armed:
                raise Interrupted(signal.Signals(signum).name, signum)

    def __enter__(self) -> "_StopOnSignals":
        if threading.current_thread() is threading.main_thread():
            self.previous = {sig: signal.signal(sig, self) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _write_table(out: Path, jobs: list[VideoJob], entries: list[dict]) -> int | None:
    """``out/tracks.parquet`` from the JSON lines of the videos done (skipped ones get their counts
    from it); its number of rows, or None when no video is done."""
    done = [(job, e) for job, e in zip(jobs, entries) if e["status"] in ("ok", "skipped")]
    if not done:
        return None
    from ..io.tracks_table import write_tracks_parquet

    counts = write_tracks_parquet(out / "tracks.parquet", [(job.input, job.jsonl) for job, _ in done])
    for job, entry in done:
        if entry["status"] == "skipped":  # counted from its JSON lines: nothing was run
            entry["frames"], entry["track_ids"] = counts[job.input].frames, counts[job.input].track_ids
    return sum(c.rows for c in counts.values())


def _schedule(runner: Engine, jobs: list[VideoJob], progress: bool, frames_known: int) -> Iterator[tuple[VideoJob, dict]]:
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
            "interrupted": status["interrupted"],
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
    line = (f"{t['videos']} videos: {t['ok']} ok, {t['skipped']} skipped, {t['failed']} failed"
            f"{f', {interrupted} interrupted' if (interrupted := t.get('interrupted')) else ''}; "
            f"{t['frames']} frames in {t['seconds']:.1f} s ({t['engine']} engine, {t['workers']} worker"
            f"{'' if t['workers'] == 1 else 's'})")
    if t["videos_per_minute"]:
        line += f", {t['videos_per_minute']} videos/min"
    if t["tracks_parquet"]:
        line += f". {t['table_rows']} track rows -> {t['tracks_parquet']}"
    return "\n".join(lines + [line + "."])
