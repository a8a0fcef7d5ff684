"""Frames per second of plain Ultralytics tracking against trajpipe on the same frames.

    python benchmarks/throughput.py [--video videos/concourse.mp4] [--frames 150] [--repeats 3]

(a) ``YOLO(weights).track(frame, persist=True)`` in a loop over pre-read frames,
(b) trajpipe's Pipeline.process (detection, tracking, histories, forecasts) without output,
(c) ``trajpipe.runner.run``: (b) plus overlay, annotated MP4 and JSON lines, reading the video itself.
Same weights, tracker and class filter everywhere. Prints a table with medians and spreads and the
ratios (b)/(a), (c)/(a) per repetition.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from trajpipe import Pipeline  # noqa: E402
from trajpipe.runner import run  # noqa: E402


def read_frames(video: str, count: int) -> list:
    cap = cv2.VideoCapture(video)
    frames = []
    while len(frames) < count:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    return frames


def plain_ultralytics(weights: str, frames: list, tracker: str, class_ids: list[int]) -> float:
    import shutil

    from ultralytics import YOLO

    with tempfile.TemporaryDirectory() as tmp:
        copy = shutil.copy(weights, tmp)  # Ultralytics may delete weights it fails to load
        model = YOLO(copy, task="detect")
        model.track(frames[0], persist=True, tracker=tracker, classes=class_ids, verbose=False)  # warm-up
        model.predictor.trackers[0].reset()
        start = time.perf_counter()
        for frame in frames:
            model.track(frame, persist=True, tracker=tracker, classes=class_ids, verbose=False)
        return len(frames) / (time.perf_counter() - start)


def trajpipe_process(pipe: Pipeline, frames: list, fps: float) -> float:
    pipe.reset()
    pipe.process(frames[0], 0.0)  # warm-up
    pipe.reset()
    start = time.perf_counter()
    for i, frame in enumerate(frames):
        pipe.process(frame, i / fps, i)
    return len(frames) / (time.perf_counter() - start)


def trajpipe_run(pipe: Pipeline, video: str, count: int) -> float:
    pipe.reset()
    with tempfile.TemporaryDirectory() as tmp:
        summary = run(pipe, video, f"{tmp}/o.mp4", f"{tmp}/o.jsonl", max_frames=count, progress=False)
    return summary.fps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", default="videos/concourse.mp4")
    parser.add_argument("--weights", default="weights/yolov8n_int8.tflite")
    parser.add_argument("--forecaster", default="lstm")
    parser.add_argument("--tracker", default="bytetrack")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    frames = read_frames(args.video, args.frames)
    fps = cv2.VideoCapture(args.video).get(cv2.CAP_PROP_FPS) or 25.0
    with Pipeline(model=args.weights, forecaster=args.forecaster, tracker=args.tracker) as pipe:
        rows = []
        for rep in range(args.repeats):
            a = plain_ultralytics(args.weights, frames, f"{args.tracker}.yaml", pipe.detector.class_ids)
            b = trajpipe_process(pipe, frames, fps)
            c = trajpipe_run(pipe, args.video, len(frames))
            rows.append((a, b, c))
            print(f"rep {rep + 1}: (a) {a:.2f} FPS  (b) {b:.2f} FPS  (c) {c:.2f} FPS  "
                  f"(b)/(a) {b / a:.3f}  (c)/(a) {c / a:.3f}", flush=True)

    def stat(values):
        return f"{statistics.median(values):.3f} (min {min(values):.3f}, max {max(values):.3f})"

    print(f"\n{len(frames)} frames of {args.video}, {args.weights}, tracker {args.tracker}, "
          f"forecaster {args.forecaster}, {args.repeats} repeats; {platform.processor() or platform.machine()}, "
          f"{__import__('os').cpu_count()} CPUs")
    print(f"(a) plain YOLO.track      FPS {stat([r[0] for r in rows])}")
    print(f"(b) trajpipe, no output   FPS {stat([r[1] for r in rows])}")
    print(f"(c) trajpipe run, outputs FPS {stat([r[2] for r in rows])}")
    print(f"(b)/(a) {stat([r[1] / r[0] for r in rows])}")
    print(f"(c)/(a) {stat([r[2] / r[0] for r in rows])}")


if __name__ == "__main__":
    main()
