"""Train a :class:`~trajpipe.forecast.lstm.TrajectoryNet` with validation early stopping.

Loss: mean Euclidean distance between predicted mean and truth over all future steps (the ADE the
benchmark measures) + ``nll_weight`` x Gaussian negative log-likelihood of the truth under the
predicted per-axis sigma, with the mean detached so the NLL only shapes sigma.
Augmentation: random mirror about the canonical x axis (the heading) and an optional random
rotation of the whole canonical frame (``rot_deg``). Because every sample is rotated into its own
heading frame, the model is already invariant to the scene's global orientation.
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

from ..version import __version__
from ..core.anchors import metres_per_unit
from ..core.interp import rotate
from ..forecast.features import canonical_inputs, to_canonical
from ..forecast.lstm import LSTMForecaster, NetOutput, TrajectoryNet
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


def with_observation_noise(w: Windows, sigma_m: float, copies: int, rng: np.random.Generator,
                           spread: bool = False) -> Windows:
    """``copies`` replicas of ``w`` whose observed positions (targets and neighbours alike) carry
    Gaussian jitter of ``sigma_m`` metres per axis, like a detector's boxes on video; futures stay clean.
    Each replica keeps its own groups, so neighbours come from the same replica.
    ``spread``: a range of noise instead of one level: the clean windows are kept as one more replica,
    and in the noisy ones every track gets its own level drawn uniformly in [0, 2 sigma_m]."""
    factor = metres_per_unit(w.scale, len(w.obs))  # metres per unit
    replicas = [w] if spread else []
    for _ in range(copies):
        level = rng.uniform(0.0, 2.0 * sigma_m, len(w.obs))[:, None, None] if spread else sigma_m
        noise = rng.normal(0.0, 1.0, w.obs.shape) * level / factor[:, None, None]
        replicas.append(Windows(w.obs + noise.astype(np.float32), w.fut, w.scale, w.groups, w.is_target))
    return Windows.concat(replicas)


def with_bystanders(w: Windows, share: float, social_range: float, rng: np.random.Generator) -> Windows:
    """``w`` plus, in a random ``share`` of its windows, 1 to 30 extra people at or beyond the social
    range of everyone in the window (1 to 50 ranges beyond the group, one in ten 1 km away), standing
    or walking up to 2 m/s in any direction, as neighbours with no future. Under the range rule they are
    no one's neighbours, so the model is trained on exactly what it sees when far people are in a frame."""
    if share <= 0 or social_range <= 0 or not len(w.obs):
        return w
    T = w.obs.shape[1]
    factor = metres_per_unit(w.scale, len(w.obs))
    order = np.argsort(w.groups, kind="stable")
    bounds = np.flatnonzero(np.diff(w.groups[order])) + 1
    obs_l, sc_l, grp_l = [], [], []
    steps = np.arange(T) - (T - 1)  # last step at 0
    for idx in np.split(order, bounds):
        if rng.random() >= share or not w.is_target[idx].any():
            continue
        f = factor[idx].min()  # metres per unit of the group's smallest scale: far enough for everyone
        last = w.obs[idx, -1].astype(np.float64)
        centre = last.mean(0)
        reach = np.linalg.norm(last - centre, axis=1).max() * factor[idx].max()  # metres
        n = int(rng.integers(1, 31))
        dist = reach + social_range * rng.uniform(1.0, 50.0, n) * 1.001
        dist[rng.random(n) < 0.1] = reach + 1000.0
        ang = rng.uniform(0, 2 * np.pi, n)
        speed = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(0.2, 2.0, n)) * 0.4  # metres per 0.4 s step
        head = rng.uniform(0, 2 * np.pi, n)
        end = np.stack([np.cos(ang), np.sin(ang)], -1) * dist[:, None]
        vel = np.stack([np.cos(head), np.sin(head)], -1) * speed[:, None]
        path = end[:, None] + vel[:, None] * steps[None, :, None]  # metres, relative to the group's centre
        obs_l.append((centre + path / f).astype(np.float32))
        sc_l.append(np.full(n, w.scale[idx[0]], np.float32))
        grp_l.append(np.full(n, w.groups[idx[0]], np.int64))
    if not obs_l:
        return w
    n_new = sum(len(o) for o in obs_l)
    P = w.fut.shape[1]
    return Windows(
        obs=np.concatenate([w.obs, *obs_l]),
        fut=np.concatenate([w.fut, np.full((n_new, P, 2), np.nan, np.float32)]),
        scale=np.concatenate([w.scale, *sc_l]),
        groups=np.concatenate([w.groups, *grp_l]),
        is_target=np.concatenate([w.is_target, np.zeros(n_new, bool)]),
    )


