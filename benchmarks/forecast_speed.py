"""Forecasting time per frame (one call with all tracks) vs number of tracks, CPU.

    python benchmarks/forecast_speed.py [--checkpoint weights/forecaster.pt] [--onnx forecaster.onnx]
                                        [--threads 1] [--repeats 200]

Tracks are random walkers observed over 8 steps in pixels (with box heights as ``scale``), all in
one group, as the video pipeline calls it. Reports the median and 90th percentile per call of
``predict`` (CV, LSTM), ``predict_modes(k=20)`` and the pipeline's per-frame call (``predict_batch``
with the default 3 modes); with ``--onnx`` (a ``trajpipe export`` of the checkpoint) the same three
calls again through onnxruntime, and the largest difference between the two runtimes' forecasts.
Writes docs/results/forecast_speed.json (then `python docs/render.py` updates the pages).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import write_results  # noqa: E402
from trajpipe import Forecaster  # noqa: E402

# the pages' names of the calls timed, in the order of their table
LABELS = {"cv predict": "CV `predict`", "lstm predict": "LSTM `predict` (torch)",
          "lstm modes k=20": "LSTM `predict_modes(k=20)` (torch)",
          "lstm frame (3 modes)": "LSTM per frame in the pipeline: forecast + 3 modes (torch)",
          "onnx predict": "LSTM `predict` (onnxruntime)", "onnx modes k=20": "LSTM `predict_modes(k=20)` (onnxruntime)",
          "onnx frame (3 modes)": "LSTM per frame, forecast + 3 modes (onnxruntime)"}


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
    ap.add_argument("--onnx", help="the checkpoint's ONNX export (trajpipe export ...): time onnxruntime too")
    ap.add_argument("--threads", type=int, default=1, help="torch and onnxruntime intra-op threads")
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50, 200])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cv, lstm = Forecaster.load("cv"), Forecaster.load(args.checkpoint)
    calls = {"cv predict": cv.predict}
    runtimes = {"lstm": lstm}
    if args.onnx:
        from trajpipe.forecast.onnx_runtime import OnnxForecaster

        runtimes["onnx"] = OnnxForecaster(args.onnx, threads=args.threads)
    for name, forecaster in runtimes.items():
        calls.update({f"{name} predict": forecaster.predict,
                      f"{name} modes k=20": lambda *a, f=forecaster, **kw: f.predict_modes(*a, **kw, k=20),
                      f"{name} frame (3 modes)": lambda *a, f=forecaster, **kw: f.predict_batch(*a, **kw, k=3)})
    print(f"torch {torch.__version__}, {args.threads} thread(s); ms per call (median / p90)")
    if args.onnx:
        obs, scale = tracks(max(args.sizes))
        groups = np.zeros(len(obs), dtype=np.int64)
        a, b = (f.predict_batch(obs, dt=0.4, scale=scale, groups=groups, k=3) for f in runtimes.values())
        metres = (1.75 / scale)[:, None, None]
        print(f"onnxruntime vs torch on {len(obs)} tracks: max difference {np.abs(a[0] - b[0]).max():.2g} px "
              f"({np.abs((a[0] - b[0]) * metres).max():.2g} m) in the mean forecast")
    print(f"{'tracks':>6}" + "".join(f"{name:>22}" for name in calls))
    ms: dict[str, dict] = {name: {} for name in calls}
    for n in args.sizes:
        row = f"{n:>6}"
        for name, call in calls.items():
            med, p90 = bench(call, n, args.repeats)
            ms[name][str(n)] = {"median": round(med, 3), "p90": round(p90, 3)}
            row += f"{med:>13.3f} / {p90:<6.3f}"
        print(row)

    def cell(name: str, n: int) -> str:
        m = ms[name][str(n)]
        digits = 3 if m["median"] < 0.1 else 2 if m["median"] < 2 else 1
        return f"{m['median']:.{digits}f}" if name.startswith("cv") else f"{m['median']:.{digits}f} ({m['p90']:.{digits}f})"

    table = [["tracks", *args.sizes]] + [[LABELS.get(name, name), *(cell(name, n) for n in args.sizes)] for name in calls]
    write_results("forecast_speed", {"threads": args.threads, "repeats": args.repeats, "checkpoint": Path(args.checkpoint).name,
                                     "onnx": args.onnx, "ms": ms, "table": table})
    return 0


if __name__ == "__main__":
    sys.exit(main())
