"""Videos per minute of ``trajpipe batch`` with 1 and 2 workers, local process pool and Ray, on the
same clips; and what Ray costs over the local pool.

    python benchmarks/batch.py [--clips 4] [--frames 100] [--repeats 2]

The clips are the first/next ``--frames`` frames of both bundled videos, cut into a temporary folder
(alternating concourse / market street). Every arm runs the whole batch from scratch (``force``), with
the annotated videos and the JSON lines, timing ``run_batch`` from the call to its return: worker
start-up and model loading included, as a user pays them. Ray is started once, before the arms (its
start-up time is printed apart); the arms run interleaved, ``--repeats`` times, and the medians are
reported.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path


from common import cut_clip, pipeline_parser, write_results  # noqa: E402  (puts trajpipe on the path)
from trajpipe.running.batch import run_batch  # noqa: E402
from trajpipe.running.engines import available_cores  # noqa: E402


def cut_clips(videos: list[str], count: int, frames: int, folder: Path) -> list[str]:
    clips = []
    for i in range(count):
        source = videos[i % len(videos)]
        path = folder / f"clip{i}_{Path(source).stem}.mp4"
        clips.append(str(cut_clip(source, path, frames, start=(i // len(videos)) * frames)))
    return clips


def main() -> None:
    parser = pipeline_parser(__doc__, "videos/concourse.mp4")
    parser.add_argument("--videos", nargs="+", default=["videos/concourse.mp4", "videos/market_street_1906.mp4"])
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    import ray

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clips = cut_clips(args.videos, args.clips, args.frames, folder)
        print(f"{len(clips)} clips of {args.frames} frames, {available_cores()} cores, forecaster {args.forecaster}")
        started = time.perf_counter()
        ray.init(include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        ray_init = time.perf_counter() - started
        print(f"ray.init: {ray_init:.1f} s (not in the arms below)")
        arms = [(engine, workers) for workers in (1, 2) for engine in ("local", "ray")]
        times: dict[tuple[str, int], list[float]] = {arm: [] for arm in arms}
        for repeat in range(args.repeats):
            for engine, workers in arms:
                started = time.perf_counter()
                summary = run_batch(clips, folder / "out", engine=engine, workers=workers, force=True,
                                    model=args.weights, forecaster=args.forecaster)
                seconds = time.perf_counter() - started
                assert summary["totals"]["ok"] == len(clips), summary
                times[(engine, workers)].append(seconds)
                print(f"repeat {repeat}: {engine:5} {workers} worker(s): {seconds:6.1f} s, "
                      f"{60 * len(clips) / seconds:5.1f} videos/min")
        ray.shutdown()
    print("\nmedians:")
    median = {arm: statistics.median(t) for arm, t in times.items()}
    for (engine, workers), seconds in median.items():
        print(f"{engine:5} {workers} worker(s): {seconds:6.1f} s  {60 * len(clips) / seconds:5.1f} videos/min  "
              f"({sum(1 for _ in clips) * args.frames / seconds:.1f} frames/s)")
    for workers in (1, 2):
        overhead = median[("ray", workers)] - median[("local", workers)]
        print(f"Ray over the local pool, {workers} worker(s): {overhead:+.1f} s "
              f"({overhead / median[('local', workers)]:+.0%})")
    write_results("batch", {
        "clips": len(clips), "frames": args.frames, "repeats": args.repeats, "ray_init_seconds": round(ray_init, 1),
        "seconds": {engine: {str(w): round(median[(engine, w)], 1) for w in (1, 2)} for engine in ("local", "ray")},
        "videos_per_minute": {engine: {str(w): round(60 * len(clips) / median[(engine, w)], 1) for w in (1, 2)}
                              for engine in ("local", "ray")}})


if __name__ == "__main__":
    main()
