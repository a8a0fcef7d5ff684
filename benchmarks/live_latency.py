"""Latency from capture to result, and dropped frames, on a loopback MJPEG stream.

    python benchmarks/live_latency.py [--video videos/concourse.mp4] [--fps 25] [--seconds 30] [--forecaster lstm]

Serves the video as a live MJPEG-over-HTTP stream on 127.0.0.1 (looping), runs trajpipe on it with
the JSON-lines output a consumer would read, and reports latency (capture -> result) percentiles,
the dropped-frame rate and the processed frame rate.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path

import numpy as np

from common import pipeline_parser, write_results  # noqa: E402  (puts trajpipe on the path)
from trajpipe import Pipeline  # noqa: E402
from trajpipe.app.mjpeg import MjpegServer, encode_frames  # noqa: E402
from trajpipe.running.loop import run  # noqa: E402


def main() -> None:
    parser = pipeline_parser(__doc__, "videos/concourse.mp4")
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    server = MjpegServer(encode_frames(args.video), args.fps).start()
    try:
        with Pipeline(model=args.weights, forecaster=args.forecaster) as pipe, tempfile.TemporaryDirectory() as tmp:
            source = pipe.open(server.url)
            jsonl = Path(tmp) / "live.jsonl"
            summary = run(pipe, source, None, str(jsonl), max_frames=int(args.seconds * args.fps), progress=False)
            latencies = np.array([json.loads(line)["latency"] for line in jsonl.read_text().splitlines()])
    finally:
        server.stop()
    p50, p95, p99 = np.percentile(latencies * 1000, [50, 95, 99])
    print(f"{args.video} served at {args.fps:g} fps over loopback MJPEG; {args.weights}, forecaster {args.forecaster}; "
          f"{platform.machine()}, {os.cpu_count()} CPUs")
    print(f"processed {summary.frames} frames in {summary.seconds:.1f} s ({summary.fps:.1f} FPS)")
    print(f"latency capture->result: mean {latencies.mean() * 1000:.1f} ms, p50 {p50:.1f}, p95 {p95:.1f}, p99 {p99:.1f} ms")
    print(f"dropped {summary.dropped} of {summary.captured} captured frames ({summary.dropped / max(summary.captured, 1):.1%})")
    write_results("live_latency", {
        "stream_fps": args.fps, "seconds": args.seconds, "frames": summary.frames, "fps": round(summary.fps, 1),
        "latency_ms": {"mean": round(float(latencies.mean()) * 1000, 1), "p50": round(float(p50), 1),
                       "p95": round(float(p95), 1), "p99": round(float(p99), 1)},
        "dropped": summary.dropped, "captured": summary.captured})


if __name__ == "__main__":
    main()
