"""Scene adaptation (``adapt_to_scene``) on scenes the model never saw: error / CV with and without it.

    python benchmarks/scene_adaptation.py --max-frames 600 --sdd-model runs/sdd_heldout/eth.pt  # -> docs/results/scene_adaptation.json

Each recording is played as a stream through the stateful API (``Forecaster.update`` for every person
of an annotated frame, then ``forecast_all``), once with the adaptation on and once off, each on its
own copy of the forecaster. Every forecast of a person with 8 observed and 12 future annotated steps
(the benchmark's 8 -> 12 windows) is scored against the annotation and against constant velocity
from the same two last positions. Reported per recording: error / CV at 0.4, 1.2, 2.4 and 4.8 s for
the windows made after the first 60 s (adaptation on and off), and the mean error (ADE) of the windows
of the first 60 s (on and off).

Recordings: the test files of every ETH/UCY leave-one-scene-out fold, in both copies of the data
(``eth_ucy``: the Social-GAN files; ``eth_ucy_0.4s``: ETH at its true step; the other scenes' files are
the same in both and are run once), each with the checkpoint that left that scene out
(``weights/eth_ucy/<scene>.pt``); every SDD recording (``trajnet_sdd``) with ``--sdd-model``, a
checkpoint trained without some SDD scenes (every shipped checkpoint was trained on all 31 SDD files: no
SDD scene is new to them), each row saying whether its file was in that checkpoint's training data
(``unseen``); and the videos' own person tracks (``--videos``; the tracks of benchmarks/video_forecast.py,
in its reference frame, streamed with their boxes as a Pipeline does: errors in box heights) with the
default video forecaster ``weights/forecaster.pt``. The videos are shorter than 60 s: only their
"first 60 s" columns exist.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from trajpipe import Forecaster  # noqa: E402
from trajpipe.training.data import TrackTable, eth_ucy_files, load_eth_ucy, load_jsonl  # noqa: E402
from common import write_results  # noqa: E402
from video_forecast import in_reference_frame, tracks_jsonl  # noqa: E402

DATA = REPO.parent / "shared" / "data"
SCENES = ("eth", "hotel", "univ", "zara1", "zara2")
PARTS = ("eth_ucy", "sdd", "videos")
PARTS_ORDER = {"eth_ucy": 0, "eth_ucy_0.4s": 1, "trajnet_sdd": 2, "video": 3}  # the table's order
RESULTS_FILE = REPO / "docs" / "results" / "scene_adaptation.json"
HORIZONS = {"0.4s": 0, "1.2s": 2, "2.4s": 5, "4.8s": 11}
WARM_UP = 60.0  # seconds
OBS, PRED = 8, 12


def play(forecaster: Forecaster, pos: np.ndarray, dt: float, scale: np.ndarray | None = None
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stream ``pos`` (F, M, 2; NaN: absent) through the stateful API: (origin times (W,), errors (W, 12),
    CV's errors (W, 12), the truth's distance from the forecast in its sigmas per axis (W, 12, 2)) of every
    scored window. ``scale`` (F, M): box heights in pixels (video tracks,
    fed as boxes standing on their point; errors then in box heights at the window's origin), else metres."""
    origins, errors, cv_errors, z = [], [], [], []
    present = np.isfinite(pos[..., 0])
    for f in range(len(pos)):
        t = f * dt
        here = np.flatnonzero(present[f])
        for m in here:
            if scale is None:
                forecaster.update(int(m), t, pos[f, m])
            else:
                (x, y), h = pos[f, m], scale[f, m]
                forecaster.update(int(m), t, [x - 0.2 * h, y - h, x + 0.2 * h, y])
        forecasts = forecaster.forecast_all(now=t)
        if f < OBS - 1 or f + PRED >= len(pos):
            continue
        for m in here:
            if m not in forecasts or not present[f - OBS + 1:f + PRED + 1, m].all():
                continue
            truth = pos[f + 1:f + PRED + 1, m]
            cv = pos[f, m] + np.arange(1, PRED + 1)[:, None] * (pos[f, m] - pos[f - 1, m])
            unit = 1.0 if scale is None else scale[f, m]
            origins.append(t)
            errors.append(np.linalg.norm(forecasts[m].points - truth, axis=-1) / unit)
            cv_errors.append(np.linalg.norm(cv - truth, axis=-1) / unit)
            sigma = forecasts[m].sigma
            z.append(np.full((PRED, 2), np.nan) if sigma is None else np.abs(forecasts[m].points - truth) / sigma)
    return (np.array(origins), np.array(errors).reshape(-1, PRED), np.array(cv_errors).reshape(-1, PRED),
            np.array(z).reshape(-1, PRED, 2))


