"""Scene adaptation (``adapt_to_scene``) on scenes the model never saw: error / CV with and without it.

    python benchmarks/scene_adaptation.py [--max-frames N]   # writes docs/results/scene_adaptation.json

Each recording is played as a stream through the stateful API (``Forecaster.update`` for every person
of an annotated frame, then ``forecast_all``), once with the adaptation on and once off, each on its
own copy of the forecaster. Every forecast of a person with 8 observed and 12 future annotated steps
(the benchmark's 8 -> 12 windows) is scored against the annotation and against constant velocity
from the same two last positions. Reported per recording: error / CV at 0.4, 1.2, 2.4 and 4.8 s for
the windows made after the first 60 s (adaptation on and off), and the mean error (ADE) of the windows
of the first 60 s (on and off).

Recordings: the test files of every ETH/UCY leave-one-scene-out fold, in both copies of the data
(``eth_ucy``: the Social-GAN files; ``eth_ucy_0.4s``: ETH at its true step; the other scenes' files are
the same in both and are run once), each with the checkpoint
that left that scene out (``weights/eth_ucy/<scene>.pt``); and SDD scenes (``trajnet_sdd``) with
``weights/eth_ucy/v1/eth.pt``, the checkpoint trained without SDD (every newer checkpoint, the default
one included, was trained on all 31 SDD files: no SDD scene is new to them).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from common import write_results  # noqa: E402
from trajpipe import Forecaster  # noqa: E402
from trajpipe.training.data import eth_ucy_files, load_eth_ucy  # noqa: E402

DATA = REPO.parent / "shared" / "data"
SCENES = ("eth", "hotel", "univ", "zara1", "zara2")
SDD = ("gates_1", "hyang_4", "nexus_0")
HORIZONS = {"0.4s": 0, "1.2s": 2, "2.4s": 5, "4.8s": 11}
WARM_UP = 60.0  # seconds
OBS, PRED = 8, 12


def play(forecaster: Forecaster, pos: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stream ``pos`` (F, M, 2; NaN: absent) through the stateful API: (origin times (W,), errors (W, 12),
    CV's errors (W, 12)) of every scored window."""
    origins, errors, cv_errors = [], [], []
    present = np.isfinite(pos[..., 0])
    for f in range(len(pos)):
        t = f * dt
        here = np.flatnonzero(present[f])
        for m in here:
            forecaster.update(int(m), t, pos[f, m])
        forecasts = forecaster.forecast_all(now=t)
        if f < OBS - 1 or f + PRED >= len(pos):
            continue
        for m in here:
            if m not in forecasts or not present[f - OBS + 1:f + PRED + 1, m].all():
                continue
            truth = pos[f + 1:f + PRED + 1, m]
            cv = pos[f, m] + np.arange(1, PRED + 1)[:, None] * (pos[f, m] - pos[f - 1, m])
            origins.append(t)
            errors.append(np.linalg.norm(forecasts[m].points - truth, axis=-1))
            cv_errors.append(np.linalg.norm(cv - truth, axis=-1))
    return np.array(origins), np.array(errors).reshape(-1, PRED), np.array(cv_errors).reshape(-1, PRED)


def recording(model: Path, path: Path, max_frames: int | None = None) -> dict:
    table = load_eth_ucy(path)
    table.pos = table.pos[:max_frames]
    out = {"file": str(path.relative_to(DATA)), "seconds": round(len(table.pos) * table.dt, 1)}
    for label, adapt in (("on", True), ("off", False)):
        forecaster = Forecaster.load(model)  # a fresh one each time: its stateful side holds the scene
        if adapt:
            forecaster.adapt_to_scene()
        origins, errors, cv_errors = play(forecaster, table.pos, table.dt)
        late, early = origins >= WARM_UP, origins < WARM_UP
        out["windows_after_warm_up"] = int(late.sum())
        out[f"error/cv after warm-up, {label}"] = {
            h: round(float(errors[late, k].mean() / cv_errors[late, k].mean()), 3) if late.any() else None
            for h, k in HORIZONS.items()}
        out[f"ADE first 60 s, {label}"] = round(float(errors[early].mean()), 4) if early.any() else None
        if adapt:
            state = forecaster.adaptation
            out["adaptation at the end"] = state.to_json() if state is not None else None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-frames", type=int, default=None, help="only the first annotated frames of each recording")
    args = parser.parse_args()
    results = []
    for version in ("eth_ucy", "eth_ucy_0.4s"):
        for scene in SCENES if version == "eth_ucy" else ("eth",):  # the two copies differ only in ETH's file
            model = REPO / "weights" / "eth_ucy" / f"{scene}.pt"
            for path in eth_ucy_files(DATA / version, scene, "test"):
                results.append({"data": version, "scene": scene, "model": f"weights/eth_ucy/{scene}.pt",
                                **recording(model, path, args.max_frames)})
                print(json.dumps(results[-1]), flush=True)
    model = REPO / "weights" / "eth_ucy" / "v1" / "eth.pt"
    for name in SDD:
        results.append({"data": "trajnet_sdd", "scene": name, "model": "weights/eth_ucy/v1/eth.pt",
                        **recording(model, DATA / "trajnet_sdd" / f"{name}.txt", args.max_frames)})
        print(json.dumps(results[-1]), flush=True)
    write_results("scene_adaptation", {"warm_up_seconds": WARM_UP, "max_frames": args.max_frames,
                                       "recordings": results})


if __name__ == "__main__":
    main()
