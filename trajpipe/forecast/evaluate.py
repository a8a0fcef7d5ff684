"""ETH/UCY leave-one-scene-out evaluation: ADE/FDE per scene and on average.

Protocol (the standard Social-GAN one): for each scene, every window of 8 observed + 12 future
steps (0.4 s each, stride 1) of every pedestrian present in all 20 steps of that scene's test
file(s); the model evaluated on a scene was trained without it. Deterministic: one prediction
(the mean) per pedestrian. ADE = mean displacement over the 12 future steps, FDE = displacement at
the last one, averaged over pedestrians-windows of the scene; "avg" is the mean over the 5 scenes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .base import Forecaster
from .cv import ConstantVelocityForecaster
from .data import Windows, eth_ucy_files, load_eth_ucy, make_windows
from .kalman import KalmanForecaster

SCENES = ("eth", "hotel", "univ", "zara1", "zara2")


def scene_windows(root: str | Path, scene: str, split: str = "test") -> Windows:
    return Windows.concat([make_windows(load_eth_ucy(f)) for f in eth_ucy_files(root, scene, split)])


def ade_fde(forecaster: Forecaster, w: Windows) -> tuple[float, float]:
    pred, _ = forecaster.predict_with_sigma(w.obs, dt=forecaster.dt, groups=w.groups)
    pred = np.asarray(pred)[w.is_target]
    d = np.linalg.norm(pred - w.fut[w.is_target], axis=-1)
    return float(d.mean()), float(d[:, -1].mean())


def evaluate(root: str | Path, models: dict[str, str], scenes=SCENES, split: str = "test", log=print) -> dict:
    """``models``: name -> checkpoint path template with ``{scene}`` (leave-one-out checkpoints).
    CV and Kalman are always included. Returns ``{"methods": {name: {scene: {ade, fde}, "avg": ...}},
    "train_seconds": {name: {scene: s}}, "samples": {scene: n}}``."""
    from .lstm import LSTMForecaster

    methods: dict[str, dict] = {}
    train_s: dict[str, dict] = {}
    samples = {}
    baselines = {"cv": ConstantVelocityForecaster(), "kalman": KalmanForecaster()}
    for scene in scenes:
        w = scene_windows(root, scene, split)
        samples[scene] = len(w)
        for name, fc in baselines.items():
            a, f = ade_fde(fc, w)
            methods.setdefault(name, {})[scene] = {"ade": a, "fde": f}
        for name, tmpl in models.items():
            fc = LSTMForecaster.from_checkpoint(str(tmpl).format(scene=scene))
            a, f = ade_fde(fc, w)
            methods.setdefault(name, {})[scene] = {"ade": a, "fde": f}
            train_s.setdefault(name, {})[scene] = float(fc.meta.get("train_seconds", float("nan")))
        log(f"{scene}: {samples[scene]} test trajectories done")
    for name, per in methods.items():
        per["avg"] = {m: float(np.mean([per[s][m] for s in scenes])) for m in ("ade", "fde")}
    return {"split": split, "scenes": list(scenes), "methods": methods, "train_seconds": train_s, "samples": samples}


def format_table(res: dict) -> str:
    scenes = res["scenes"]
    head = f"{'method':<8}" + "".join(f"{s:>13}" for s in scenes) + f"{'avg':>13}" + f"{'train s/model':>15}"
    lines = ["ADE / FDE in metres", head, "-" * len(head)]
    for name, per in res["methods"].items():
        row = f"{name:<8}" + "".join(f"{per[s]['ade']:>6.3f}/{per[s]['fde']:<6.3f}" for s in [*scenes, "avg"])
        ts = res["train_seconds"].get(name)
        row += f"{np.mean(list(ts.values())):>13.0f}s" if ts else f"{'-':>15}"
        lines.append(row)
    cv = res["methods"].get("cv")
    if cv:
        for name, per in res["methods"].items():
            if name in ("cv",):
                continue
            wins = sum(per[s]["fde"] < cv[s]["fde"] for s in scenes)
            lines.append(f"{name}: beats CV FDE on {wins}/{len(scenes)} scenes")
    return "\n".join(lines)


def save_results(res: dict, out_dir: str | Path) -> tuple[Path, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jpath = out / "eval_eth_ucy.json"
    jpath.write_text(json.dumps(res, indent=2))
    cols = [*res["scenes"], "avg"]
    names = list(res["methods"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / max(len(names), 1)
    for ax, metric in zip(axes, ("ade", "fde")):
        for i, n in enumerate(names):
            vals = [res["methods"][n][c][metric] for c in cols]
            ax.bar(np.arange(len(cols)) + i * width, vals, width, label=n)
        ax.set_xticks(np.arange(len(cols)) + width * (len(names) - 1) / 2)
        ax.set_xticklabels(cols)
        ax.set_ylabel(f"{metric.upper()} (m)")
        ax.set_title(f"ETH/UCY leave-one-scene-out {metric.upper()}")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    ppath = out / "eval_eth_ucy.png"
    fig.savefig(ppath, dpi=100)
    plt.close(fig)
    return jpath, ppath
