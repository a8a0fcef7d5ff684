"""What re-association costs: ``trajpipe run`` at its defaults with ``reassociate`` on (the default)
against off, on the same video, interleaved.

    python benchmarks/reassociate_cost.py [--video videos/concourse.mp4] [--repeats 6]

Each repetition runs both arms once, in turn (on, off, on, off, ...), over the whole video (or
``--max-frames``), writing the annotated MP4 and the JSON lines to a temporary folder, with both
pipelines built and warmed up before timing. Prints each repetition's FPS and CPU ms a frame (all the
process's threads), then their medians and the medians of the on/off ratios taken within each
repetition, with the load average; also the mean time a frame spent in the re-association itself
(timed inside the ``on`` arm). Writes ``docs/results/reassociate_cost.json`` (``--results NAME``: another
name, e.g. one per video).

Acceptance (issue 31): re-association costs at most 3 % of throughput.
"""

from __future__ import annotations

import os
import statistics

from camera_motion_cost import one_run  # noqa: E402  (puts trajpipe on the path)
from common import pipeline_parser, stats, timed, write_results  # noqa: E402
from trajpipe import Pipeline  # noqa: E402
from trajpipe.tracking.reassociate import Reassociator  # noqa: E402

ARMS = {"on": True, "off": False}


def main() -> None:
    parser = pipeline_parser(__doc__, "videos/concourse.mp4")
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--results", default="reassociate_cost", help="docs/results/NAME.json to write")
    args = parser.parse_args()

    pipes = {arm: Pipeline(model=args.weights, forecaster=args.forecaster, reassociate=on) for arm, on in ARMS.items()}
    spent: list[float] = []
    fps = {arm: [] for arm in ARMS}
    cpu = {arm: [] for arm in ARMS}  # CPU ms a frame
    frames = 0
    try:
        for pipe in pipes.values():
            one_run(pipe, args.video, 10)  # warm-up: models loaded, first inference done
        timed(Reassociator, "apply", spent)
        spent.clear()
        for rep in range(args.repeats):
            for arm, pipe in pipes.items():
                value, count, seconds = one_run(pipe, args.video, args.max_frames)
                fps[arm].append(value)
                cpu[arm].append(1000 * seconds / count)
                frames += count if arm == "on" else 0
            print(f"rep {rep + 1}: " + "  ".join(f"{arm} {fps[arm][-1]:.2f} FPS, {cpu[arm][-1]:.1f} CPU ms a frame"
                                                  for arm in ARMS), flush=True)
    finally:
        for pipe in pipes.values():
            pipe.close()
    fps_ratio = stats([a / b for a, b in zip(fps["on"], fps["off"])])
    cpu_ratio = stats([a / b for a, b in zip(cpu["on"], cpu["off"])])
    apply_ms = round(1000 * sum(spent) / max(frames, 1), 3)
    print(f"load average at the end {os.getloadavg()[0]:.1f}; FPS on {statistics.median(fps['on']):.2f}, off "
          f"{statistics.median(fps['off']):.2f}; on/off FPS ratio {fps_ratio}, CPU ratio {cpu_ratio}; "
          f"re-association {apply_ms} ms a frame")
    write_results(args.results, {
        "video": args.video, "repeats": args.repeats, "max_frames": args.max_frames,
        "fps": {arm: stats(fps[arm], 2) for arm in ARMS}, "fps_ratio": fps_ratio, "cpu_ratio": cpu_ratio,
        "reassociate_ms_per_frame": apply_ms})


if __name__ == "__main__":
    main()
