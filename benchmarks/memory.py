"""Memory over a long run: resident set size while trajpipe processes the market street video looped.

    python benchmarks/memory.py [--video videos/market_street_1906.mp4] [--frames 10000]

Runs ``trajpipe run`` in-process with every output on (LSTM forecasts, overlay, annotated video,
JSON lines, to a temporary folder), samples memory every 500 frames and reports the growth per
1000 frames after warm-up (a least-squares slope over the samples after the first 2000 frames).
Memory = PSS (proportional set size: shared pages split between the processes sharing them) of
trajpipe's process plus its output process, so the frame slots both map are counted once.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from trajpipe import Pipeline  # noqa: E402
from trajpipe.runner import run  # noqa: E402

WARM_UP = 2000


def pss_mib(pid: int | str) -> float:
    with open(f"/proc/{pid}/smaps_rollup") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Pss:")) / 1024


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                if entry.isdigit() and int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return found


def memory_mib() -> tuple[float, float]:
    """(PSS of this process, PSS of this process and its children) in MiB."""
    own = pss_mib(os.getpid())
    return own, own + sum(pss_mib(child) for child in children(os.getpid()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", default="videos/market_street_1906.mp4")
    parser.add_argument("--weights", default="weights/yolov8n_int8.tflite")
    parser.add_argument("--forecaster", default="lstm")
    parser.add_argument("--frames", type=int, default=10_000)
    args = parser.parse_args()

    samples = []

    def sample(result) -> None:
        if result.frame_index % 500 == 0:
            own, total = memory_mib()
            samples.append((result.frame_index, own, total))
            print(f"frame {result.frame_index:6d}: PSS {own:.1f} MiB, with the output process {total:.1f} MiB", flush=True)

    with Pipeline(model=args.weights, forecaster=args.forecaster, loop=True) as pipe, tempfile.TemporaryDirectory() as tmp:
        summary = run(pipe, args.video, f"{tmp}/o.mp4", f"{tmp}/o.jsonl", max_frames=args.frames, progress=False,
                      on_result=sample)
    frames, own, total = np.array(samples).T
    late = frames >= WARM_UP
    print(f"\n{summary.frames} frames of {args.video} (looped), forecaster {args.forecaster}, all outputs on; "
          f"{platform.machine()}, {os.cpu_count()} CPUs")
    for name, mib in (("trajpipe process", own), ("with the output process", total)):
        slope = np.polyfit(frames[late], mib[late], 1)[0] * 1000
        print(f"{name}: PSS after warm-up ({WARM_UP} frames) {mib[late][0]:.1f} MiB, at the end {mib[-1]:.1f} MiB, "
              f"peak {mib.max():.1f} MiB; growth after warm-up {slope:+.2f} MiB per 1000 frames")


if __name__ == "__main__":
    main()
