"""What the pipeline benchmarks share: trajpipe importable from a checkout, and their common options."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "docs" / "results"  # what docs/render.py renders into README.md and docs/*.md


def write_results(name: str, figures: dict, merge: tuple[str, ...] = ()) -> Path:
    """``docs/results/<name>.json``: ``figures`` with the date, command, machine and load average of this
    run. ``merge``: keys whose dicts keep the entries of the file's earlier run that this run did not
    measure (a benchmark run on some of its videos). Then ``python docs/render.py`` updates the pages."""
    from trajpipe.provenance import provenance

    path = RESULTS / f"{name}.json"
    record = {**provenance(), **figures}
    if merge and path.is_file():
        earlier = json.loads(path.read_text())
        for key in merge:
            record[key] = {**earlier.get(key, {}), **record.get(key, {})}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {path.relative_to(REPO)}; `python docs/render.py` puts its figures into the pages", file=sys.stderr)
    return path


def run_process(command: list[str], cwd: Path | str = REPO, env: dict | None = None) -> tuple[float, float, str]:
    """Run ``command`` to its end: (wall-clock seconds, CPU seconds of the process and its children, user +
    system, as the kernel accounted them, its stderr). A failing command stops the benchmark with its stderr."""
    import os
    import subprocess

    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"failed ({process.returncode}): {' '.join(command)}\n{stderr[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, stderr


def stats(values: list[float], digits: int = 3) -> dict:
    """``{"median", "min", "max"}`` of ``values``, rounded as the pages print them."""
    import statistics

    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits)}


def pipeline_parser(doc: str, video: str) -> argparse.ArgumentParser:
    """A parser with the options every pipeline benchmark takes: --video, --weights, --forecaster."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", default=video)
    parser.add_argument("--weights", default="weights/yolov8n_int8.tflite")
    parser.add_argument("--forecaster", default="lstm")
    return parser


def timed(owner, name: str, seconds: list) -> None:
    """Wrap ``owner.name`` so that every call adds its duration to ``seconds``."""
    method = getattr(owner, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - started)

    setattr(owner, name, wrapper)


def cut_clip(video: str | Path, out: str | Path, frames: int, start: int = 0, fourcc: str = "mp4v") -> Path:
    """Frames ``start`` to ``start + frames`` of ``video`` written to ``out`` (same frame rate)."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    fps = capture.get(cv2.CAP_PROP_FPS)
    writer = None
    for _ in range(frames):
        ok, image = capture.read()
        if not ok:
            break
        if writer is None:
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*fourcc), fps, image.shape[1::-1])
        writer.write(image)
    writer.release()
    capture.release()
    return Path(out)
