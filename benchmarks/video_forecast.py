"""Forecast accuracy on real video tracks: CV, Kalman and the LSTM against what the tracker saw later.

    python benchmarks/video_forecast.py [--videos videos/concourse.mp4 videos/market_street_1906.mp4]

For each video: run detection + tracking over the whole video (trajpipe run, cached as
runs/tracks_<video>.jsonl), put every person track on the 0.4 s grid, and at every moment where a
track has 3.2 s of history and 4.8 s of future, compare each forecaster's forecast made then with
where the tracker actually found the person later. All tracks present at that moment are passed
together (the LSTM's neighbours). Reports ADE/FDE in pixels and in box heights, and the best of the
three most probable modes (minADE/minFDE over the top 3, the pipeline's default), writes
docs/video_forecast.json and docs/video_forecast.png (a few tracks, their forecasts and the truth).
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
from trajpipe.forecast.data import load_jsonl, make_windows  # noqa: E402
from trajpipe.forecast.kalman import KalmanForecaster  # noqa: E402
from trajpipe.runner import run  # noqa: E402


def tracks_jsonl(video: Path, weights: str) -> Path:
    out = REPO / "runs" / f"tracks_{video.stem}.jsonl"
    if not out.exists():
        out.parent.mkdir(exist_ok=True)
        with Pipeline(model=weights, forecaster="cv") as pipe:
            summary = run(pipe, str(video), None, str(out), progress=False)
        print(f"tracked {video.name}: {summary}", flush=True)
    return out


def errors(forecaster: Forecaster, windows, k: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per target: (T_pred,) displacement errors in pixels of the forecast, (k, T_pred) of the k most
    probable modes, and the target's box height."""
    mean, _, modes = forecaster.predict_batch(windows.obs, dt=0.4, scale=windows.scale, groups=windows.groups, k=k)
    t = windows.is_target
    err = np.linalg.norm(mean[t] - windows.fut[t], axis=-1)
    return err, np.linalg.norm(modes.points[t] - windows.fut[t][:, None], axis=-1), windows.scale[t]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", nargs="+", default=["videos/concourse.mp4", "videos/market_street_1906.mp4"])
    parser.add_argument("--weights", default="weights/yolov8n_int8.tflite")
    parser.add_argument("--lstm", default="weights/forecaster.pt")
    parser.add_argument("--out", default="docs/video_forecast")
    args = parser.parse_args()

    forecasters = {"CV": Forecaster.load("cv"), "Kalman-CA": KalmanForecaster(motion="ca"),
                   "LSTM": Forecaster.load(args.lstm)}
    results, examples = {}, {}
    for video in map(Path, args.videos):
        windows = make_windows(load_jsonl(tracks_jsonl(video, args.weights)), 8, 12)
        results[video.name] = {"targets": int(windows.is_target.sum())}
        for name, forecaster in forecasters.items():
            err, mode_err, height = errors(forecaster, windows)
            results[video.name][name] = {
                "ADE_px": float(err.mean()), "FDE_px": float(err[:, -1].mean()),
                "ADE_h": float((err / height[:, None]).mean()), "FDE_h": float((err[:, -1] / height).mean()),
                "minADE3_px": float(mode_err.mean(-1).min(1).mean()), "minFDE3_px": float(mode_err[..., -1].min(1).mean()),
            }
        examples[video.name] = windows
    cv_fde = {v: r["CV"]["FDE_px"] for v, r in results.items()}

    print(f"\nForecast accuracy on trajpipe's own person tracks, 3.2 s observed -> 4.8 s ahead "
          f"({date.today()}, {platform.machine()}, detector {Path(args.weights).name}, ByteTrack)")
    print("| video | forecasts | model | ADE px | FDE px | ADE (box heights) | FDE (box heights) | FDE vs CV "
          "| minADE / minFDE px, top 3 modes |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for video, r in results.items():
        for name in forecasters:
            m = r[name]
            print(f"| {video} | {r['targets']} | {name} | {m['ADE_px']:.1f} | {m['FDE_px']:.1f} | {m['ADE_h']:.2f} | "
                  f"{m['FDE_h']:.2f} | {m['FDE_px'] / cv_fde[video] - 1:+.1%} | {m['minADE3_px']:.1f} / {m['minFDE3_px']:.1f} |")
    out = REPO / args.out
    out.parent.mkdir(exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2))
    plot(examples, forecasters, out.with_suffix(".png"))
    print(f"\nwrote {out.with_suffix('.json').relative_to(REPO)} and {out.with_suffix('.png').relative_to(REPO)}")


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
