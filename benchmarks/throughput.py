"""Frames per second of plain Ultralytics tracking against trajpipe on the same video frames.

    python benchmarks/throughput.py [--video videos/concourse.mp4] [--frames 150] [--repeats 5]

(a) plain Ultralytics: ``YOLO(weights).track(source=video, stream=True, persist=True)``,
(b) ``trajpipe run`` without output (detection, tracking, histories, forecasts),
(c) ``trajpipe run`` with the LSTM forecaster, overlay, annotated MP4 and JSON lines,
and for context (a+) plain Ultralytics writing its own annotated video (``save=True``).
Each reads the first N frames of the video itself. Same weights, tracker and class filter
everywhere; models are loaded and warmed up before timing. Prints every repetition, then medians
and spreads of the FPS and of the ratios (b)/(a) and (c)/(a) taken within each repetition.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from common import pipeline_parser, stats, write_results  # noqa: E402  (puts trajpipe on the path)
from trajpipe import Pipeline  # noqa: E402
from trajpipe.running.loop import run  # noqa: E402


def plain_ultralytics(model, video: str, frames: int, tracker: str, class_ids: list[int], save: bool = False) -> float:
    if model.predictor is not None:
        for tracker_state in getattr(model.predictor, "trackers", []):
            tracker_state.reset()
    # Saved videos go to a temporary folder deleted at once, as trajpipe's outputs below are.
    with tempfile.TemporaryDirectory() as tmp:
        options = dict(save=True, project=tmp, name="ultralytics") if save else {}
        start = time.perf_counter()
        results = model.track(source=video, stream=True, persist=True, tracker=tracker, classes=class_ids,
                              verbose=False, **options)
        for count, _ in enumerate(results, start=1):
            if count == frames:
                break
        fps = frames / (time.perf_counter() - start)
        results.close()  # lets Ultralytics release its video writer before the folder goes
    return fps


def trajpipe_run(pipe: Pipeline, video: str, frames: int, outputs: bool) -> float:
    pipe.reset()
    with tempfile.TemporaryDirectory() as tmp:
        video_out, jsonl_out = (f"{tmp}/o.mp4", f"{tmp}/o.jsonl") if outputs else (None, None)
        summary = run(pipe, video, video_out, jsonl_out, max_frames=frames, progress=False)
    return summary.fps


def main() -> None:
    parser = pipeline_parser(__doc__, "videos/concourse.mp4")
    parser.add_argument("--tracker", default="bytetrack")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--forecast-modes", type=int, default=3,
                        help="modes per forecast in (c) (drawn and written; trajpipe's default 3, 0: none)")
    parser.add_argument("--camera-motion", default="none", help="trajpipe's camera_motion for (b) and (c): none "
                        "(the static-camera path, as plain Ultralytics does) or flow")
    parser.add_argument("--results", default="throughput",
                        help="docs/results/NAME.json to write (the pages' figures: throughput; the modes' cost: "
                             "throughput_modes3, throughput_modes0)")
    args = parser.parse_args()

    from ultralytics import YOLO

    tracker = f"{args.tracker}.yaml"
    with tempfile.TemporaryDirectory() as tmp, \
            Pipeline(model=args.weights, forecaster="cv", tracker=args.tracker, camera_motion=args.camera_motion) as bare, \
            Pipeline(model=args.weights, forecaster=args.forecaster, tracker=args.tracker,
                     camera_motion=args.camera_motion, forecast_modes=args.forecast_modes) as full:
        model = YOLO(shutil.copy(args.weights, tmp), task="detect")  # a copy: Ultralytics may delete weights it fails to load
        saving_model = YOLO(f"{tmp}/{Path(args.weights).name}", task="detect")
        class_ids = bare.detector.class_ids
        plain_ultralytics(model, args.video, 5, tracker, class_ids)  # warm-up
        plain_ultralytics(saving_model, args.video, 5, tracker, class_ids, save=True)
        rows = []
        for rep in range(args.repeats):
            a = plain_ultralytics(model, args.video, args.frames, tracker, class_ids)
            b = trajpipe_run(bare, args.video, args.frames, outputs=False)
            c = trajpipe_run(full, args.video, args.frames, outputs=True)
            a_saving = plain_ultralytics(saving_model, args.video, args.frames, tracker, class_ids, save=True)
            rows.append((a, b, c, a_saving))
            print(f"rep {rep + 1}: (a) {a:.2f} FPS  (b) {b:.2f} FPS  (c) {c:.2f} FPS  (a+) {a_saving:.2f} FPS  "
                  f"(b)/(a) {b / a:.3f}  (c)/(a) {c / a:.3f}  (a+)/(a) {a_saving / a:.3f}", flush=True)

    def stat(values):
        return f"{statistics.median(values):.3f} (min {min(values):.3f}, max {max(values):.3f})"

    print(f"\n{args.frames} frames of {args.video}, {args.weights}, tracker {args.tracker}, (c) with forecaster "
          f"{args.forecaster}, forecast_modes={args.forecast_modes}, camera_motion={args.camera_motion}; {args.repeats} repeats; {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"(a) plain YOLO.track        FPS {stat([r[0] for r in rows])}")
    print(f"(b) trajpipe run, no output FPS {stat([r[1] for r in rows])}")
    print(f"(c) trajpipe run, outputs   FPS {stat([r[2] for r in rows])}")
    print(f"(b)/(a) {stat([r[1] / r[0] for r in rows])}")
    print(f"(c)/(a) {stat([r[2] / r[0] for r in rows])}")
    print(f"(a+) plain YOLO.track, save=True FPS {stat([r[3] for r in rows])}; (a+)/(a) {stat([r[3] / r[0] for r in rows])}")
    arms = {"a": 0, "b": 1, "c": 2, "a_save": 3}
    write_results(args.results, {
        "frames": args.frames, "repeats": args.repeats, "tracker": args.tracker, "forecast_modes": args.forecast_modes,
        "camera_motion": args.camera_motion,
        "fps": {arm: stats([r[i] for r in rows], 1) for arm, i in arms.items()},
        "ratio": {arm: stats([r[i] / r[0] for r in rows]) for arm, i in arms.items() if arm != "a"}})


if __name__ == "__main__":
    main()