def horizon_weights(data: dict, power: float) -> torch.Tensor:
    """Per-step loss weights (P,), mean 1: (CV's mean error at step t)^-power on ``data``. With
    power 1 every horizon's error counts relative to CV's there, so the 0.4 s forecast (errors of a
    few centimetres) is not drowned by the 4.8 s one (a metre); 0: plain ADE."""
    P = data["y"].shape[1]
    if power <= 0:
        return torch.ones(P)
    steps = torch.arange(1, P + 1, dtype=torch.float32)
    cv = steps[None, :, None] * data["own"][:, -1, None, 2:4]
    err = (cv - data["y"]).norm(dim=-1).mean(0).clamp(min=1e-3)
    w = err.pow(-power)
    return w / w.mean()


def _augment(own, nb, y, mirror: bool, rot_deg: float, gen: torch.Generator, scale_aug: float = 0.0):
    B = own.shape[0]
    if scale_aug > 0:  # stretch the whole sample in space (= a different walking speed)
        f = 1.0 + (torch.rand(B, generator=gen) * 2 - 1) * scale_aug
        own = own * f[:, None, None]; nb = nb * f[:, None, None, None]; y = y * f[:, None, None]
    if mirror:
        sgn = torch.where(torch.rand(B, generator=gen) < 0.5, -1.0, 1.0)
        own = own.clone(); nb = nb.clone(); y = y.clone()
        own[..., 1] *= sgn[:, None]; own[..., 3] *= sgn[:, None]
        nb[..., 1] *= sgn[:, None, None]; nb[..., 3] *= sgn[:, None, None]
        y[..., 1] *= sgn[:, None]
    if rot_deg > 0:
        a = (torch.rand(B, generator=gen) * 2 - 1) * math.radians(rot_deg)
        c, s = torch.cos(a), -torch.sin(a)  # rotate() turns the frame: -a turns the vectors by a

        def rot(v, cc, ss):
            return rotate(v, cc, ss, stack=torch.stack)

        own = torch.cat([rot(own[..., :2], c[:, None], s[:, None]), rot(own[..., 2:], c[:, None], s[:, None])], dim=-1)
        nb = torch.cat([rot(nb[..., :2], c[:, None, None], s[:, None, None]), rot(nb[..., 2:], c[:, None, None], s[:, None, None])], dim=-1)
        y = rot(y, c[:, None], s[:, None])
    return own, nb, y


