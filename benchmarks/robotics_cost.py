"""What the robotics outputs cost: frames per second of ``trajpipe run`` with a ground plane, with each of
``--ros2``, ``--foxglove`` and ``--output-mcap`` against none of them (docs/robotics.md; issue 25's target:
each >= 0.95 of the throughput without).

    nice python benchmarks/robotics_cost.py [--video videos/concourse.mp4] [--frames 150] [--repeats 5]

One warm pipeline with the concourse ground homography; every arm also writes the default outputs
(annotated MP4, JSON lines). The arms run in rounds, interleaved (none, ros2, foxglove, mcap, none, ...),
so that a slow spell of a shared machine hits them all; prints each run, the median FPS of each arm, the
median of its per-round ratios to ``none`` and the process CPU time a frame, with the load average
(1, 5, 15 min) before and after; writes docs/results/robotics_cost.json. ``--no-ground``: the same without a ground plane (markers and objects
then in pixels, no scene). DDS on loopback only, in a domain of the benchmark's own; the Foxglove server
on a free loopback port, no client connected (every message is still encoded).
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from contextlib import ExitStack

from common import pipeline_parser, stats, write_results  # noqa: E402  (puts trajpipe on the path)
from trajpipe import Pipeline  # noqa: E402
from trajpipe.running.loop import run  # noqa: E402

GROUND_POINTS = [[100, 470, 2, 1.5], [750, 470, 2, -1.5], [300, 200, 8, 1.5], [560, 200, 8, -1.5]]  # as the README
ARMS = ("none", "ros2", "foxglove", "mcap")


def one_run(pipe: Pipeline, video: str, frames: int, arm: str, domain: int) -> tuple[float, float]:
    """(frames per second, CPU milliseconds per frame) of one run with ``arm``'s output."""
    from trajpipe.io.dds import Ros2Publisher
    from trajpipe.io.foxglove_live import FoxgloveLive

    pipe.reset()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        publishers = []
        if arm == "ros2":
            publishers.append(stack.enter_context(Ros2Publisher(domain, world=pipe.ground is not None)))
        if arm == "foxglove":
            publishers.append(stack.enter_context(FoxgloveLive("127.0.0.1", 0, world=pipe.ground is not None)))
        cpu = time.process_time()
        summary = run(pipe, video, f"{tmp}/o.mp4", f"{tmp}/o.jsonl", max_frames=frames, progress=False,
                      output_mcap=f"{tmp}/o.mcap" if arm == "mcap" else None, publishers=publishers)
        cpu = time.process_time() - cpu
    return summary.fps, 1000 * cpu / summary.frames


def main() -> None:
    parser = pipeline_parser(__doc__, "videos/concourse.mp4")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-ground", action="store_true", help="without the ground homography")
    args = parser.parse_args()
    overrides = {} if args.no_ground else {"homography_points": GROUND_POINTS}
    domain = 100 + os.getpid() % 100
    load_before = os.getloadavg()
    fps: dict[str, list[float]] = {arm: [] for arm in ARMS}
    cpu: dict[str, list[float]] = {arm: [] for arm in ARMS}
    with Pipeline(model=args.weights, forecaster=args.forecaster, **overrides) as pipe:
        for arm in ARMS:  # warm-up: models, DDS, the Foxglove SDK, the MCAP libraries
            one_run(pipe, args.video, 5, arm, domain)
        for repeat in range(args.repeats):
            for arm in ARMS:
                rate, cost = one_run(pipe, args.video, args.frames, arm, domain)
                fps[arm].append(rate), cpu[arm].append(cost)
                print(f"round {repeat + 1} {arm:8s} {rate:6.2f} FPS {cost:7.1f} ms CPU a frame", flush=True)
    load_after = os.getloadavg()
    print(f"\n{platform.processor() or platform.machine()}, {args.frames} frames of {args.video}, "
          f"{'no ground plane' if args.no_ground else 'ground homography'}, {args.repeats} interleaved rounds")
    print("load average before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f}".format(*load_before, *load_after))
    figures = {"video": args.video, "frames": args.frames, "repeats": args.repeats, "ground": not args.no_ground,
               "load_before": [round(x, 2) for x in load_before], "arms": {}}
    for arm in ARMS:
        ratios = [a / b for a, b in zip(fps[arm], fps["none"])]
        print(f"{arm:8s} median {statistics.median(fps[arm]):6.2f} FPS, {statistics.median(cpu[arm]):7.1f} ms CPU a frame; "
              f"ratio to none: median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")
        figures["arms"][arm] = {"fps": round(statistics.median(fps[arm]), 2), "cpu_ms": round(statistics.median(cpu[arm]), 1),
                                "ratio": stats(ratios)}
    write_results("robotics_cost" + ("_no_ground" if args.no_ground else ""), figures)


if __name__ == "__main__":
    main()
