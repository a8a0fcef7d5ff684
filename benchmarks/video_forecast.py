"""Forecast accuracy on real video tracks: CV, Kalman and the LSTM against what the tracker saw later.

    python benchmarks/video_forecast.py [--videos videos/concourse.mp4 videos/market_street_1906.mp4]

For each video: run detection + tracking over the whole video (trajpipe run with camera_motion=flow,
cached as runs/tracks_<video>_flow.jsonl), put every person track on the 0.4 s grid, and at every
moment where a track has 3.2 s of history and 4.8 s of future, compare each forecaster's forecast
made then with where the tracker actually found the person later. All tracks present at that moment
are passed together (the LSTM's neighbours).

Positions are compared in the scene: the reference frame that the run's per-frame ``camera``
transforms lead to (so the camera's own later motion is not counted as the person's). Each
forecaster runs twice on the same windows: with compensation (it sees the histories in that
reference frame, as trajpipe does with camera_motion=flow) and without (it sees raw pixel
histories, as with camera_motion=none; its forecast, made in the view of its last observation, is
then moved into the reference frame like the truth). Reports ADE/FDE in pixels and in box heights,
and the best of the three most probable modes (minADE/minFDE over the top 3, the pipeline's
default), writes docs/results/video_forecast.json (each video's entry replaced, the others kept; then
`python docs/render.py` updates the pages) and docs/video_forecast.png (a few tracks, their forecasts
and the truth).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from trajpipe import Forecaster, Pipeline  # noqa: E402
from trajpipe.core.frames import Projective  # noqa: E402
from trajpipe.training.data import load_jsonl
from trajpipe.training.windows import make_windows  # noqa: E402
from trajpipe.forecast.kalman import KalmanForecaster  # noqa: E402
from trajpipe.running.loop import run  # noqa: E402
from common import write_results  # noqa: E402


def tracks_jsonl(video: Path, weights: str) -> Path:
    out = REPO / "runs" / f"tracks_{video.stem}_flow.jsonl"
    if not out.exists():
        out.parent.mkdir(exist_ok=True)
        with Pipeline(model=weights, forecaster="cv", camera_motion="flow") as pipe:
            summary = run(pipe, str(video), None, str(out), progress=False)
        print(f"tracked {video.name}: {summary}", flush=True)
    return out


def in_reference_frame(jsonl: Path) -> Path:
    """A copy of a run's JSON lines with every point and box moved into the first frame's pixels,
    by accumulating the per-frame ``camera`` transforms (previous frame -> this frame)."""
    out = jsonl.with_name(jsonl.stem + "_reference.jsonl")
    reference_to_current = np.eye(3)
    with open(jsonl) as source, open(out, "w") as target:
        for line in source:
            record = json.loads(line)
            camera = np.asarray(record["camera"], np.float64)  # (2, 3) affine, or (3, 3) for a homography
            reference_to_current = (np.vstack([camera, [0, 0, 1]]) if len(camera) == 2 else camera) @ reference_to_current
            back = Projective(np.linalg.inv(reference_to_current))
            for track in record["tracks"]:
                track["box"] = back(np.array(track["box"], float).reshape(2, 2)).ravel().tolist()
                track["point"] = back(np.array(track["point"], float)).tolist()
            target.write(json.dumps(record) + "\n")
    return out


def errors(forecaster: Forecaster, scene, raw, compensated: bool, k: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per target: (T_pred,) displacement errors in reference-frame pixels of the forecast, (k, T_pred)
    of the k most probable modes, and the target's box height.

    ``scene`` and ``raw``: the same windows in reference-frame and raw pixels. Without compensation the
    forecaster sees raw pixels; its forecast is in the view of the last observation, moved into the
    reference frame by that view's offset (a translation: the camera model of camera_motion=flow)."""
    w = scene if compensated else raw
    mean, _, modes = forecaster.predict_batch(w.obs, dt=0.4, scale=w.scale, groups=w.groups, k=k)
    points = modes.points
    if not compensated:
        offset = raw.obs[:, -1:] - scene.obs[:, -1:]  # (N, 1, 2)
        mean, points = mean - offset, points - offset[:, None]
    t = scene.is_target
    err = np.linalg.norm(mean[t] - scene.fut[t], axis=-1)
    return err, np.linalg.norm(points[t] - scene.fut[t][:, None], axis=-1), scene.scale[t]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", nargs="+", default=["videos/concourse.mp4", "videos/market_street_1906.mp4"])
    parser.add_argument("--weights", default="weights/yolov8n_int8.tflite")
    parser.add_argument("--lstm", default="weights/forecaster.pt")
    parser.add_argument("--out", default="docs/video_forecast", help="the picture, OUT.png")
    args = parser.parse_args()

    forecasters = {"CV": Forecaster.load("cv"), "Kalman-CA": KalmanForecaster(motion="ca"),
                   "LSTM": Forecaster.load(args.lstm)}
    results, examples = {}, {}
    for video in map(Path, args.videos):
        jsonl = tracks_jsonl(video, args.weights)
        # the same tracks on the same grid: identical windows, in two coordinate frames
        scene = make_windows(load_jsonl(in_reference_frame(jsonl)), 8, 12)
        raw = make_windows(load_jsonl(jsonl), 8, 12)
        results[video.name] = {"date": str(date.today()), "targets": int(scene.is_target.sum())}
        for compensated in (False, True):
            for name, forecaster in forecasters.items():
                err, mode_err, height = errors(forecaster, scene, raw, compensated)
                results[video.name][f"{name}, {'flow' if compensated else 'none'}"] = {
                    "ADE_px": float(err.mean()), "FDE_px": float(err[:, -1].mean()),
                    "ADE_h": float((err / height[:, None]).mean()), "FDE_h": float((err[:, -1] / height).mean()),
                    "minADE3_px": float(mode_err.mean(-1).min(1).mean()), "minFDE3_px": float(mode_err[..., -1].min(1).mean()),
                }
        examples[video.name] = scene
    arms = [key for key in next(iter(results.values())) if key not in ("date", "targets")]

    print(f"\nForecast accuracy on trajpipe's own person tracks, 3.2 s observed -> 4.8 s ahead "
          f"({date.today()}, {platform.machine()}, detector {Path(args.weights).name}, ByteTrack)")
    print("| video | forecasts | model | histories | ADE px | FDE px | ADE (box heights) | FDE (box heights) | FDE vs CV "
          "| minADE / minFDE px, top 3 modes |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for video, r in results.items():
        for arm in arms:
            m, (name, motion) = r[arm], arm.split(", ")
            cv_fde = r[f"CV, {motion}"]["FDE_px"]
            print(f"| {video} | {r['targets']} | {name} | camera_motion={motion} | {m['ADE_px']:.1f} | {m['FDE_px']:.1f} | "
                  f"{m['ADE_h']:.2f} | {m['FDE_h']:.2f} | {m['FDE_px'] / cv_fde - 1:+.1%} | "
                  f"{m['minADE3_px']:.1f} / {m['minFDE3_px']:.1f} |")
    out = REPO / args.out
    out.parent.mkdir(exist_ok=True)
    plot(examples, forecasters, out.with_suffix(".png"))
    print(f"\nwrote {out.with_suffix('.png').relative_to(REPO)}")
    write_results("video_forecast", {"lstm": args.lstm, "videos": results}, merge=("videos", "earlier_models"))


def plot(examples: dict, forecasters: dict, path: Path, per_video: int = 4) -> None:
    """A row per video: the targets that moved furthest, with observation, truth and forecasts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"CV": "tab:blue", "Kalman-CA": "tab:green", "LSTM": "tab:red"}
    fig, axes = plt.subplots(len(examples), per_video, figsize=(4 * per_video, 4 * len(examples)), squeeze=False)
    for row, (video, w) in enumerate(examples.items()):
        preds = {name: f.predict(w.obs, dt=0.4, scale=w.scale, groups=w.groups) for name, f in forecasters.items()}
        targets = np.flatnonzero(w.is_target)
        travel = np.linalg.norm(w.fut[targets, -1] - w.obs[targets, 0], axis=-1) / w.scale[targets]
        movers = np.argsort(travel)[::-1][: max(per_video, len(targets) // 2)]  # the half that moved furthest
        picks = targets[movers[np.unique(np.linspace(0, len(movers) - 1, per_video).astype(int))]]
        for ax in axes[row][len(picks):]:
            ax.axis("off")
        for ax, i in zip(axes[row], picks):
            ax.plot(*w.obs[i].T, "k.-", label="observed 3.2 s")
            ax.plot(*np.vstack([w.obs[i, -1:], w.fut[i]]).T, "k.--", alpha=0.5, label="truth 4.8 s")
            for name, p in preds.items():
                ax.plot(*np.vstack([w.obs[i, -1:], p[i]]).T, ".-", color=colours[name], label=name)
            ax.set_aspect("equal", adjustable="datalim")
            ax.invert_yaxis()
            ax.set_title(f"{video}, box {w.scale[i]:.0f} px", fontsize=9)
        axes[row][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


if __name__ == "__main__":
    main()
