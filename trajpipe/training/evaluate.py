"""ETH/UCY leave-one-scene-out evaluation: deterministic and best-of-k errors, and calibration.

Protocol (the standard Social-GAN one): for each scene, every window of 8 observed + 12 future
steps (0.4 s each, stride 1) of every pedestrian present in all 20 steps of that scene's test
file(s); the model evaluated on a scene was trained without it. Metrics, in metres, averaged over
pedestrian-windows of a scene ("avg" is the mean over the scenes):

* ADE / FDE of the deterministic forecast (``predict``): mean displacement over the 12 future steps
  and displacement at the last one;
* minADE / minFDE over ``k`` modes (``predict_modes(k=k)``; k = 20 is the literature's best-of-20),
  each the minimum over the k modes, taken separately as Social-GAN does;
* calibration: the share of true x and y coordinates within +-1 sigma and +-2 sigma of the most likely
  mode (per axis, so 68.3 % and 95.4 % for a calibrated Gaussian), at 1.2 s and 4.8 s ahead;
* error / CV at 0.4, 1.2, 2.4 and 4.8 s ahead: the deterministic forecast's mean displacement at that
  horizon divided by constant velocity's on the same windows (below 1: better than CV). The "avg" of a
  ratio is the mean of the scenes' ratios.

Several data roots can be evaluated in one run (e.g. the Social-GAN files and the copy with ETH at
its true 0.4 s step); each gets its own table.

The default (video) model, trained on every scene, has no held-out ETH/UCY scene; :func:`default_model_ratios`
reports its error / CV per horizon where it is used: on the test files as annotated (clean tracks, as from
a lidar or a good tracker), on the same with detector-like jitter added to the observations (CV sees the
same jitter), and on the detector's own tracks of a video.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..forecast.base import Forecaster
from ..forecast.cv import ConstantVelocityForecaster
from ..forecast.kalman import KalmanForecaster
from .data import eth_ucy_files, load_eth_ucy
from .windows import Windows, make_windows

SCENES = ("eth", "hotel", "univ", "zara1", "zara2")
BEST_OF = (20, 3)  # the k of the minADE/minFDE columns
CALIBRATION_HORIZONS = (1.2, 4.8)  # seconds ahead
RATIO_HORIZONS = (0.4, 1.2, 2.4, 4.8)  # seconds ahead: error / CV's error


def scene_windows(root: str | Path, scene: str, split: str = "test") -> Windows:
    return Windows.concat([make_windows(load_eth_ucy(f)) for f in eth_ucy_files(root, scene, split)])


def ade_fde(forecaster: Forecaster, w: Windows) -> tuple[float, float]:
    pred, _ = forecaster.predict_with_sigma(w.obs, dt=forecaster.dt, groups=w.groups)
    return _ade_fde(pred, w)


def _ade_fde(pred: np.ndarray, w: Windows) -> tuple[float, float]:
    d = np.linalg.norm(np.asarray(pred)[w.is_target] - w.fut[w.is_target], axis=-1)
    return float(d.mean()), float(d[:, -1].mean())


def scene_metrics(forecaster: Forecaster, w: Windows) -> dict[str, float]:
    """Every metric of the module docstring for one forecaster on one scene's windows (one
    forecaster call gives the forecast and the modes)."""
    pred, _, modes = forecaster.predict_batch(w.obs, dt=forecaster.dt, groups=w.groups, k=max(BEST_OF))
    ade, fde = _ade_fde(pred, w)
    metrics = {"ade": ade, "fde": fde}
    truth = w.fut[w.is_target]
    step_err = np.linalg.norm(np.asarray(pred)[w.is_target] - truth, axis=-1).mean(0)  # (T,)
    for horizon in RATIO_HORIZONS:
        step = int(round(horizon / forecaster.dt)) - 1
        if 0 <= step < len(step_err):
            metrics[f"err_{horizon:g}s"] = float(step_err[step])
    for k in BEST_OF:  # modes come most probable first: the top k are the first k
        d = np.linalg.norm(modes.points[w.is_target, :k] - truth[:, None], axis=-1)  # (N, k, T)
        metrics[f"min_ade_{k}"] = float(d.mean(-1).min(1).mean())
        metrics[f"min_fde_{k}"] = float(d[..., -1].min(1).mean())
    if modes.sigma is not None:
        z = np.abs(modes.points[w.is_target, 0] - truth) / modes.sigma[w.is_target, 0]  # (N, T, 2)
        for horizon in CALIBRATION_HORIZONS:
            step = int(round(horizon / forecaster.dt)) - 1
            for n_sigma in (1, 2):
                metrics[f"cover{n_sigma}_{horizon:g}s"] = float((z[:, step] <= n_sigma).mean())
    return metrics


def evaluate(roots: dict[str, str | Path], models: dict[str, str], scenes=SCENES, split: str = "test", log=print) -> dict:
    """``roots``: label -> data root (the eth_ucy layout); ``models``: name -> checkpoint path template
    with ``{scene}`` (leave-one-out checkpoints). CV and Kalman are always included. Returns
    ``{"versions": {label: {"methods": {name: {scene: metrics, "avg": metrics}}, "samples": {scene: n}}},
    "train_seconds": {name: {scene: s}}}``."""
    from ..forecast.lstm import LSTMForecaster

    baselines = {"cv": ConstantVelocityForecaster(), "kalman": KalmanForecaster()}
    checkpoints = {name: {scene: LSTMForecaster.from_checkpoint(str(tmpl).format(scene=scene)) for scene in scenes}
                   for name, tmpl in models.items()}
    train_s = {name: {scene: float(fc.meta.get("train_seconds", float("nan"))) for scene, fc in per.items()}
               for name, per in checkpoints.items()}
    versions = {}
    for label, root in roots.items():
        methods: dict[str, dict] = {}
        samples = {}
        for scene in scenes:
            w = scene_windows(root, scene, split)
            samples[scene] = len(w)
            for name, fc in baselines.items():
                methods.setdefault(name, {})[scene] = scene_metrics(fc, w)
            for name, per in checkpoints.items():
                methods.setdefault(name, {})[scene] = scene_metrics(per[scene], w)
            log(f"{label} {scene}: {samples[scene]} test trajectories done")
        for per in methods.values():
            for scene in scenes:
                for horizon in RATIO_HORIZONS:
                    key, ref = f"err_{horizon:g}s", methods["cv"][scene].get(f"err_{horizon:g}s")
                    if key in per[scene] and ref:
                        per[scene][f"ratio_{horizon:g}s"] = per[scene][key] / ref
            per["avg"] = {m: float(np.mean([per[s][m] for s in scenes])) for m in per[scenes[0]]}
        versions[label] = {"root": str(root), "methods": methods, "samples": samples}
    return {"split": split, "scenes": list(scenes), "versions": versions, "train_seconds": train_s}


def _horizon_ratios(forecaster: Forecaster, w: Windows, scale=None) -> dict[str, float]:
    """error / CV at :data:`RATIO_HORIZONS` on ``w`` (``scale``: box heights of pixel windows), and the
    number of target windows."""
    cv = ConstantVelocityForecaster()
    errors = []
    for f in (forecaster, cv):
        pred = np.asarray(f.predict(w.obs, dt=forecaster.dt, scale=scale, groups=w.groups))[w.is_target]
        errors.append(np.linalg.norm(pred - w.fut[w.is_target], axis=-1).mean(0))
    out = {"windows": int(w.is_target.sum())}
    for horizon in RATIO_HORIZONS:
        step = int(round(horizon / forecaster.dt)) - 1
        out[f"ratio_{horizon:g}s"] = float(errors[0][step] / errors[1][step])
    return out


def with_jitter(w: Windows, sigma_m: float, seed: int = 0) -> Windows:
    """``w`` with Gaussian jitter of ``sigma_m`` metres per axis on every observed position (futures clean)."""
    noise = np.random.default_rng(seed).normal(0.0, sigma_m, w.obs.shape).astype(np.float32)
    return Windows(w.obs + noise, w.fut, w.scale, w.groups, w.is_target)


def default_model_ratios(forecaster: Forecaster, root: str | Path | None, scenes=SCENES, jitter: float = 0.04,
                         video: str | Path | None = None, log=print) -> dict:
    """error / CV of the default model per horizon: on each scene's test files of ``root`` as annotated
    ("clean") and with ``jitter`` metres of observation noise, and on the tracks the detector finds in
    ``video`` (person tracks in pixels, box heights as scale). Returns ``{set: {scene or video: ratios}}``."""
    sets: dict[str, dict] = {}
    if root is not None:
        clean, noisy = {}, {}
        for scene in scenes:
            w = scene_windows(root, scene)
            clean[scene], noisy[scene] = _horizon_ratios(forecaster, w), _horizon_ratios(forecaster, with_jitter(w, jitter))
        for per in (clean, noisy):
            per["avg"] = {k: float(np.mean([per[s][k] for s in scenes])) for k in per[scenes[0]]}
        sets["clean"], sets[f"jitter {jitter:g} m"] = clean, noisy
    if video is not None:
        w = video_track_windows(video, forecaster.dt)
        sets["detector tracks"] = {Path(video).name: _horizon_ratios(forecaster, w, scale=w.scale)}
        log(f"{Path(video).name}: {int(w.is_target.sum())} windows of detector tracks")
    return sets


def video_track_windows(video: str | Path, dt: float) -> Windows:
    """Windows of the person tracks that trajpipe's detector and tracker find in ``video`` (pixels): the
    pipeline's frame records as ``trajpipe run`` writes them, taken without a file."""
    from ..pipeline import Pipeline
    from .data import records_table

    with Pipeline(forecaster="cv", classes=["person"], camera_motion="none") as pipe:
        records = [result.to_json() for result in pipe.stream(str(video))]
    return make_windows(records_table(records, Path(video).name, dt))


