"""Refit a trained checkpoint's shrinkage towards CV (and then its sigma calibration) on validation data,
without touching the network's weights: what `trajpipe train` now does after training, for a checkpoint
trained before it fitted the shrinkage on clean and jittered tracks together.

    python benchmarks/refit_cv_shrink.py CHECKPOINT [--data ../shared/data/eth_ucy] [--obs-noise 0.04] [--out PATH]

The shrinkage is fit per step on the validation files of every scene as annotated and with --obs-noise
metres of jitter (the worse of the two, relative to CV, is minimised: trajpipe.training.calibration.fit_cv_shrink);
sigma is then recalibrated on the validation files with noise levels spread over [0, 2 x obs-noise], as
training validated. Writes the checkpoint with a note in its meta (default: in place).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from common import REPO  # noqa: F401  (puts trajpipe on the path)
from trajpipe.forecast.lstm import LSTMForecaster  # noqa: E402
from trajpipe.training.data import eth_ucy_files, load_eth_ucy  # noqa: E402
from trajpipe.training.augment import with_observation_noise  # noqa: E402
from trajpipe.training.calibration import calibrate_sigma, fit_cv_shrink  # noqa: E402
from trajpipe.training.train import tensors_from_windows  # noqa: E402
from trajpipe.training.windows import Windows, make_windows  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--data", default="../shared/data/eth_ucy")
    parser.add_argument("--obs-noise", type=float, default=0.04)
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    forecaster = LSTMForecaster.from_checkpoint(args.checkpoint)
    net, k, social_range = forecaster.net, forecaster.n_neighbours, forecaster.social_range
    val = Windows.concat([make_windows(load_eth_ucy(f)) for f in eth_ucy_files(args.data, None, "val")])
    noisy = with_observation_noise(val, args.obs_noise, 1, np.random.default_rng(1))
    before = net.cv_shrink.clone()
    fit_cv_shrink(net, tensors_from_windows(val, k, social_range), tensors_from_windows(noisy, k, social_range))
    spread = with_observation_noise(val, args.obs_noise, 1, np.random.default_rng(0), spread=True)
    calibrate_sigma(net, tensors_from_windows(spread, k, social_range))
    print("shrinkage towards CV per step:", " ".join(f"{x:.2f}" for x in before.tolist()), "->",
          " ".join(f"{x:.2f}" for x in net.cv_shrink.tolist()))
    forecaster.save(args.out or args.checkpoint, extra={"cv_shrink_refit": (
        f"benchmarks/refit_cv_shrink.py: fit on the validation files clean and with {args.obs_noise:g} m jitter")})


if __name__ == "__main__":
    main()
