"""Forecasting time per frame (one call with all tracks) vs number of tracks, CPU.

    python benchmarks/forecast_speed.py [--checkpoint weights/forecaster.pt] [--threads 1] [--repeats 200]

Tracks are random walkers observed over 8 steps in pixels (with box heights as ``scale``), all in
one group, as the video pipeline calls it. Reports the median and 90th percentile per call of
``predict`` (CV, LSTM), ``predict_modes(k=20)`` and the pipeline's per-frame call (``predict_batch``
with the default 3 modes).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trajpipe import Forecaster  # noqa: E402


def tracks(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, 1920, (n, 1, 2))
    vel = rng.normal(0, 15, (n, 1, 2))
    obs = (start + vel * np.arange(8)[None, :, None] + rng.normal(0, 2, (n, 8, 2))).astype(np.float32)
    return obs, rng.uniform(60, 300, n).astype(np.float32)


def bench(call, n: int, repeats: int) -> tuple[float, float]:
    obs, scale = tracks(n)
    groups = np.zeros(n, dtype=np.int64)
    for _ in range(10):
        call(obs, dt=0.4, scale=scale, groups=groups)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        call(obs, dt=0.4, scale=scale, groups=groups)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3), float(np.percentile(times, 90) * 1e3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=str(Path(__file__).resolve().parents[1] / "weights" / "forecaster.pt"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50, 200])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cv, lstm = Forecaster.load("cv"), Forecaster.load(args.checkpoint)
    calls = {"cv predict": cv.predict, "lstm predict": lstm.predict,
             "lstm modes k=20": lambda *a, **kw: lstm.predict_modes(*a, **kw, k=20),
             "lstm frame (3 modes)": lambda *a, **kw: lstm.predict_batch(*a, **kw, k=3)}
    print(f"torch {torch.__version__}, {args.threads} thread(s); ms per call (median / p90)")
    print(f"{'tracks':>6}" + "".join(f"{name:>22}" for name in calls))
    for n in args.sizes:
        row = f"{n:>6}"
        for call in calls.values():
            med, p90 = bench(call, n, args.repeats)
            row += f"{med:>13.3f} / {p90:<6.3f}"
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
