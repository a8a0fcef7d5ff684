"""Frames per second of ``trajpipe run`` with and without ``--output-mcap`` on the same video frames.

    nice python benchmarks/mcap_throughput.py [--video videos/concourse.mp4] [--frames 150] [--repeats 5]
                                              [--mcap-image raw|annotated|none] [--ground]

Arm "without": the default outputs (annotated MP4 and JSON lines). Arm "with": the same plus an MCAP
recording (``mcap_image`` as given; ``--ground`` adds a ground homography, so the 3D scene and the
ROS 2 markers are written too). The arms alternate (without, with, without, with, ...) on one warm
pipeline, so that a slow spell of a shared machine hits both; prints every repetition, the median FPS
of each arm and the median of the per-pair ratios with/without. Target: ratio >= 0.95.

Also the process's CPU time per frame (all threads) of each arm: on a machine whose cores are busy
with other work, throughput follows CPU time, and CPU time is far less noisy than wall time there.
And the cost of the MCAP itself: the thread CPU time of ``McapSink.write`` per frame (everything the
output thread does for the MCAP: JPEG, annotations, scene, markers, JSON, file), median over the
frames of one run, with the share of a frame's CPU time it adds.
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time

from common import pipeline_parser, stats, write_results  # noqa: E402  (puts trajpipe on the path)
from trajpipe import Pipeline  # noqa: E402
from trajpipe.running.loop import run  # noqa: E402
from trajpipe.io.mcap import McapSink  # noqa: E402

# pixel (u, v) -> ground (x, y) metres for the concourse view (made up, but a proper homography)
GROUND_POINTS = [[100, 470, 2, 1.5], [750, 470, 2, -1.5], [300, 200, 8, 1.5], [560, 200, 8, -1.5]]


def one_run(pipe: Pipeline, video: str, frames: int, mcap: bool) -> tuple[float, float]:
    """(frames per second, CPU milliseconds per frame) of one run."""
    pipe.reset()
    with tempfile.TemporaryDirectory() as tmp:
        cpu = time.process_time()
        summary = run(pipe, video, f"{tmp}/o.mp4", f"{tmp}/o.jsonl", max_frames=frames, progress=False,
                      output_mcap=f"{tmp}/o.mcap" if mcap else None)
        cpu = time.process_time() - cpu
    return summary.fps, 1000 * cpu / summary.frames


def mcap_write_cpu(pipe: Pipeline, video: str, frames: int) -> list[float]:
    """Thread CPU milliseconds of ``McapSink.write`` for each frame's result (as the output thread writes it:
    the JSON record made beforehand, shared with the JSON lines)."""
    pipe.reset()
    costs = []
    with tempfile.TemporaryDirectory() as tmp, McapSink.for_pipeline(f"{tmp}/o.mcap", pipe) as sink:
        for result in pipe.stream(video, max_frames=frames):
            record = result.to_json()
            started = time.thread_time()
            sink.write(result, record=record)
            costs.append(1000 * (time.thread_time() - started))
    return costs


def main() -> None:
    parser = pipeline_parser(__doc__, "videos/concourse.mp4")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mcap-image", default="raw", choices=["raw", "annotated", "none"])
    parser.add_argument("--ground", action="store_true", help="with a ground homography: scene and markers too")
    args = parser.parse_args()
    overrides = {"homography_points": GROUND_POINTS} if args.ground else {}
    with Pipeline(model=args.weights, forecaster=args.forecaster, mcap_image=args.mcap_image, **overrides) as pipe:
        one_run(pipe, args.video, 20, True)  # warm-up: models, the MCAP libraries, the ROS 2 type store
        without, with_mcap, cpu_without, cpu_with = [], [], [], []
        for repeat in range(args.repeats):
            fps, cpu = one_run(pipe, args.video, args.frames, False)
            without.append(fps), cpu_without.append(cpu)
            fps, cpu = one_run(pipe, args.video, args.frames, True)
            with_mcap.append(fps), cpu_with.append(cpu)
            print(f"repeat {repeat + 1}: without {without[-1]:.2f} FPS ({cpu_without[-1]:.0f} ms CPU a frame), "
                  f"with MCAP {with_mcap[-1]:.2f} FPS ({cpu_with[-1]:.0f} ms CPU a frame); "
                  f"ratio {with_mcap[-1] / without[-1]:.3f}", flush=True)
        write_cpu = statistics.median(mcap_write_cpu(pipe, args.video, args.frames))
    ratios = [w / wo for w, wo in zip(with_mcap, without)]
    cpu_ratios = [wo / w for w, wo in zip(cpu_with, cpu_without)]
    print(f"\n{platform.processor() or platform.machine()}, {args.frames} frames of {args.video}, "
          f"mcap_image={args.mcap_image}{', ground homography' if args.ground else ''}, {args.repeats} interleaved pairs")
    print(f"median FPS without MCAP {statistics.median(without):.2f}, with MCAP {statistics.median(with_mcap):.2f}")
    print(f"median ratio with/without {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}); "
          f"target >= 0.95")
    print(f"median CPU per frame without MCAP {statistics.median(cpu_without):.1f} ms, with {statistics.median(cpu_with):.1f} ms; "
          f"median ratio of CPU time without/with {statistics.median(cpu_ratios):.3f} (the throughput ratio on saturated cores)")
    base = statistics.median(cpu_without)
    print(f"McapSink.write: {write_cpu:.2f} ms thread CPU a frame (median); {base:.1f} ms of CPU a frame without MCAP "
          f"-> {base / (base + write_cpu):.3f} expected on saturated cores")
    write_results("mcap_throughput_ground" if args.ground else "mcap_throughput", {
        "frames": args.frames, "pairs": args.repeats, "mcap_image": args.mcap_image, "ground": args.ground,
        "fps": {"without": round(statistics.median(without), 2), "with": round(statistics.median(with_mcap), 2)},
        "ratio": stats(ratios), "cpu_ms": {"without": round(statistics.median(cpu_without), 1),
                                           "with": round(statistics.median(cpu_with), 1)},
        "cpu_ratio": round(statistics.median(cpu_ratios), 3), "write_ms": round(write_cpu, 2),
        "expected_ratio": round(base / (base + write_cpu), 3)})


if __name__ == "__main__":
    main()
