"""Contracts of the learned forecaster: shapes, invariances, resampling, training, checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from trajpipe import Forecaster, TrajpipeError
from trajpipe.training.data import TrackTable
from trajpipe.training.windows import Windows, make_windows
from trajpipe.forecast.lstm import LSTMForecaster, TrajectoryNet
from trajpipe.training.train import TrainConfig, train

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "eth_ucy"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def model() -> LSTMForecaster:
    torch.manual_seed(0)
    return LSTMForecaster(TrajectoryNet(cell="lstm", hidden=16, k=4))


def random_walkers(n=6, T=8, seed=0):
    rng = np.random.default_rng(seed)
    start = rng.uniform(-5, 5, size=(n, 1, 2))
    vel = rng.normal(0, 0.3, size=(n, 1, 2))
    t = np.arange(T)[None, :, None]
    return (start + vel * t + rng.normal(0, 0.02, size=(n, T, 2))).astype(np.float32)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_predict_shapes_and_dtype(cell):
    fc = LSTMForecaster(TrajectoryNet(cell=cell, hidden=16))
    obs = random_walkers(5)
    for groups in (None, np.zeros(5, int), np.array([0, 0, 1, 1, 2])):
        mean, sigma = fc.predict_with_sigma(obs, groups=groups)
        assert mean.shape == (5, 12, 2) and sigma.shape == (5, 12, 2)
        assert mean.dtype == np.float32 and sigma.dtype == np.float32
        assert np.isfinite(mean).all() and (sigma > 0).all()
    assert fc.predict(obs).shape == (5, 12, 2)
    assert fc.predict(np.zeros((0, 8, 2))).shape == (0, 12, 2)
    with pytest.raises(ValueError):
        fc.predict(np.zeros((3, 8)))


def test_translation_invariance(model):
    obs = random_walkers(6)
    g = np.zeros(6, int)
    a = model.predict(obs, groups=g)
    b = model.predict(obs + np.array([123.0, -45.0], np.float32), groups=g)
    np.testing.assert_allclose(b - np.array([123.0, -45.0]), a, atol=2e-3)


def test_rotation_invariance(model):
    obs = random_walkers(6).astype(np.float64)
    g = np.zeros(6, int)
    th = 0.7
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    a = model.predict(obs, groups=g)
    b = model.predict(obs @ R.T, groups=g)
    np.testing.assert_allclose(b, a @ R.T, atol=2e-3)


def test_pixel_scale_equivalent_to_metres(model):
    """A track in pixels with box height h behaves like the same track in metres scaled by 1.75/h."""
    obs_m = random_walkers(4)
    h = np.array([100.0, 200.0, 50.0, 80.0])
    obs_px = obs_m * (h / 1.75)[:, None, None]
    a = model.predict(obs_m)  # alone: no cross-track unit mixing
    b = model.predict(obs_px, scale=h)
    np.testing.assert_allclose(b / (h / 1.75)[:, None, None], a, atol=2e-3)


def test_other_dt_is_resampled(model):
    """Observations at 0.2 s are resampled to the model's 0.4 s grid; output comes back at 0.2 s."""
    obs04 = random_walkers(3, T=8)
    # same motion sampled twice as often (linear interpolation of the 0.4 s track, 15 points)
    t04 = np.arange(8) * 0.4
    t02 = np.arange(15) * 0.2
    obs02 = np.stack([np.stack([np.interp(t02, t04, o[:, d]) for d in range(2)], -1) for o in obs04]).astype(np.float32)
    p04 = model.predict(obs04, dt=0.4)
    p02 = model.predict(obs02, dt=0.2)
    assert p02.shape == (3, 24, 2)
    np.testing.assert_allclose(p02[:, 1::2], p04, atol=1e-3)


def test_irregular_timestamps_resample():
    from trajpipe.forecast import resample_track

    times = np.array([0.0, 0.13, 0.5, 0.61, 1.3, 1.31, 2.0])
    pts = np.stack([2 * times + 1, -times], axis=1)  # uniform motion, irregular sampling
    out = resample_track(times, pts, dt=0.4, steps=4)
    grid = 2.0 - 0.4 * np.arange(3, -1, -1)
    np.testing.assert_allclose(out, np.stack([2 * grid + 1, -grid], 1), atol=1e-9)
    # before the first sample the first position is held
    out = resample_track(times[3:], pts[3:], dt=0.4, steps=8)
    np.testing.assert_allclose(out[0], pts[3])


