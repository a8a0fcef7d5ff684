"""After training, on validation tensors: the per-step shrinkage of the forecast towards constant
velocity, and the per-step factors that make the predicted sigmas cover the truth as a Gaussian's would."""

from __future__ import annotations

import numpy as np
import torch

from ..forecast.lstm import TrajectoryNet


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
