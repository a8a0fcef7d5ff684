"""Train a :class:`~trajpipe.forecast.lstm.TrajectoryNet` with validation early stopping: the loop.
Augmentation in :mod:`.augment`, the loss and metrics in :mod:`.losses`, the fits after training in
:mod:`.calibration`.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..core.anchors import metres_per_unit
from ..forecast.features import canonical_inputs, to_canonical
from ..forecast.lstm import LSTMForecaster, TrajectoryNet
from ..version import __version__
from .augment import augment_batch, with_bystanders, with_observation_noise
from .calibration import calibrate_sigma, fit_cv_shrink
from .losses import evaluate_tensors, horizon_weights, loss_fn
from .train_config import TrainConfig
from .windows import Windows


@dataclass
class TrainResult:
    forecaster: LSTMForecaster
    history: dict = field(default_factory=dict)
    best_epoch: int = 0
    best_val_ade: float = math.inf
    best_val_fde: float = math.inf
    seconds: float = 0.0


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def tensors_from_windows(w: Windows, k: int, social_range: float = 0.0) -> dict:
    """Canonical model inputs + canonical targets for the target rows of ``w``."""
    factor = metres_per_unit(w.scale, len(w.obs))
    inp = canonical_inputs(w.obs, factor, w.groups, k, social_range)
    t = w.is_target
    sub = {key: val[t] for key, val in inp.items()}
    y = to_canonical(w.fut[t], sub)
    return {
        "own": torch.from_numpy(sub["own"]),
        "nb": torch.from_numpy(sub["nb"]),
        "nb_mask": torch.from_numpy(sub["nb_mask"]),
        "y": torch.from_numpy(y),
    }


def train(train_w: Windows, val_w: Windows, cfg: TrainConfig, log=print, init: dict | None = None) -> TrainResult:
    """Train a forecaster, early-stopped on the validation error, then fitted and calibrated on it.

    Args:
        train_w: training windows (see :mod:`trajpipe.training.windows`).
        val_w: validation windows: early stopping, the shrinkage towards CV and the sigma calibration.
        cfg: the training settings.
        log: called with the one-line summary at the end.
        init: a state dict to start from (fine-tuning), or None.

    Returns:
        The best epoch's model as an :class:`~trajpipe.forecast.lstm.LSTMForecaster` (its ``meta``
        holds the settings and the validation errors, metres), with the per-epoch history.
    """
    torch.set_num_threads(max(1, int(cfg.threads)))
    seed_everything(cfg.seed)
    t0 = time.time()
    tr, va = _training_tensors(train_w, val_w, cfg)
    net = TrajectoryNet(cell=cfg.cell, hidden=cfg.hidden, layers=cfg.layers, dropout=cfg.dropout, k=cfg.k,
                        nb_embed=cfg.nb_embed, obs_steps=cfg.obs_steps, pred_steps=cfg.pred_steps, head=cfg.head,
                        modes=cfg.modes, social_range=cfg.social_range, noise_feature=cfg.noise_feature, pool=cfg.pool)
    if init is not None:
        net.load_state_dict(init)
    hist, best_epoch, best_val = _fit(net, tr, va, cfg)
    if cfg.cv_shrink:
        # fit on clean tracks and, with obs_noise, jittered ones too (without it, va holds the clean ones)
        shrink = [va] if cfg.obs_noise <= 0 else [
            tensors_from_windows(w, cfg.k, cfg.social_range) for w in
            (val_w, with_observation_noise(val_w, cfg.obs_noise, 1, np.random.default_rng(cfg.seed + 1)))]
        fit_cv_shrink(net, *shrink)
    calibrate_sigma(net, va)
    secs = time.time() - t0
    log(f"{cfg.cell}: best epoch {best_epoch}, val ADE {best_val['ade']:.3f} FDE {best_val['fde']:.3f}"
        + f" (shrinkage towards CV per step: {' '.join(f'{x:.2f}' for x in net.cv_shrink.tolist())})"
        + (f", minADE/minFDE over {cfg.modes} modes {best_val['min_ade']:.3f} / {best_val['min_fde']:.3f}" if cfg.modes else "")
        + f", {len(tr['y'])} train samples, {secs:.0f}s")
    # what `trajpipe info` reports: the code version and when; commands.py adds the data
    fc = LSTMForecaster(net, dt=cfg.dt, meta={"trajpipe_version": __version__,
                                             "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                             "train_config": {k2: v for k2, v in cfg.__dict__.items()},
                                             "best_epoch": best_epoch, "val_ade": best_val["ade"],
                                             "val_fde": best_val["fde"], "val_min_ade": best_val["min_ade"],
                                             "val_min_fde": best_val["min_fde"],
                                             "train_seconds": secs, "train_samples": len(tr["y"])})
    return TrainResult(fc, hist, best_epoch, best_val["ade"], best_val["fde"], secs)


def _training_tensors(train_w: Windows, val_w: Windows, cfg: TrainConfig) -> tuple[dict, dict]:
    """The training and validation tensors: with ``obs_noise``, noisy replicas (validation: one, the
    same kind of input), and far bystanders in a share of the training windows."""
    rng = np.random.default_rng(cfg.seed)
    if cfg.obs_noise > 0:
        train_w = with_observation_noise(train_w, cfg.obs_noise, cfg.noise_copies, rng, spread=cfg.noise_range)
        val_w = with_observation_noise(val_w, cfg.obs_noise, 1, rng, spread=cfg.noise_range)
    train_w = with_bystanders(train_w, cfg.bystanders, cfg.social_range, rng)
    return tensors_from_windows(train_w, cfg.k, cfg.social_range), tensors_from_windows(val_w, cfg.k, cfg.social_range)


def _fit(net: TrajectoryNet, tr: dict, va: dict, cfg: TrainConfig) -> tuple[dict, int, dict]:
    """Epochs until the validation score has not improved for ``patience`` of them; ``net`` left at its
    best epoch. Returns the history, the best epoch and its validation metrics."""
    step_w = horizon_weights(tr, cfg.horizon_balance)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=max(1, cfg.patience // 3))
    gen = torch.Generator().manual_seed(cfg.seed)
    hist = {"train_loss": [], "train_ade": [], "val_ade": [], "val_fde": [], "val_min_ade": [], "val_min_fde": []}
    best, best_state, best_epoch, best_val, bad = math.inf, None, 0, {}, 0
    from tqdm import tqdm

    bar = tqdm(range(1, cfg.epochs + 1), desc=f"train {cfg.cell}", disable=not cfg.progress, leave=False)
    for epoch in bar:
        loss, ade = _epoch(net, tr, opt, gen, cfg, step_w)
        val = evaluate_tensors(net, va)
        # multimodal nets are chosen on the deterministic and the best mode's error alike
        score = val["ade"] + val["min_ade"]
        sched.step(score)
        hist["train_loss"].append(loss)
        hist["train_ade"].append(ade)
        for key in ("ade", "fde", "min_ade", "min_fde"):
            hist["val_" + key].append(val[key])
        bar.set_postfix(loss=f"{loss:.3f}", val_ade=f"{val['ade']:.3f}", val_min_ade=f"{val['min_ade']:.3f}")
        if score < best - 1e-4:
            best, best_val, best_epoch, bad = score, val, epoch, 0
            best_state = {k2: v.detach().clone() for k2, v in net.state_dict().items()}
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    return hist, best_epoch, best_val


def _epoch(net: TrajectoryNet, tr: dict, opt, gen: torch.Generator, cfg: TrainConfig, step_w: torch.Tensor) -> tuple[float, float]:
    """One pass over the training tensors in a random order; its mean loss and ADE (metres)."""
    net.train()
    n = len(tr["y"])
    perm = torch.randperm(n, generator=gen)
    tot, tot_ade, cnt = 0.0, 0.0, 0
    for i in range(0, n, cfg.batch_size):
        idx = perm[i : i + cfg.batch_size]
        own, nb, y = augment_batch(tr["own"][idx], tr["nb"][idx], tr["y"][idx], cfg.mirror, cfg.rot_deg, gen, cfg.scale_aug)
        loss, dist = loss_fn(net(own, nb, tr["nb_mask"][idx]), y, cfg, step_w)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        tot += loss.item() * len(idx)
        tot_ade += dist.mean(1).sum().item()
        cnt += len(idx)
    return tot / cnt, tot_ade / cnt


def plot_history(history: dict, path: str | Path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = np.arange(1, len(history["train_loss"]) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ep, history["train_loss"], label="train loss")
    ax.plot(ep, history["train_ade"], label="train ADE (m)")
    ax.plot(ep, history["val_ade"], label="val ADE (m)")
    ax.plot(ep, history["val_fde"], label="val FDE (m)")
    if any(history.get("val_min_ade", [])):
        ax.plot(ep, history["val_min_ade"], label="val minADE, all modes (m)")
        ax.plot(ep, history["val_min_fde"], label="val minFDE, all modes (m)")
    ax.set_xlabel("epoch")
    ax.set_title(title or "forecaster training")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