def format_default_model(sets: dict) -> str:
    lines = [f"default model: error / CV at {', '.join(f'{h:g}' for h in RATIO_HORIZONS)} s ahead (below 1: better than CV)"]
    for name, per in sets.items():
        for where, r in per.items():
            cells = " ".join("%.3f" % r[f"ratio_{h:g}s"] for h in RATIO_HORIZONS)
            lines.append(f"  {name:<16} {where:<16} {cells}   ({r['windows']} windows)")
    return "\n".join(lines)


def _pair(metrics: dict, a: str, b: str) -> str:
    return f"{metrics[a]:>6.3f}/{metrics[b]:<6.3f}"


def format_table(res: dict) -> str:
    scenes = res["scenes"]
    lines = []
    for label, version in res["versions"].items():
        methods = version["methods"]
        head = f"{'method':<10}" + "".join(f"{s:>13}" for s in [*scenes, "avg"])
        for title, a, b in [("ADE / FDE (deterministic)", "ade", "fde"),
                            *[(f"minADE / minFDE, best of {k}", f"min_ade_{k}", f"min_fde_{k}") for k in BEST_OF]]:
            lines += ["", f"{label}: {title}, metres", head, "-" * len(head)]
            lines += [f"{name:<10}" + "".join(_pair(per[s], a, b) for s in [*scenes, "avg"]) for name, per in methods.items()]
        cols = [f"cover{n}_{h:g}s" for h in CALIBRATION_HORIZONS for n in (1, 2)]
        lines += ["", f"{label}: share within 1 / 2 sigma of the most likely mode (avg; calibrated: 0.683 / 0.954)",
                  f"{'method':<10}" + "".join(f"{h:>14g} s" for h in CALIBRATION_HORIZONS)]
        for name, per in methods.items():
            if cols[0] in per["avg"]:
                lines.append(f"{name:<10}" + "".join(_pair(per["avg"], cols[i], cols[i + 1]) + "   " for i in (0, 2)))
        lines += ["", f"{label}: error / CV at {', '.join(f'{h:g}' for h in RATIO_HORIZONS)} s ahead (below 1: better than CV)",
                  f"{'method':<10}" + "".join(f"{s:>24}" for s in [*scenes, "avg"])]
        for name, per in methods.items():
            if name != "cv" and f"ratio_{RATIO_HORIZONS[0]:g}s" in per["avg"]:
                cells = [" ".join("%.3f" % per[s]["ratio_%gs" % h] for h in RATIO_HORIZONS) for s in [*scenes, "avg"]]
                lines.append(f"{name:<10}" + "".join(f"{c:>24}" for c in cells))
        cv = methods.get("cv")
        for name, per in methods.items():
            if cv and name != "cv":
                wins = sum(per[s]["fde"] < cv[s]["fde"] for s in scenes)
                change = per["avg"]["fde"] / cv["avg"]["fde"] - 1 if cv["avg"]["fde"] > 0 else float("nan")
                lines.append(f"{label} {name}: beats CV FDE on {wins}/{len(scenes)} scenes, average FDE {change:+.1%} vs CV")
    return "\n".join(lines[1:])


