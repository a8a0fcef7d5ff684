"""How the forecaster's time grows with the number of tracks in one group (its neighbour search).

    python benchmarks/forecast_scaling.py [--sizes 1000 3000 10000] [--repeats 5] [--threads 1]

One group of n walkers spread at 0.5 people per square metre (metres, 8 steps of 0.4 s), as a dense
crowd seen by one camera; one call of the default LSTM's ``predict`` with all of them, one thread.
Reports the median time per size and its ratio to the first size; linear growth gives a ratio equal
to the ratio of sizes. Writes docs/results/forecast_scaling.json (with the load average).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from common import REPO, write_results  # noqa: E402  (puts trajpipe on the path)
from trajpipe import Forecaster  # noqa: E402

DENSITY = 0.5  # people per square metre


def crowd(n: int, seed: int = 0) -> np.ndarray:
    """(n, 8, 2) float32 tracks in metres: walkers at DENSITY per square metre, 0.4 s apart."""
    rng = np.random.default_rng(seed)
    side = np.sqrt(n / DENSITY)
    start = rng.uniform(0, side, (n, 1, 2))
    velocity = rng.normal(0, 0.8, (n, 1, 2))
    steps = 0.4 * np.arange(8)[None, :, None]
    return (start + velocity * steps + rng.normal(0, 0.03, (n, 8, 2))).astype(np.float32)


def seconds(forecaster, tracks: np.ndarray, repeats: int) -> float:
    groups = np.zeros(len(tracks), np.int64)
    forecaster.predict(tracks, dt=0.4, groups=groups)  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        forecaster.predict(tracks, dt=0.4, groups=groups)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(REPO / "weights" / "forecaster.pt"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    forecaster = Forecaster.load(args.checkpoint)
    rows = []
    for n in args.sizes:
        rows.append({"tracks": n, "seconds": seconds(forecaster, crowd(n), args.repeats)})
        rows[-1]["ratio"] = rows[-1]["seconds"] / rows[0]["seconds"]
        print(f"{n:6d} tracks: {rows[-1]['seconds'] * 1e3:8.1f} ms  ({rows[-1]['ratio']:.1f} x {args.sizes[0]})")
    write_results("forecast_scaling", {"threads": args.threads, "density_per_m2": DENSITY, "repeats": args.repeats,
                                       "sizes": rows, "ratio_10x": rows[-1]["ratio"] if len(rows) > 1 else None})

if __name__ == "__main__":
    main()