def test_batched_resampling_matches_one_track_at_a_time():
    from trajpipe.forecast import resample_track
    from trajpipe.core.interp import resample_tracks

    rng = np.random.default_rng(0)
    tracks = []
    for length in (1, 2, 5, 40, 3):  # a single sample, tracks shorter and longer than the grid
        times = np.sort(rng.uniform(0, rng.uniform(0.2, 6.0), length)) + rng.uniform(0, 1000)
        tracks.append((times, rng.normal(size=(length, 2))))
    out = resample_tracks(np.concatenate([t for t, _ in tracks]), np.concatenate([p for _, p in tracks]),
                          np.array([len(t) for t, _ in tracks]), dt=0.4, steps=8)
    expected = np.stack([resample_track(t, p, dt=0.4, steps=8) for t, p in tracks])
    np.testing.assert_allclose(out, expected, atol=1e-9)


def test_checkpoint_round_trip(tmp_path, model):
    path = tmp_path / "m.pt"
    model.save(path, extra={"note": "test"})
    loaded = Forecaster.load(path)
    assert isinstance(loaded, LSTMForecaster) and loaded.meta["note"] == "test"
    obs = random_walkers(4)
    np.testing.assert_allclose(loaded.predict(obs, groups=np.zeros(4, int)), model.predict(obs, groups=np.zeros(4, int)), atol=1e-6)


