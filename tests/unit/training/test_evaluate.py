"""The default model's error / CV per horizon, on clean and jittered windows."""

import numpy as np

from trajpipe.forecast.cv import ConstantVelocityForecaster
from trajpipe.training.data import TrackTable
from trajpipe.training.evaluate import RATIO_HORIZONS, _horizon_ratios, with_jitter
from trajpipe.training.windows import make_windows


def walkers() -> "Windows":
    t = np.arange(40) * 0.4
    pos = np.stack([np.stack([1.2 * t + k, 0.3 * t * (k % 3) - k], -1) for k in range(6)], 1)  # (F, M, 2) metres
    return make_windows(TrackTable("walk", pos, np.full(pos.shape[:2], np.nan), 0.4))


def test_cv_against_itself_is_one_at_every_horizon():
    ratios = _horizon_ratios(ConstantVelocityForecaster(), with_jitter(walkers(), 0.05))
    assert ratios["windows"] > 0
    np.testing.assert_allclose([ratios[f"ratio_{h:g}s"] for h in RATIO_HORIZONS], 1.0)


def test_jitter_moves_the_observations_only():
    w = walkers()
    noisy = with_jitter(w, 0.04, seed=1)
    assert 0.02 < np.abs(noisy.obs - w.obs).mean() < 0.06
    np.testing.assert_array_equal(noisy.fut, w.fut)