def save_results(res: dict, out_dir: str | Path) -> tuple[Path, Path]:
    """``eval_eth_ucy.json`` and a PNG of ADE, FDE and minFDE (best of 20) bars per data version."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jpath = out / "eval_eth_ucy.json"
    jpath.write_text(json.dumps(res, indent=2))
    cols = [*res["scenes"], "avg"]
    metrics = ("ade", "fde", f"min_fde_{BEST_OF[0]}")
    versions = res["versions"]
    fig, axes = plt.subplots(len(versions), len(metrics), figsize=(5 * len(metrics), 3.6 * len(versions)), squeeze=False)
    for row, (label, version) in zip(axes, versions.items()):
        names = list(version["methods"])
        width = 0.8 / max(len(names), 1)
        for ax, metric in zip(row, metrics):
            for i, n in enumerate(names):
                vals = [version["methods"][n][c][metric] for c in cols]
                ax.bar(np.arange(len(cols)) + i * width, vals, width, label=n)
            ax.set_xticks(np.arange(len(cols)) + width * (len(names) - 1) / 2)
            ax.set_xticklabels(cols)
            ax.set_ylabel(f"{metric.upper().replace('_', ' ')} (m)")
            ax.set_title(f"{label}: {metric.upper().replace('_', ' ')}")
            ax.grid(axis="y", alpha=0.3)
        row[0].legend(fontsize=7)
    fig.tight_layout()
    ppath = out / "eval_eth_ucy.png"
    fig.savefig(ppath, dpi=100)
    plt.close(fig)
    return jpath, ppath
