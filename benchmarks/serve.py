"""What the live view costs a run: frames per second with and without ``--serve`` and viewers.

    nice python benchmarks/serve.py [--video videos/concourse.mp4] [--frames 150] [--repeats 3]

(a) ``trajpipe run`` writing the annotated MP4 and the JSON lines (what ``trajpipe run`` does),
(b) the same with a live view (``LiveServer``, default serve_fps 15 and serve_width 960) and two
    viewers for the whole run: one that never reads (the video stream and the events stream, both
    stalled) and one that reads the MJPEG stream and the events as fast as they come (two ``curl``
    processes: a browser is not in the pipeline's process either).
Arms alternate a b a b ... (the machine's load drifts); prints every run, the medians, the ratio
(b)/(a) within each pair, the process's CPU time per frame (less sensitive than FPS to other
programs on a shared machine), and how long ``publish`` held the pipeline's output thread.
Target: (b) within 10 % of (a).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, pipeline_parser, stats, write_results  # noqa: E402  (puts trajpipe on the path)
from trajpipe import Pipeline  # noqa: E402
from trajpipe.running.loop import run  # noqa: E402
from trajpipe.serve import LiveServer  # noqa: E402

sys.path.insert(0, str(REPO / "tests"))
from live_client import stalled_viewer, wait_for  # noqa: E402


def plain(pipe: Pipeline, video: str, frames: int) -> tuple[float, float]:
    """(FPS, CPU ms per frame) of a run writing both outputs."""
    pipe.reset()
    cpu = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        fps = run(pipe, video, f"{tmp}/o.mp4", f"{tmp}/o.jsonl", max_frames=frames, progress=False).fps
    return fps, 1000 * (time.process_time() - cpu) / frames


def served(pipe: Pipeline, video: str, frames: int, publish_seconds: list[float]) -> tuple[float, float, dict]:
    """(FPS, CPU ms per frame of this process, /stats at the end) of the same run with a live view and viewers."""
    pipe.reset()
    cpu = time.process_time()
    with tempfile.TemporaryDirectory() as tmp, LiveServer(0) as live:
        publish = live.publish

        def timed_publish(*args):
            started = time.perf_counter()
            publish(*args)
            publish_seconds.append(time.perf_counter() - started)
        live.publish = timed_publish
        stalled = [stalled_viewer(live.port), stalled_viewer(live.port, "/events")]
        readers = [subprocess.Popen(["curl", "-sN", "-o", "/dev/null", f"http://127.0.0.1:{live.port}{path}"])
                   for path in ("/stream.mjpg", "/events")]
        wait_for(lambda: live.stats()["viewers"]["video"] == 2 and live.stats()["viewers"]["events"] == 2)
        fps = run(pipe, video, f"{tmp}/o.mp4", f"{tmp}/o.jsonl", max_frames=frames, progress=False, live=live).fps
        stats = live.stats()
    cpu_ms = 1000 * (time.process_time() - cpu) / frames
    for reader in readers:  # the server's close ended their streams
        reader.wait(10)
    for sock in stalled:
        sock.close()
    return fps, cpu_ms, stats


def main() -> None:
    parser = pipeline_parser(__doc__, "videos/concourse.mp4")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with Pipeline(model=args.weights, forecaster=args.forecaster) as pipe:
        plain(pipe, args.video, 10)  # warm-up: model loading, first inferences
        without, with_view, cpu_without, cpu_with, publish_seconds = [], [], [], [], []
        for repeat in range(args.repeats):
            fps, cpu_ms = plain(pipe, args.video, args.frames)
            without.append(fps)
            cpu_without.append(cpu_ms)
            fps, cpu_ms, stats = served(pipe, args.video, args.frames, publish_seconds)
            with_view.append(fps)
            cpu_with.append(cpu_ms)
            print(f"repeat {repeat + 1}: without {without[-1]:.2f} FPS ({cpu_without[-1]:.0f} CPU ms/frame), "
                  f"with live view {fps:.2f} FPS ({cpu_ms:.0f} CPU ms/frame) (ratio {fps / without[-1]:.3f}); "
                  f"JPEGs {stats['jpeg']['encoded']} ({stats['jpeg']['mean_encode_ms']} ms each), "
                  f"viewer frames skipped {stats['viewers']['skipped']}", flush=True)
    ratios = [b / a for a, b in zip(without, with_view)]
    publish_us = sorted(s * 1e6 for s in publish_seconds)
    print(f"\n{args.frames} frames of {Path(args.video).name}, {args.repeats} pairs, interleaved")
    print(f"median FPS without live view: {statistics.median(without):.2f}  (runs: {', '.join(f'{x:.2f}' for x in without)})")
    print(f"median FPS with live view + stalled viewer + reading viewer: {statistics.median(with_view):.2f}  "
          f"(runs: {', '.join(f'{x:.2f}' for x in with_view)})")
    print(f"ratio with/without per pair: median {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}); target >= 0.90")
    print(f"CPU ms per frame (this process): median {statistics.median(cpu_without):.1f} without, "
          f"{statistics.median(cpu_with):.1f} with the live view "
          f"(+{100 * (statistics.median(cpu_with) / statistics.median(cpu_without) - 1):.1f} %)")
    print(f"publish() on the output thread: median {statistics.median(publish_us):.1f} us, "
          f"p99 {publish_us[int(0.99 * (len(publish_us) - 1))]:.1f} us, max {publish_us[-1]:.1f} us "
          f"over {len(publish_us)} calls")
    fps = {"without": round(statistics.median(without), 2), "with": round(statistics.median(with_view), 2)}
    cpu = {"without": round(statistics.median(cpu_without), 1), "with": round(statistics.median(cpu_with), 1)}
    ratio = stats(ratios)
    write_results("serve", {
        "frames": args.frames, "pairs": args.repeats, "fps": fps, "ratio": ratio, "cpu_ms": cpu,
        "publish_us": {"median": round(statistics.median(publish_us), 1),
                       "p99": round(publish_us[int(0.99 * (len(publish_us) - 1))], 1)},
        "table": [["pairs", "median FPS without / with", "median ratio (min–max)", "CPU ms per frame without / with"],
                  [args.repeats, f"{fps['without']:.2f} / {fps['with']:.2f}",
                   f"{ratio['median']:.3f} ({ratio['min']:.3f}–{ratio['max']:.3f})",
                   f"{cpu['without']:.1f} / {cpu['with']:.1f} ({100 * (cpu['with'] / cpu['without'] - 1):+.1f} %)"]]})


if __name__ == "__main__":
    main()
