"""trajpipe at its defaults against the simpler PyPI peer, whole process, start-up included.

    python benchmarks/peer.py [--repeats 3] [--market-frames 600]

The peer is `trajectory-forecast` 26.0.1 (Ultralytics YOLO + ByteTrack + a constant-acceleration Kalman
filter per track, drawing its forecasts into an MP4). It is installed into its own virtual environment,
runs/peer-venv, which borrows this project's torch and Ultralytics (a .pth file pointing at this venv's
site-packages: the same versions for both arms, no 3 GB download) and gets the peer with --no-deps.
The peer calls ``YOLO.to(device)``, which Ultralytics refuses for exported (TFLite) weights: the peer's
arm makes ``ultralytics.YOLO.to`` a no-op before calling the peer's own CLI, nothing else is changed.

Both arms read the same video and the same 640 int8 TFLite weights and write an annotated MP4; trajpipe
also writes its JSON lines. Arms are interleaved (peer, trajpipe, peer, ...) and the medians of the
whole-process frame rates (frames / wall-clock seconds) and CPU seconds a frame are reported, with the ratio trajpipe / peer.
Market street: its first --market-frames frames, cut once into runs/ as MJPG so both decode the same.
Writes docs/results/peer.json (then `python docs/render.py` updates the pages).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import cv2

from common import REPO, cut_clip, run_process, write_results  # noqa: E402

PEER = "trajectory-forecast==26.0.1"
PEER_RUN = ("import sys, ultralytics\n"
            "ultralytics.YOLO.to = lambda self, *args, **kwargs: self  # exported weights cannot be moved\n"
            "from tf.cli import main\n"
            "sys.argv = ['trajectory-forecast', *sys.argv[1:]]\n"
            "main()\n")


def peer_python(venv: Path) -> Path:
    """The peer's interpreter, installing it on first use."""
    python = venv / "bin" / "python"
    if not (venv / ".installed").is_file():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        site = Path(subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                            text=True).strip())
        (site / "borrowed-from-trajpipe.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", PEER], check=True)
        (venv / ".installed").touch()
    return python


def first_frames(video: Path, frames: int, out: Path) -> Path:
    """The first ``frames`` frames of ``video`` as an MJPG AVI (cut once)."""
    return out if out.is_file() else cut_clip(video, out, frames, fourcc="MJPG")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--market-frames", type=int, default=600)
    parser.add_argument("--weights", default=str(REPO / "weights" / "yolov8n_int8.tflite"))
    args = parser.parse_args()
    runs = REPO / "runs"
    runs.mkdir(exist_ok=True)
    python = peer_python(runs / "peer-venv")
    videos = {"concourse": REPO / "videos" / "concourse.mp4",
              "market street": first_frames(REPO / "videos" / "market_street_1906.mp4", args.market_frames,
                                            runs / f"market_street_first{args.market_frames}.avi")}
    trajpipe = str(Path(sys.executable).with_name("trajpipe"))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        weights = str(tmp / Path(args.weights).name)  # Ultralytics deletes weights it fails to load: a copy
        shutil.copyfile(args.weights, weights)
        for name, video in videos.items():
            frames = int(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT))
            arms = {
                "peer": [str(python), "-c", PEER_RUN, "--model", weights, "--source", str(video), "--save",
                         "--output", str(tmp / "peer.mp4")],
                "trajpipe": [trajpipe, "run", str(video), "--model", weights, "--output-video", str(tmp / "tp.mp4"),
                             "--output-jsonl", str(tmp / "tp.jsonl"), "--quiet"],
            }
            fps, cpu_ms = {arm: [] for arm in arms}, {arm: [] for arm in arms}
            for repeat in range(args.repeats):
                for arm, command in arms.items():
                    wall, cpu, _ = run_process(command)
                    fps[arm].append(frames / wall)
                    cpu_ms[arm].append(cpu * 1000 / frames)
                    print(f"{name} #{repeat + 1} {arm}: {fps[arm][-1]:.2f} FPS, {cpu_ms[arm][-1]:.0f} ms CPU a frame",
                          flush=True)
            medians = {arm: statistics.median(values) for arm, values in fps.items()}
            results[name] = {"frames": frames, "fps": fps, "median_fps": medians,
                             "cpu_ms_per_frame": cpu_ms,
                             "median_cpu_ms_per_frame": {arm: statistics.median(v) for arm, v in cpu_ms.items()},
                             "ratio": medians["trajpipe"] / medians["peer"]}
            print(f"{name}: peer {medians['peer']:.2f} FPS, trajpipe {medians['trajpipe']:.2f} FPS, "
                  f"ratio {results[name]['ratio']:.3f}", flush=True)
    write_results("peer", {"peer": PEER, "weights": Path(args.weights).name, "repeats": args.repeats, "videos": results})


if __name__ == "__main__":
    main()