def test_corrupt_and_wrong_checkpoints(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(TrajpipeError):
        Forecaster.load(bad)
    wrong = tmp_path / "wrong.pt"
    torch.save({"weights": torch.zeros(3)}, wrong)
    with pytest.raises(TrajpipeError):
        Forecaster.load(wrong)
    truncated = tmp_path / "trunc.pt"
    LSTMForecaster(TrajectoryNet(hidden=8)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(TrajpipeError):
        Forecaster.load(truncated)
    with pytest.raises(TrajpipeError):
        Forecaster.load(tmp_path / "missing.pt")


def synthetic_table(seed: int, F: int = 160, M: int = 30) -> TrackTable:
    """Walkers that turn smoothly (constant angular rate): CV is wrong, a learned model can do better."""
    rng = np.random.default_rng(seed)
    pos = np.full((F, M, 2), np.nan)
    for m in range(M):
        start = rng.integers(0, F - 25)
        length = rng.integers(20, 60)
        p = rng.uniform(-8, 8, 2)
        th, w, v = rng.uniform(0, 2 * np.pi), rng.choice([-1, 1]) * rng.uniform(0.08, 0.15), rng.uniform(0.3, 0.5)
        for t in range(start, min(F, start + length)):
            pos[t, m] = p
            th += w
            p = p + v * np.array([np.cos(th), np.sin(th)])
    return TrackTable(f"synth{seed}", pos, np.full((F, M), np.nan), 0.4)


def test_tiny_training_run_reduces_val_loss():
    tr = Windows.concat([make_windows(synthetic_table(s)) for s in range(3)])
    va = Windows.concat([make_windows(synthetic_table(10))])
    cfg = TrainConfig(hidden=32, epochs=6, patience=10, batch_size=64, lr=3e-3, progress=False)
    res = train(tr, va, cfg, log=lambda *_: None)
    hist = res.history["val_ade"]
    assert hist[-1] < hist[0] * 0.8, hist
    assert res.best_val_ade == min(hist)


def test_windows_targets_and_neighbours():
    pos = np.full((25, 3, 2), np.nan)
    pos[:, 0] = np.arange(25)[:, None] * [1.0, 0.0]  # present throughout: target
    pos[6:, 1] = 3.0  # appears late (19 frames): never a target, a neighbour
    pos[:10, 2] = 1.0  # leaves early
    w = make_windows(TrackTable("t", pos, np.full((25, 3), np.nan), 0.4))
    assert w.is_target.sum() == 6  # 25 - 20 + 1 windows of track 0
    assert np.isfinite(w.obs).all()
    first = w.groups == 0  # window 0..19: track 1 present at step 7 (frame 7), track 2 too
    assert first.sum() == 3
    assert np.isnan(w.fut[~w.is_target]).all()


@pytest.mark.skipif(not (DATA / "zara1" / "test").is_dir(), reason="ETH/UCY data not available")
def test_shipped_checkpoint_on_real_data():
    from trajpipe.training.evaluate import ConstantVelocityForecaster, ade_fde, scene_windows

    ckpt = REPO / "weights" / "eth_ucy" / "zara1.pt"
    if not ckpt.is_file():
        pytest.skip("weights/eth_ucy/zara1.pt not trained yet")
    w = scene_windows(DATA, "zara1")
    lstm = ade_fde(Forecaster.load(ckpt), w)
    cv = ade_fde(ConstantVelocityForecaster(), w)
    assert lstm[1] < cv[1]


def test_shipped_forecaster_on_pixel_walk():
    """The default checkpoint on a pixel track (box height as scale): keeps heading and roughly the pace."""
    ckpt = REPO / "weights" / "forecaster.pt"
    if not ckpt.is_file():
        pytest.skip("weights/forecaster.pt not trained yet")
    fc = Forecaster.load(ckpt)
    h = 170.0  # px; 1.3 m/s = 126 px/s at this size
    v = np.array([0.8, -0.6]) * 1.3 * h / 1.75
    obs = (np.array([400.0, 300.0]) + v * 0.4 * np.arange(8)[:, None])[None].astype(np.float32)
    mean, sigma = fc.predict_with_sigma(obs, dt=0.4, scale=[h])
    cv_disp = v * 4.8
    disp = mean[0, -1] - obs[0, -1]
    along = disp @ cv_disp / (cv_disp @ cv_disp)
    lateral = abs(disp[0] * cv_disp[1] - disp[1] * cv_disp[0]) / (cv_disp @ cv_disp)
    assert 0.6 < along < 1.3 and lateral < 0.1, (along, lateral)
    assert (sigma[0, -1] > sigma[0, 0]).all()


def test_predict_modes_shapes_order_and_probabilities():
    torch.manual_seed(1)
    fc = LSTMForecaster(TrajectoryNet(hidden=16, modes=6))
    obs = random_walkers(5)
    modes = fc.predict_modes(obs, groups=np.zeros(5, int), k=4)
    assert modes.points.shape == (5, 4, 12, 2) and modes.sigma.shape == (5, 4, 12, 2)
    assert modes.probs.shape == (5, 4) and np.allclose(modes.probs.sum(1), 1, atol=1e-5)
    assert (np.diff(modes.probs, axis=1) <= 1e-7).all()  # most probable first
    # the top 4 are the first 4 of all 6, in the same order
    every = fc.predict_modes(obs, groups=np.zeros(5, int), k=6)
    np.testing.assert_allclose(every.points[:, :4], modes.points, atol=1e-6)
    # more modes asked for than the model has: the best one repeated with probability 0
    many = fc.predict_modes(obs, k=20)
    assert many.points.shape == (5, 20, 12, 2) and (many.probs[:, 6:] == 0).all()
    np.testing.assert_allclose(many.points[:, 6], many.points[:, 0])
    # the modes move with the observations (translation invariance, like predict)
    shifted = fc.predict_modes(obs + np.float32(50.0), groups=np.zeros(5, int), k=4)
    np.testing.assert_allclose(shifted.points - 50.0, modes.points, atol=2e-3)
    assert fc.predict_modes(np.zeros((0, 8, 2)), k=3).points.shape == (0, 3, 12, 2)


def test_predict_modes_on_another_time_grid_and_in_pixels():
    torch.manual_seed(2)
    fc = LSTMForecaster(TrajectoryNet(hidden=16, modes=3))
    obs = random_walkers(4, T=16)  # 0.2 s steps
    modes = fc.predict_modes(obs, dt=0.2, k=3)
    assert modes.points.shape == (4, 3, 24, 2)  # the same 4.8 s horizon on the caller's grid
    native = fc.predict_modes(obs[:, 1::2], dt=0.4, k=3)
    np.testing.assert_allclose(modes.points[:, :, 1::2], native.points, atol=1e-4)
    # pixels with box heights: 100 px = 1.75 m, so the same walk at 1/1.75 m per 100 px
    px = fc.predict_modes(obs * 100 / 1.75, scale=np.full(4, 100.0), k=3)
    metres = fc.predict_modes(obs, k=3)
    np.testing.assert_allclose(px.points * 1.75 / 100, metres.points, atol=1e-3)


def test_single_mode_forecasters_repeat_their_forecast():
    obs = random_walkers(3)
    cv = Forecaster.load("cv").predict_modes(obs, k=20)
    assert cv.points.shape == (3, 20, 12, 2) and cv.sigma is None
    assert np.array_equal(cv.probs[:, 0], np.ones(3)) and not cv.probs[:, 1:].any()
    np.testing.assert_allclose(cv.points[:, 7], Forecaster.load("cv").predict(obs))
    single = LSTMForecaster(TrajectoryNet(hidden=8))  # a checkpoint of the previous version: no modes
    one = single.predict_modes(obs, k=1)
    np.testing.assert_allclose(one.points[:, 0], single.predict(obs))
    with pytest.raises(ValueError):
        single.predict_modes(obs, k=0)


def test_winner_takes_all_training_spreads_the_modes():
    """People at a fork: half turn left, half right. One forecast cannot be right for both; the
    modes must find both branches, each with about half of the probability."""
    rng = np.random.default_rng(0)
    n = 600
    t_obs, t_fut = np.arange(8), np.arange(8, 20)
    obs = np.zeros((n, 8, 2)); obs[..., 0] = 0.5 * t_obs
    side = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    fut = np.zeros((n, 12, 2)); fut[..., 0] = 0.5 * t_fut
    fut[..., 1] = side[:, None] * 0.3 * (t_fut - 7)
    obs = obs + rng.normal(0, 0.01, obs.shape)
    w = Windows(obs.astype(np.float32), fut.astype(np.float32), np.full(n, np.nan, np.float32), np.arange(n), np.ones(n, bool))
    cfg = TrainConfig(hidden=16, modes=4, epochs=25, patience=25, progress=False, mirror=False, scale_aug=0.0, lr=3e-3)
    res = train(w, w, cfg, log=lambda *_: None)
    modes = res.forecaster.predict_modes(obs[:50].astype(np.float32), k=2)
    ends_y = modes.points[:, :, -1, 1]  # the two most probable modes' final lateral positions
    assert (np.sort(ends_y, axis=1)[:, 0] < -2.0).all() and (np.sort(ends_y, axis=1)[:, 1] > 2.0).all()
    assert (np.abs(modes.probs - 0.5) < 0.15).all()


@pytest.mark.parametrize("pool", ["max", "attention"])
def test_people_beyond_the_social_range_change_nothing(pool):
    """Far people are no neighbours by construction: the forecast with them equals the forecast without
    them (to float rounding: a bigger batch may take other kernels), in metres and in pixels; nearer
    people weigh by distance."""
    from trajpipe.forecast.features import canonical_inputs, social_weight

    torch.manual_seed(0)
    fc = LSTMForecaster(TrajectoryNet(hidden=16, k=4, modes=3, social_range=8.0, noise_feature=True, pool=pool))
    t = np.arange(8) * 0.4
    walker = np.stack([1.3 * t, np.zeros(8)], -1).astype(np.float32)
    alone = fc.predict(walker[None], dt=0.4)[0]
    rng = np.random.default_rng(1)
    for others in ([np.tile([2.0, 8.5], (8, 1))], [np.tile([0.0, 1000.0], (8, 1))],
                   [np.tile(p + np.sign(p) * 9, (8, 1)) for p in rng.uniform(-1, 1, (40, 2)) * 100],
                   [np.stack([20 - 1.3 * t, np.full(8, 9.0)], -1)]):
        obs = np.stack([walker] + others).astype(np.float32)
        out = fc.predict(obs, dt=0.4, groups=np.zeros(len(obs), int))[0]
        np.testing.assert_allclose(out, alone, atol=1e-5)
    near = np.stack([walker, np.tile([3.0, 1.0], (8, 1))]).astype(np.float32)
    assert np.abs(fc.predict(near, dt=0.4, groups=[0, 0])[0] - alone).max() > 0  # a near person does count
    # pixels: 60 px per person height (1.75 m); 9 m away = 308 px, beyond the 8 m range
    px = (walker * 60 / 1.75).astype(np.float32)
    a = fc.predict(px[None], dt=0.4, scale=np.array([60.0]))[0]
    b = fc.predict(np.stack([px, np.tile([0, 308.0], (8, 1))]).astype(np.float32), dt=0.4,
                   scale=np.array([60.0, 60.0]), groups=[0, 0])[0]
    np.testing.assert_allclose(a, b, atol=1e-4)
    # the weights: 1 at 0, falling smoothly, 0 from the range on
    wts = social_weight(np.array([0.0, 2.0, 4.0, 7.9, 8.0, 1e3]), 8.0)
    assert wts[0] == 1 and (np.diff(wts) <= 0).all() and wts[3] > 0 and wts[4] == 0 and wts[5] == 0
    inp = canonical_inputs(np.stack([walker, walker + [0, 3.0], walker + [0, 9.0]]), np.ones(3), np.zeros(3, int), 4, 8.0)
    np.testing.assert_allclose(inp["nb_mask"][0], [social_weight(3.0, 8.0), 0, 0, 0], rtol=1e-6)
    assert not inp["nb"][0, :, 1:].any()


def test_training_windows_get_far_bystanders_that_are_no_neighbours():
    from trajpipe.training.augment import with_bystanders
    from trajpipe.training.train import tensors_from_windows

    w = make_windows(synthetic_table(0))
    more = with_bystanders(w, 1.0, 8.0, np.random.default_rng(0))
    assert len(more.obs) > len(w.obs) and len(more) == len(w)
    a, b = tensors_from_windows(w, 4, 8.0), tensors_from_windows(more, 4, 8.0)
    for key in ("own", "nb", "nb_mask", "y"):
        torch.testing.assert_close(a[key], b[key])
