"""The training loss and the validation metrics.

Loss: mean Euclidean distance between predicted mean and truth over all future steps (the ADE the
benchmark measures), optionally weighted per step (:func:`horizon_weights`), + ``nll_weight`` x
Gaussian negative log-likelihood of the truth under the predicted per-axis sigma, with the mean
detached so the NLL only shapes sigma; modes learn winner-takes-all (:func:`loss_fn`).
"""

from __future__ import annotations

import torch
from torch import nn

from ..forecast.lstm import NetOutput, TrajectoryNet
from .train_config import TrainConfig


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