def recording(model: Path, table: TrackTable, name: str, max_frames: int | None = None, video: bool = False) -> dict:
    """One recording streamed with the adaptation on and off: error / CV after the warm-up, ADE before."""
    table.pos, table.scale = table.pos[:max_frames], table.scale[:max_frames]
    out = {"file": name, "seconds": round(len(table.pos) * table.dt, 1)}
    for label, adapt in (("on", True), ("off", False)):
        forecaster = Forecaster.load(model)  # a fresh one each time: its stateful side holds the scene
        forecaster.adapt_to_scene(adapt)
        origins, errors, cv_errors, z = play(forecaster, table.pos, table.dt, table.scale if video else None)
        late, early = origins >= WARM_UP, origins < WARM_UP
        out["windows_after_warm_up"], out["windows_first_60_s"] = int(late.sum()), int(early.sum())
        out[f"error/cv after warm-up, {label}"] = ratios(errors[late], cv_errors[late])
        out[f"error/cv first 60 s, {label}"] = ratios(errors[early], cv_errors[early])
        out[f"ADE first 60 s, {label}"] = round(float(errors[early].mean()), 4) if early.any() else None
        # the sigma scale's effect: the shares of the truth within 1 and 2 sigma at 4.8 s (Gaussian 0.683 / 0.954)
        out[f"within 1 / 2 sigma at 4.8 s after warm-up, {label}"] = [
            round(float((z[late, -1] <= n).mean()), 3) if late.any() else None for n in (1, 2)]
        if adapt:
            state = forecaster.adaptation
            out["adaptation at the end"] = state.to_json() if state is not None else None
    return out


