"""Push mode: the median time of ``Pipeline.process(frame, t)`` against plain ``YOLO.track`` per frame.

    python benchmarks/push_mode.py [--video videos/concourse.mp4] [--frames 200] [--repeats 3] [key=value ...]

Both get the same decoded frames from memory, one at a time, as a robot's loop would hand them over:
(a) ``YOLO(weights).track(frame, persist=True)`` at the pipeline's confidence, tracker and classes;
(b) ``Pipeline.process(frame, t)`` at its defaults (key=value pairs change them: the network on the
runtime measured for the lowest latency here), which adds camera motion, histories, forecasts and the result objects. Arms alternate by repetition (a b a b ...); each
repetition restarts tracking. Prints per-frame medians (and the process's CPU a frame), the ratio (b)/(a), and the detector alone
(``YOLO.predict``) for context; writes docs/results/push_mode.json.
"""

from __future__ import annotations

import statistics
import time

import cv2

from common import pipeline_parser, write_results  # noqa: E402  (puts trajpipe on the path)
from trajpipe import Pipeline  # noqa: E402
from trajpipe.config import Config, parse_overrides  # noqa: E402
from trajpipe.video.detector import YoloTracker  # noqa: E402


def frames_of(video: str, count: int) -> list:
    capture = cv2.VideoCapture(video)
    frames = []
    while len(frames) < count:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    return frames


CPU_MS: dict[str, list[float]] = {}  # arm -> the process's CPU ms a frame, each repetition


def per_frame(call, frames, arm: str) -> list[float]:
    """Wall seconds of each call; the process's CPU ms a frame of the whole repetition goes to CPU_MS[arm]."""
    times, cpu = [], time.process_time()
    for i, frame in enumerate(frames):
        started = time.perf_counter()
        call(frame, i)
        times.append(time.perf_counter() - started)
    CPU_MS.setdefault(arm, []).append((time.process_time() - cpu) * 1000 / len(frames))
    return times


def main() -> None:
    parser = pipeline_parser(__doc__, "videos/concourse.mp4")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args()
    config = Config().merged({"model": args.weights, "forecaster": args.forecaster, **parse_overrides(args.overrides)})
    frames = frames_of(args.video, args.frames)
    fps = cv2.VideoCapture(args.video).get(cv2.CAP_PROP_FPS) or 25.0
    pipeline = Pipeline(config)
    # the plain arm: Ultralytics' own YOLO.track on the same weights file, confidence, tracker and classes
    detector = YoloTracker(config.model, config.tracker, config.conf, config.iou, config.imgsz, config.classes)
    medians = {"track": [], "process": [], "predict": []}
    for repeat in range(args.repeats):
        detector.reset()
        medians["track"].append(statistics.median(per_frame(lambda f, i: detector.model.track(f, **detector.predict_args), frames, "track")))
        pipeline.reset()
        medians["process"].append(statistics.median(per_frame(lambda f, i: pipeline.process(f, i / fps), frames, "process")))
        plain = {k: v for k, v in detector.predict_args.items() if k not in ("persist", "tracker")}
        medians["predict"].append(statistics.median(per_frame(lambda f, i: detector.model.predict(f, **plain), frames, "predict")))
        print(f"#{repeat + 1}: YOLO.track {medians['track'][-1] * 1e3:.1f} ms, Pipeline.process "
              f"{medians['process'][-1] * 1e3:.1f} ms, YOLO.predict {medians['predict'][-1] * 1e3:.1f} ms", flush=True)
    pipeline.close()
    detector.close()
    track, process = statistics.median(medians["track"]), statistics.median(medians["process"])
    print(f"median per frame over {args.repeats} repetitions of {len(frames)} frames: YOLO.track {track * 1e3:.1f} ms, "
          f"Pipeline.process {process * 1e3:.1f} ms (ratio {process / track:.3f}), detector alone "
          f"{statistics.median(medians['predict']) * 1e3:.1f} ms")
    write_results("push_mode", {"video": args.video, "frames": len(frames), "repeats": args.repeats,
                                "runtime": pipeline.detector.describe(), "overrides": args.overrides,
                                "ms": {arm: round(statistics.median(v) * 1e3, 1) for arm, v in medians.items()},
                                "cpu_ms_per_frame": {arm: round(statistics.median(v), 1) for arm, v in CPU_MS.items()},
                                "ratio": round(process / track, 3)})


if __name__ == "__main__":
    main()
