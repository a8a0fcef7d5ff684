"""The neighbour search within the social range: the same neighbours as comparing every pair, in
about linear time (benchmarks/forecast_scaling.py measures the time)."""

import numpy as np
import pytest

from trajpipe import Forecaster
from trajpipe.forecast import neural
from trajpipe.forecast.features import canonical_inputs, nearest_neighbours, social_weight


def crowd(n, density=0.5, seed=0):
    rng = np.random.default_rng(seed)
    side = np.sqrt(n / density)
    start = rng.uniform(0, side, (n, 1, 2))
    return start + rng.normal(0, 0.3, (n, 1, 2)) * np.arange(8)[None, :, None] + rng.normal(0, 0.02, (n, 8, 2))


def every_pair(points, factor, k, social_range):
    """The reference: all distances, sorted; neighbours at or beyond the range count as none."""
    dist = np.linalg.norm(points[:, None] - points[None], axis=-1) * factor[:, None]
    np.fill_diagonal(dist, np.inf)
    nn = np.argsort(dist, axis=1, kind="stable")[:, :k]
    d = np.take_along_axis(dist, nn, axis=1)
    return np.where(d < social_range, nn, -1), np.where(d < social_range, d, np.inf)


@pytest.mark.parametrize("n, k", [(2, 4), (5, 4), (299, 4), (400, 4), (400, 8), (2000, 4)])
def test_same_neighbours_as_every_pair(n, k):
    points = crowd(n)[:, -1]
    factor = np.random.default_rng(1).uniform(0.5, 2.0, n)  # each track in its own metres per unit
    kk = min(k, n - 1)
    got, got_d = nearest_neighbours(points, factor, kk, 10.0)
    want, want_d = every_pair(points, factor, kk, 10.0)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(got_d, want_d, rtol=1e-12)


def test_no_position_no_neighbour():
    points = crowd(400)[:, -1]
    points[3] = np.nan
    nn, dist = nearest_neighbours(points, np.ones(400), 4, 10.0)
    assert (nn[3] == -1).all() and not (nn == 3).any() and np.isinf(dist[3]).all()


def test_inputs_equal_the_every_pair_rule():
    obs = crowd(300)
    factor = np.random.default_rng(2).uniform(0.8, 1.2, 300)
    inp = canonical_inputs(obs, factor, np.zeros(300, int), 4, 10.0)
    nn, dist = every_pair(obs[:, -1], factor, 4, 10.0)
    np.testing.assert_allclose(inp["nb_mask"], np.where(nn >= 0, social_weight(dist, 10.0), 0), atol=1e-7)
    rel = obs[np.maximum(nn, 0), -1] - obs[:, None, -1]  # (N, k, 2) at the last step, obs units
    np.testing.assert_allclose(np.linalg.norm(inp["nb"][:, -1, :, :2], axis=-1),
                               np.where(nn >= 0, np.linalg.norm(rel, axis=-1) * factor[:, None], 0), atol=1e-4)


def test_forecasts_do_not_depend_on_the_network_block(monkeypatch):
    forecaster = Forecaster.load("weights/forecaster.pt")
    obs = crowd(1500).astype(np.float32)
    blocked = forecaster.predict(obs, dt=0.4, groups=np.zeros(1500, int))
    monkeypatch.setattr(neural, "NET_BLOCK", 10**6)
    whole = forecaster.predict(obs, dt=0.4, groups=np.zeros(1500, int))
    assert np.abs(blocked - whole).max() < 1e-5
