"""detector_runtime=auto against every candidate forced, whole process, on this machine.

    python benchmarks/detector_runtime.py [--frames 150] [--repeats 3]

Each arm is `trajpipe run videos/concourse.mp4 --max-frames N` at the defaults (annotated MP4 + JSON
lines), with `detector_runtime` naming one candidate in full (LiteRT at 1 .. cores threads, LiteRT on
several frames at once such as `litert:1x2`, OpenVINO where installed; Ultralytics' own path), and `auto`, which chooses by the timing table
it measured (the first, untimed run of each arm fills the cache and warms the disk cache). Arms are
interleaved; auto times its candidates afresh (a cache of its own) in its untimed run; the medians of whole-process frames a second and CPU seconds a frame are reported, and the
auto arm's FPS against the fastest candidate's. Also: each candidate's network alone (letterbox,
network, NMS) on 40 concourse frames, wall and CPU ms a frame, and how long auto's one-time timing took
(from an empty cache). Writes docs/results/detector_runtime.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, run_process, stats, write_results  # noqa: E402


def arms(weights: str, cores: int) -> dict[str, list[str]]:
    """Arm name -> the key=value settings that force it: every candidate auto chooses among, by name."""
    from trajpipe.video.network_tracker import candidates, stage_runtimes
    from trajpipe.video.runtime_choice import Timing

    found = {"auto": ["detector_runtime=auto"]}
    for runtime, threads, copies in candidates(stage_runtimes("auto", weights, None, None)[0], cores):
        name = Timing(runtime, threads, 0, 0, copies).name
        found[name] = [f"detector_runtime={name}"]
    found["ultralytics"] = ["detector_runtime=ultralytics"]
    return found


def network_alone(weights: str, video: str, cores: int, frames: int = 40) -> dict:
    """Wall and CPU ms a frame of each candidate's letterbox + network + NMS on real frames (with several
    frames at once: as many threads, each frame to the next free one)."""
    from concurrent.futures import ThreadPoolExecutor

    import cv2

    from trajpipe.video.network_tracker import build_network, candidates, stage_runtimes
    from trajpipe.video.runtime_choice import Timing

    capture = cv2.VideoCapture(video)
    images = [capture.read()[1] for _ in range(frames)]
    table = {}
    for runtime, threads, copies in candidates(stage_runtimes("auto", weights, None, None)[0], cores):
        network = build_network(runtime, threads, copies, weights, 0.1, 0.7, None)
        with ThreadPoolExecutor(copies) as pool:
            list(pool.map(network.detect, images[:copies]))  # every thread's interpreter set up
            wall, cpu = time.perf_counter(), time.process_time()
            list(pool.map(network.detect, images))
        name = Timing(runtime, threads, 0, 0, copies).name
        table[name] = {"wall_ms": round((time.perf_counter() - wall) * 1000 / frames, 1),
                       "cpu_ms": round((time.process_time() - cpu) * 1000 / frames, 1)}
        network.close()
        print(f"network alone {name}: {table[name]}", flush=True)
    return table


def calibration_seconds(trajpipe: str, video: str, weights: str) -> dict:
    """How long auto's one-time timing takes, and what it chose, from an empty cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "TRAJPIPE_CACHE_DIR": cache}
        run_process([trajpipe, "run", video, "--model", weights, "--max-frames", "1", "--output-video", "none",
                     "--output-jsonl", "none", "--quiet"], env=env)
        table = next(iter(json.loads((Path(cache) / "detector_runtime.json").read_text())["tables"].values()))
    return {"seconds": table["calibration_s"], "timings": table["timings"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--video", default=str(REPO / "videos" / "concourse.mp4"))
    parser.add_argument("--weights", default=str(REPO / "weights" / "yolov8n_int8.tflite"))
    args = parser.parse_args()
    from trajpipe.video.runtime_choice import usable_cores

    cores = usable_cores()
    trajpipe = str(Path(sys.executable).with_name("trajpipe"))
    figures = {"frames": args.frames, "repeats": args.repeats, "cores": cores,
               "network_alone": network_alone(args.weights, args.video, cores),
               "calibration": calibration_seconds(trajpipe, args.video, args.weights)}
    print(f"calibration: {figures['calibration']['seconds']:.2f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        # auto's table is timed afresh now (the untimed first run), not read from an earlier, maybe busier, day
        os.environ["TRAJPIPE_CACHE_DIR"] = f"{tmp}/cache"
        base = [trajpipe, "run", args.video, "--model", args.weights, "--max-frames", str(args.frames),
                "--output-video", f"{tmp}/out.mp4", "--output-jsonl", f"{tmp}/out.jsonl", "--quiet"]
        commands = {name: base + settings for name, settings in arms(args.weights, cores).items()}
        chosen = ""
        for name, command in commands.items():  # untimed: fills auto's cache, warms the disk cache
            stderr = run_process(command)[2]
            if name == "auto":
                chosen = next((line for line in stderr.splitlines() if "detector runtime" in line), "")
        fps = {name: [] for name in commands}
        cpu = {name: [] for name in commands}
        for repeat in range(args.repeats):
            for name, command in commands.items():
                wall, cpu_s, _ = run_process(command)
                fps[name].append(args.frames / wall)
                cpu[name].append(cpu_s / args.frames)
                print(f"#{repeat + 1} {name}: {fps[name][-1]:.2f} FPS, {cpu[name][-1] * 1000:.0f} ms CPU a frame", flush=True)
    results = {name: {"fps": stats(fps[name]), "cpu_ms_per_frame": stats([c * 1000 for c in cpu[name]], 1)}
               for name in commands}
    best = max((n for n in results if n != "auto"), key=lambda n: results[n]["fps"]["median"])
    figures.update(arms=results, auto_choice=chosen.split("detector runtime ", 1)[-1], fastest_candidate=best,
                   auto_to_fastest=round(results["auto"]["fps"]["median"] / results[best]["fps"]["median"], 3))
    print(f"auto: {results['auto']['fps']['median']:.2f} FPS; fastest candidate {best}: "
          f"{results[best]['fps']['median']:.2f} FPS; ratio {figures['auto_to_fastest']:.3f}", flush=True)
    print(f"auto chose: {figures['auto_choice']}")
    write_results("detector_runtime", figures)


if __name__ == "__main__":
    main()