def gaussian_nll(y: torch.Tensor, mean: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Per-sample Gaussian negative log-likelihood of ``y`` (..., P, 2) summed over steps and axes
    (constant dropped); the mean is detached so that it only shapes sigma."""
    var = sigma**2
    return 0.5 * (((y - mean.detach()) ** 2) / var + torch.log(var)).sum((-1, -2))


def loss_fn(out: NetOutput, y: torch.Tensor, cfg: TrainConfig,
            step_weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Training loss and the deterministic head's per-step errors (B, P).

    Deterministic head: mean Euclidean error (the ADE metric itself). Modes (winner takes all): only
    the mode closest to the truth (by ADE) learns from each sample, plus ``wta_relax`` x the mean of
    all modes' errors so that no mode is left without gradient; the classifier learns which mode wins
    (cross-entropy); each mode's sigma learns the truth's spread around it, weighted by the mode's
    predicted probability, so the most probable mode's sigma describes where the truth falls.
    """
    dist = (out.mean - y).norm(dim=-1)
    loss = (dist * step_weights).mean() if step_weights is not None else dist.mean()
    if cfg.nll_weight > 0:
        loss = loss + cfg.nll_weight * gaussian_nll(y, out.mean, out.sigma).mean() / y.shape[1]
    if out.modes.shape[1]:
        ade = (out.modes - y[:, None]).norm(dim=-1).mean(-1)  # (B, K)
        winner = ade.argmin(dim=1)
        loss = loss + ade.gather(1, winner[:, None]).mean() + cfg.wta_relax * ade.mean()
        loss = loss + cfg.cls_weight * nn.functional.cross_entropy(out.logits, winner)
        if cfg.nll_weight > 0:
            probs = torch.softmax(out.logits.detach(), dim=-1)
            nll = gaussian_nll(y[:, None], out.modes, out.mode_sigma)  # (B, K)
            loss = loss + cfg.nll_weight * (probs * nll).sum(1).mean() / y.shape[1]
    return loss, dist


@torch.no_grad()
def evaluate_tensors(net: TrajectoryNet, data: dict, batch: int = 4096) -> dict[str, float]:
    """Deterministic ADE/FDE and, for multimodal nets, minADE/minFDE over all modes (metres)."""
    net.eval()
    sums, n = {"ade": 0.0, "fde": 0.0, "min_ade": 0.0, "min_fde": 0.0}, 0
    for i in range(0, len(data["y"]), batch):
        out = net(data["own"][i : i + batch], data["nb"][i : i + batch], data["nb_mask"][i : i + batch])
        y = data["y"][i : i + batch]
        d = (out.mean - y).norm(dim=-1)
        sums["ade"] += d.mean(1).sum().item()
        sums["fde"] += d[:, -1].sum().item()
        if out.modes.shape[1]:
            dm = (out.modes - y[:, None]).norm(dim=-1)
            sums["min_ade"] += dm.mean(-1).amin(1).sum().item()
            sums["min_fde"] += dm[..., -1].amin(1).sum().item()
        n += len(d)
    return {key: v / max(n, 1) for key, v in sums.items()}


GAUSSIAN_COVERAGE = (0.6827, 0.9545)  # share within 1 and 2 standard deviations


def _calibration_factors(z: torch.Tensor) -> torch.Tensor:
    """Per-step factors for sigma from normalised errors |y - mean| / sigma (N, P, 2): for each step
    the factor whose +-1 and +-2 sigma shares come closest to a Gaussian's, the larger of the two
    misses minimised over a grid. Walkers' errors have heavier tails than a Gaussian, so no factor
    hits both: this one errs on both sides by the same amount."""
    grid = torch.exp(torch.linspace(np.log(0.2), np.log(5.0), 241))
    z = z.transpose(0, 1).reshape(z.shape[1], -1)  # (P, N*2)
    share1 = (z[None] <= grid[:, None, None]).float().mean(-1)  # (G, P)
    share2 = (z[None] <= 2 * grid[:, None, None]).float().mean(-1)
    miss = torch.maximum((share1 - GAUSSIAN_COVERAGE[0]).abs(), (share2 - GAUSSIAN_COVERAGE[1]).abs())
    return grid[miss.argmin(0)]


@torch.no_grad()
def fit_cv_shrink(net: TrajectoryNet, *datasets: dict) -> None:
    """Fit the net's per-step shrinkage towards constant velocity on validation tensors: for each future
    step the factor in [0, 1] (grid of 0.02) of ``cv + factor * (net's path - cv)`` whose error relative
    to CV's is lowest on the worst of ``datasets`` (with one data set: the lowest mean displacement
    error). Where the net adds nothing to CV (0.4 s ahead on smooth hand-annotated tracks) the factor
    goes to 0 and the forecast there is CV's; 1 keeps the path. Several data sets, e.g. clean and
    jittered tracks, make no kind of input worse than CV at any step."""
    net.eval()
    net.cv_shrink.fill_(1.0)
    grid = torch.linspace(0, 1, 51)
    worst = None
    for data in datasets:
        out = net(data["own"], data["nb"], data["nb_mask"])
        steps = torch.arange(1, out.mean.shape[1] + 1, dtype=out.mean.dtype)
        cv = steps[None, :, None] * data["own"][:, -1, None, 2:4]
        err = torch.stack([(cv + g * (out.mean - cv) - data["y"]).norm(dim=-1).mean(0) for g in grid])  # (G, P)
        ratio = err / (cv - data["y"]).norm(dim=-1).mean(0).clamp(min=1e-9)
        worst = ratio if worst is None else torch.maximum(worst, ratio)
    net.cv_shrink.copy_(grid[worst.argmin(0)])


@torch.no_grad()
def calibrate_sigma(net: TrajectoryNet, data: dict) -> None:
    """Fit the net's per-step sigma factors on ``data`` (validation tensors): the deterministic
    forecast's sigma, and the modes' sigma as seen from the most probable mode."""
    net.eval()
    net.sigma_scale.fill_(1.0)
    net.mode_sigma_scale.fill_(1.0)
    out = net(data["own"], data["nb"], data["nb_mask"])
    y = data["y"]
    net.sigma_scale.copy_(_calibration_factors((out.mean - y).abs() / out.sigma))
    if out.modes.shape[1]:
        top = out.logits.argmax(1)[:, None, None, None].expand(-1, 1, *out.modes.shape[2:])
        z = (out.modes.gather(1, top)[:, 0] - y).abs() / out.mode_sigma.gather(1, top)[:, 0]
        net.mode_sigma_scale.copy_(_calibration_factors(z))


def train(train_w: Windows, val_w: Windows, cfg: TrainConfig, log=print, init: dict | None = None) -> TrainResult:
    """Train on ``train_w``, early-stop on validation ADE of ``val_w``; returns the best model.
    ``init``: optional state dict to start from (fine-tuning)."""
    torch.set_num_threads(max(1, int(cfg.threads)))
    seed_everything(cfg.seed)
    t0 = time.time()
    rng = np.random.default_rng(cfg.seed)
    clean_val = val_w
    if cfg.obs_noise > 0:
        train_w = with_observation_noise(train_w, cfg.obs_noise, cfg.noise_copies, rng, spread=cfg.noise_range)
        val_w = with_observation_noise(val_w, cfg.obs_noise, 1, rng, spread=cfg.noise_range)  # same kind of input
    train_w = with_bystanders(train_w, cfg.bystanders, cfg.social_range, rng)
    tr = tensors_from_windows(train_w, cfg.k, cfg.social_range)
    va = tensors_from_windows(val_w, cfg.k, cfg.social_range)
    step_w = horizon_weights(tr, cfg.horizon_balance)
    net = TrajectoryNet(cell=cfg.cell, hidden=cfg.hidden, layers=cfg.layers, dropout=cfg.dropout, k=cfg.k,
                        nb_embed=cfg.nb_embed, obs_steps=cfg.obs_steps, pred_steps=cfg.pred_steps, head=cfg.head,
                        modes=cfg.modes, social_range=cfg.social_range, noise_feature=cfg.noise_feature, pool=cfg.pool)
    if init is not None:
        net.load_state_dict(init)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=max(1, cfg.patience // 3))
    gen = torch.Generator().manual_seed(cfg.seed)
    n = len(tr["y"])
    hist = {"train_loss": [], "train_ade": [], "val_ade": [], "val_fde": [], "val_min_ade": [], "val_min_fde": []}
    best, best_state, best_epoch, best_val, bad = math.inf, None, 0, {}, 0
    try:
        from tqdm import tqdm

        bar = tqdm(range(1, cfg.epochs + 1), desc=f"train {cfg.cell}", disable=not cfg.progress, leave=False)
    except ImportError:  # pragma: no cover
        bar = range(1, cfg.epochs + 1)
    for epoch in bar:
        net.train()
        perm = torch.randperm(n, generator=gen)
        tot, tot_ade, cnt = 0.0, 0.0, 0
        for i in range(0, n, cfg.batch_size):
            idx = perm[i : i + cfg.batch_size]
            own, nb, y = _augment(tr["own"][idx], tr["nb"][idx], tr["y"][idx], cfg.mirror, cfg.rot_deg, gen, cfg.scale_aug)
            loss, dist = loss_fn(net(own, nb, tr["nb_mask"][idx]), y, cfg, step_w)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            tot += loss.item() * len(idx)
            tot_ade += dist.mean(1).sum().item()
            cnt += len(idx)
        val = evaluate_tensors(net, va)
        # multimodal nets are chosen on the deterministic and the best mode's error alike
        score = val["ade"] + val["min_ade"]
        sched.step(score)
        hist["train_loss"].append(tot / cnt)
        hist["train_ade"].append(tot_ade / cnt)
        for key in ("ade", "fde", "min_ade", "min_fde"):
            hist["val_" + key].append(val[key])
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{tot / cnt:.3f}", val_ade=f"{val['ade']:.3f}", val_min_ade=f"{val['min_ade']:.3f}")
        if score < best - 1e-4:
            best, best_val, best_epoch, bad = score, val, epoch, 0
            best_state = {k2: v.detach().clone() for k2, v in net.state_dict().items()}
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    if cfg.cv_shrink:
        # fit on clean tracks and, with obs_noise, jittered ones too (without it, va holds the clean ones)
        shrink = [va] if cfg.obs_noise <= 0 else [
            tensors_from_windows(w, cfg.k, cfg.social_range) for w in
            (clean_val, with_observation_noise(clean_val, cfg.obs_noise, 1, np.random.default_rng(cfg.seed + 1)))]
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
