"""Issue 32's cheap levers, measured on existing checkpoints without training: where the single forecast
comes from. For every leave-one-scene-out fold, on its validation files (the other scenes) and on its
test files (both copies of ETH/UCY), the FDE / CV and ADE / CV of

* ``head``: the shipped forecast (``predict``: the separate head, shrunk towards CV per step);
* ``top mode``: the most probable of the 20 modes;
* ``mode mean``: the modes' probability-weighted mean;
* ``mode mean, shrunk``: the same shrunk towards CV with the checkpoint's own per-step factors;
* ``head + mode mean``: the average of the two;
* ``ensemble`` (with ``--ensemble``): the heads of the given checkpoint templates averaged (one forward
  pass each), e.g. other seeds of the same recipe.

    python benchmarks/forecast_levers.py [--model weights/eth_ucy/{scene}.pt] [--ensemble T1 T2 ...]

Prints one line per fold, split and lever, and the averages (ratio of the scenes' mean FDE to CV's, as
``trajpipe eval`` reports it; per horizon the mean of the scenes' ratios); writes the rows to
runs/forecast_levers.json and the averages to docs/results/forecast_levers.json.
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
from trajpipe.forecast.cv import ConstantVelocityForecaster  # noqa: E402
from trajpipe.training.evaluate import scene_windows  # noqa: E402
from common import write_results  # noqa: E402

DATA = REPO.parent / "shared" / "data"
SCENES = ("eth", "hotel", "univ", "zara1", "zara2")
HORIZONS = {"0.4s": 0, "1.2s": 2, "2.4s": 5, "4.8s": 11}


def forecasts(forecaster, w, extra: list) -> dict[str, np.ndarray]:
    """Every lever's (N, P, 2) forecast of the windows ``w``."""
    head, _, modes = forecaster.predict_batch(w.obs, dt=0.4, groups=w.groups, k=20)
    cv = ConstantVelocityForecaster().predict(w.obs, dt=0.4)
    mode_mean = (modes.points * modes.probs[..., None, None]).sum(1)
    shrink = forecaster.net.cv_shrink.detach().numpy().astype(np.float64)[None, :, None]
    out = {"cv": cv, "head": head, "top mode": modes.points[:, 0], "mode mean": mode_mean,
           "mode mean, shrunk": cv + shrink * (mode_mean - cv), "head + mode mean": (head + mode_mean) / 2}
    if extra:
        out["ensemble"] = np.mean([head] + [f.predict(w.obs, dt=0.4, groups=w.groups) for f in extra], axis=0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="weights/eth_ucy/{scene}.pt")
    parser.add_argument("--ensemble", nargs="*", default=[], help="more checkpoint templates, averaged with --model")
    parser.add_argument("--out", default="runs/forecast_levers.json")
    args = parser.parse_args()
    rows = []
    for scene in SCENES:
        forecaster = Forecaster.load(REPO / args.model.format(scene=scene))
        extra = [Forecaster.load(REPO / t.format(scene=scene)) for t in args.ensemble]
        splits = {"val": scene_windows(DATA / "eth_ucy", scene, "val"), "test": scene_windows(DATA / "eth_ucy", scene, "test")}
        if scene == "eth":
            splits["test 0.4s"] = scene_windows(DATA / "eth_ucy_0.4s", scene, "test")
        for split, w in splits.items():
            t = w.is_target
            errors = {name: np.linalg.norm(p[t] - w.fut[t], axis=-1) for name, p in forecasts(forecaster, w, extra).items()}
            for name, e in errors.items():
                row = {"scene": scene, "split": split, "lever": name, "ade": float(e.mean()), "fde": float(e[:, -1].mean()),
                       "steps": e.mean(0).tolist()}
                rows.append(row)
                if name != "cv":
                    c = errors["cv"]
                    print(f"{scene:6s} {split:9s} {name:18s} FDE/CV {e[:, -1].mean() / c[:, -1].mean():.3f} "
                          f"ADE/CV {e.mean() / c.mean():.3f} err/CV 0.4/1.2/2.4/4.8 s "
                          + " ".join(f"{e[:, s].mean() / c[:, s].mean():.3f}" for s in (0, 2, 5, 11)), flush=True)
    averages: dict = {}
    for version in ("eth_ucy", "eth_ucy_0.4s"):
        for split in ("val", "test"):
            pick = [r for r in rows if r["split"] == (split if version == "eth_ucy" or split == "val" or r["scene"] != "eth"
                                                      else "test 0.4s")]
            if version == "eth_ucy_0.4s" and split == "val":
                continue
            cv = [r for r in pick if r["lever"] == "cv"]
            for lever in dict.fromkeys(r["lever"] for r in pick if r["lever"] != "cv"):
                mine = [r for r in pick if r["lever"] == lever]
                # per horizon: the mean of the scenes' ratios, as trajpipe eval's "avg" row
                steps = np.mean([np.divide(r["steps"], c["steps"]) for r, c in zip(mine, cv)], 0)
                fde = np.mean([r['fde'] for r in mine]) / np.mean([r['fde'] for r in cv])
                ade = np.mean([r['ade'] for r in mine]) / np.mean([r['ade'] for r in cv])
                averages.setdefault(version, {}).setdefault(split, {})[lever] = {
                    "fde_vs_cv": round(float(fde), 3), "ade_vs_cv": round(float(ade), 3),
                    **{f"ratio_{h}": round(float(steps[k]), 3) for h, k in HORIZONS.items()}}
                print(f"avg {version:13s} {split:5s} {lever:18s} FDE/CV {fde:.3f} ADE/CV {ade:.3f} "
                      f"avg err/CV 0.4/1.2/2.4/4.8 s " + " ".join(f"{steps[k]:.3f}" for k in HORIZONS.values()))
    Path(REPO / args.out).parent.mkdir(exist_ok=True)
    Path(REPO / args.out).write_text(json.dumps({"command": "python " + " ".join(sys.argv), "rows": rows}) + "\n")
    write_results("forecast_levers", {"model": args.model, "ensemble": [args.model, *args.ensemble] if args.ensemble else None,
                                      "averages": averages})


if __name__ == "__main__":
    main()
