"""What camera-motion compensation costs: ``trajpipe run`` at its defaults with ``camera_motion`` flow
(the default) against none, on the same video, interleaved.

    python benchmarks/camera_motion_cost.py [--video videos/concourse.mp4] [--repeats 6] [--arms flow none]

Each repetition runs every arm once, in turn, the order reversed every other repetition (A B, B A, ...),
over the whole video, writing the annotated MP4 and the JSON lines (to a temporary folder, deleted at
once), with two pipelines built and warmed up before timing. Prints each repetition's FPS, then the medians and the median of the ratios to the
last arm taken within each repetition; the same for the CPU time the process spent a frame (all its
threads), which a machine shared with other jobs disturbs far less than the frame rate. Also the mean
time a frame spent in the motion estimate, the tracker warp and the histories' remapping (``flow``
arm; timed inside the run), the share of frames the estimate registered (the others a still camera
skips), and the 1-minute load average at the start and at the end.

Acceptance (issues 16 and 33): on the concourse, ``flow`` costs at most 2 % of throughput against ``none``.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from datetime import date

from common import pipeline_parser, stats, timed, write_results  # noqa: E402  (puts trajpipe on the path)
from trajpipe import Pipeline  # noqa: E402
from trajpipe.running.loop import run  # noqa: E402


def timed_calls(pipe: Pipeline, seconds: list, registered: list) -> None:
    """Add the duration of every call of the compensation's steps to ``seconds``, and one entry to
    ``registered`` for every frame the estimate registers."""
    from trajpipe.tracking.history import TrackHistories

    steps = [(pipe.detector, "follow_camera"), (TrackHistories, "remap")]  # (the histories object is replaced on reset)
    if pipe.camera_motion is not None:
        steps += [(pipe.camera_motion, "update"), (pipe.camera_motion, "exclude")]
    for owner, name in steps:
        timed(owner, name, seconds)
    if pipe.camera_motion is not None:  # frames registered (not skipped as a still camera's): counted, not summed
        timed(pipe.camera_motion, "_register", registered)


def one_run(pipe: Pipeline, video: str, max_frames: int | None) -> tuple[float, int, float]:
    """FPS of one whole run with outputs, its frame count, and the CPU seconds the process spent on it
    (all its threads: detector, forecasts, writer)."""
    pipe.reset()
    cpu = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        summary = run(pipe, video, f"{tmp}/out.mp4", f"{tmp}/out.jsonl", max_frames=max_frames, progress=False)
    return summary.fps, summary.frames, time.process_time() - cpu


def main() -> None:
    parser = pipeline_parser(__doc__, "videos/concourse.mp4")
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--arms", nargs="+", default=["flow", "none"])
    parser.add_argument("--max-frames", type=int, default=None)
    args = parser.parse_args()

    pipes = {arm: Pipeline(model=args.weights, camera_motion=arm) for arm in args.arms}
    spent: list[float] = []
    try:
        for pipe in pipes.values():
            one_run(pipe, args.video, 10)  # warm-up: models loaded, first inference done
        registered: list[float] = []
        timed_calls(pipes[args.arms[0]], spent, registered)
        spent.clear()
        fps = {arm: [] for arm in args.arms}
        cpu = {arm: [] for arm in args.arms}  # CPU ms a frame
        frames = 0
        load_before = os.getloadavg()[0]
        for rep in range(args.repeats):
            order = list(pipes) if rep % 2 == 0 else list(pipes)[::-1]  # A B, B A, ...: neither arm always goes first
            for arm in order:
                pipe = pipes[arm]
                value, count, seconds = one_run(pipe, args.video, args.max_frames)
                fps[arm].append(value)
                cpu[arm].append(1000 * seconds / count)
                frames += count if arm == args.arms[0] else 0
            print(f"rep {rep + 1}: " + "  ".join(f"{arm} {fps[arm][-1]:.2f} FPS, {cpu[arm][-1]:.1f} CPU ms a frame"
                                                  for arm in args.arms), flush=True)
    finally:
        for pipe in pipes.values():
            pipe.close()
    base = args.arms[-1]
    load_after = os.getloadavg()[0]
    print(f"\n{date.today()}, {args.video}, {args.weights}, defaults otherwise, {args.repeats} interleaved repetitions; "
          f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load_before:.1f} at the start, {load_after:.1f} at the end")
    for arm in args.arms:
        ratios = [a / b for a, b in zip(fps[arm], fps[base])]
        cpu_ratios = [a / b for a, b in zip(cpu[arm], cpu[base])]
        print(f"{arm}: FPS median {statistics.median(fps[arm]):.2f} (min {min(fps[arm]):.2f}, max {max(fps[arm]):.2f}); "
              f"ratio to {base}: median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}); "
              f"CPU ms a frame median {statistics.median(cpu[arm]):.1f}, ratio to {base} median "
              f"{statistics.median(cpu_ratios):.3f} (min {min(cpu_ratios):.3f}, max {max(cpu_ratios):.3f})")
    print(f"{args.arms[0]}: motion estimate + tracker warp + remapping {1000 * sum(spent) / max(frames, 1):.2f} ms a frame (mean); "
          f"{len(registered)} of {frames} frames registered")
    arm = args.arms[0]
    write_results("camera_motion_cost", {
        "arms": args.arms, "repeats": args.repeats, "max_frames": args.max_frames,
        "fps": {a: stats(fps[a], 2) for a in args.arms},
        "fps_ratio": stats([a / b for a, b in zip(fps[arm], fps[base])]),
        "cpu_ratio": stats([a / b for a, b in zip(cpu[arm], cpu[base])]),
        "estimate_ms_per_frame": round(1000 * sum(spent) / max(frames, 1), 1),
        "registered_share": round(len(registered) / max(frames, 1), 3),
        "load_average_1min": {"start": round(load_before, 2), "end": round(load_after, 2)}})


if __name__ == "__main__":
    main()