def ratios(errors: np.ndarray, cv_errors: np.ndarray) -> dict:
    """Mean error / CV's at each of HORIZONS (None without windows)."""
    return {h: round(float(errors[:, k].mean() / cv_errors[:, k].mean()), 3) if len(errors) else None
            for h, k in HORIZONS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="also the whole report here (docs/results/scene_adaptation.json always)")
    parser.add_argument("--max-frames", type=int, default=None, help="only the first annotated frames of each recording")
    parser.add_argument("--sdd-model", default="weights/eth_ucy/v1/eth.pt",
                        help="checkpoint for the SDD recordings (one trained without some SDD scenes)")
    parser.add_argument("--sdd", nargs="*", default=None, help="SDD recordings (names; default: all)")
    parser.add_argument("--videos", nargs="*", default=["videos/concourse.mp4", "videos/market_street_1906.mp4"])
    parser.add_argument("--video-model", default="weights/forecaster.pt")
    parser.add_argument("--detector", default="weights/yolov8n_int8.tflite", help="for videos not tracked yet")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="which recordings (the results file keeps the other parts' rows of its earlier runs)")
    args = parser.parse_args()
    results: dict[str, dict] = {}

    def add(row: dict) -> None:
        results[f"{row['data']}/{row['file']}"] = row
        print(json.dumps(row), flush=True)

    if "eth_ucy" in args.parts:
        for version in ("eth_ucy", "eth_ucy_0.4s"):
            for scene in SCENES if version == "eth_ucy" else ("eth",):  # the two copies differ only in ETH's file
                model = REPO / "weights" / "eth_ucy" / f"{scene}.pt"
                for path in eth_ucy_files(DATA / version, scene, "test"):
                    add({"data": version, "scene": scene, "model": f"weights/eth_ucy/{scene}.pt",
                         **recording(model, load_eth_ucy(path), str(path.relative_to(DATA)), args.max_frames)})
    if "sdd" in args.parts:
        sdd_model = REPO / args.sdd_model
        trained_on = {Path(f).name for f in Forecaster.load(sdd_model).meta.get("extra_train", [])}
        names = args.sdd if args.sdd is not None else sorted(p.stem for p in (DATA / "trajnet_sdd").glob("*.txt"))
        for name in names:
            path = DATA / "trajnet_sdd" / f"{name}.txt"
            add({"data": "trajnet_sdd", "scene": name, "model": args.sdd_model, "unseen": path.name not in trained_on,
                 **recording(sdd_model, load_eth_ucy(path), str(path.relative_to(DATA)), args.max_frames)})
    if "videos" in args.parts:
        for video in map(Path, args.videos):
            table_ = load_jsonl(in_reference_frame(tracks_jsonl(video, args.detector)))
            add({"data": "video", "scene": video.name, "model": args.video_model,
                 **recording(REPO / args.video_model, table_, video.name, args.max_frames, video=True)})
    earlier = RESULTS_FILE.is_file() and json.loads(RESULTS_FILE.read_text()).get("recordings", {})
    results = {**(earlier or {}), **results}
    results = dict(sorted(results.items(), key=lambda item: PARTS_ORDER[item[1]["data"]]))
    report = {"warm_up_seconds": WARM_UP, "max_frames": args.max_frames, "summary": summary(list(results.values())),
              "table": table(list(results.values())), "recordings": results}
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    write_results("scene_adaptation", report)


def summary(results: list[dict]) -> dict:
    """The acceptance's figures over all recordings: the largest ratio on / off of the first 60 s's ADE and
    of error / CV after 60 s (any horizon), and the largest error / CV after 60 s with the adaptation on
    on the SDD places the model never saw."""
    first = [r["ADE first 60 s, on"] / r["ADE first 60 s, off"] for r in results if r["ADE first 60 s, on"]]
    later = [r["error/cv after warm-up, on"][h] / r["error/cv after warm-up, off"][h]
             for r in results for h in HORIZONS if r["error/cv after warm-up, on"][h] is not None]
    unseen = {h: max(r["error/cv after warm-up, on"][h] for r in results if r.get("unseen")) for h in HORIZONS
              if any(r.get("unseen") for r in results)}
    return {"recordings": len(results), "largest_first_60_s_ade_on_over_off": round(max(first), 4),
            "largest_after_60_s_on_over_off": round(max(later), 4), "unseen_sdd_largest_error_over_cv_on": unseen,
            "unseen_sdd_recordings": sum(bool(r.get("unseen")) for r in results)}


def table(results: list[dict]) -> list[list[str]]:
    """The pages' table: a header row, then one row per recording."""
    def four(ratios: dict) -> str:
        return " / ".join("–" if v is None else f"{v:.3f}" for v in ratios.values())

    def first(row: dict) -> str:
        on, off = row["ADE first 60 s, on"], row["ADE first 60 s, off"]
        return "–" if on is None else f"{on:.4f} / {off:.4f} ({100 * (on / off - 1):+.1f} %)"

    rows = [["data", "recording", "model", "windows first 60 s / after", "error / CV at 0.4 / 1.2 / 2.4 / 4.8 s after 60 s, on",
             "off", "ADE first 60 s, on / off"]]
    for row in results:
        unseen = {True: " (unseen)", False: " (trained on)"}.get(row.get("unseen"), "")
        rows.append([row["data"], row["scene"] + unseen, f"`{row['model']}`",
                     f"{row['windows_first_60_s']} / {row['windows_after_warm_up']}",
                     four(row["error/cv after warm-up, on"]), four(row["error/cv after warm-up, off"]), first(row)])
    return rows


if __name__ == "__main__":
    main()
