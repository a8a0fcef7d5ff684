"""Memory over a long run: resident set size while trajpipe processes the market street video looped.

    python benchmarks/memory.py [--video videos/market_street_1906.mp4] [--frames 10000]

Runs ``trajpipe run`` in-process with every output on (LSTM forecasts, overlay, annotated video,
JSON lines, to a temporary folder), samples RSS every 500 frames and reports the growth per
1000 frames after warm-up (a least-squares slope over the samples after the first 2000 frames).
"""

from __future__ import annotations

import os
import platform
import tempfile

import numpy as np

from common import pipeline_parser, write_results  # noqa: E402  (puts trajpipe on the path)
from trajpipe import Pipeline  # noqa: E402
from trajpipe.running.loop import run  # noqa: E402

WARM_UP = 2000


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = pipeline_parser(__doc__, "videos/market_street_1906.mp4")
    parser.add_argument("--frames", type=int, default=10_000)
    args = parser.parse_args()

    samples = []

    def sample(result) -> None:
        if result.frame_index % 500 == 0:
            samples.append((result.frame_index, rss_mib()))
            print(f"frame {result.frame_index:6d}: RSS {samples[-1][1]:.1f} MiB", flush=True)

    with Pipeline(model=args.weights, forecaster=args.forecaster, loop=True) as pipe, tempfile.TemporaryDirectory() as tmp:
        summary = run(pipe, args.video, f"{tmp}/o.mp4", f"{tmp}/o.jsonl", max_frames=args.frames, progress=False,
                      on_result=sample)
    frames, rss = np.array(samples).T
    late = frames >= WARM_UP
    slope = np.polyfit(frames[late], rss[late], 1)[0] * 1000
    print(f"\n{summary.frames} frames of {args.video} (looped), forecaster {args.forecaster}, all outputs on; "
          f"{platform.machine()}, {os.cpu_count()} CPUs")
    print(f"RSS after warm-up ({WARM_UP} frames): {rss[late][0]:.1f} MiB; at the end: {rss[-1]:.1f} MiB; "
          f"peak {rss.max():.1f} MiB")
    print(f"growth after warm-up: {slope:+.2f} MiB per 1000 frames")
    write_results("memory", {
        "frames": summary.frames, "warm_up_frames": WARM_UP,
        "rss_mib": {"loaded": round(float(rss[0]), 1), "after_warm_up": round(float(rss[late][0]), 1),
                    "end": round(float(rss[-1]), 1), "peak": round(float(rss.max()), 1)},
        "growth_mib_per_1000_frames": round(float(slope), 2)})


if __name__ == "__main__":
    main()
