"""Loaders, windows, baselines (CV, Kalman) and the train/eval commands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from trajpipe import Forecaster, TrajpipeError
from trajpipe.training.data import load_eth_ucy, load_jsonl, load_mot
from trajpipe.training.windows import make_windows
from trajpipe.forecast.kalman import KalmanForecaster

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "eth_ucy"


def straight(n=4, T=8, seed=0):
    rng = np.random.default_rng(seed)
    p0, v = rng.uniform(-5, 5, (n, 1, 2)), rng.uniform(-1, 1, (n, 1, 2))
    t = np.arange(T + 12)[None, :, None]
    full = p0 + v * t
    return full[:, :T].astype(np.float32), full[:, T:].astype(np.float32)


def test_cv_exact_on_straight_lines():
    obs, fut = straight()
    pred = Forecaster.load("cv").predict(obs)
    assert pred.shape == (4, 12, 2) and pred.dtype == np.float32
    np.testing.assert_allclose(pred, fut, atol=1e-4)


def test_kalman_exact_on_straight_lines():
    obs, fut = straight()
    mean, sigma = KalmanForecaster().predict_with_sigma(obs)
    np.testing.assert_allclose(mean, fut, atol=1e-3)
    assert (np.diff(sigma[..., 0], axis=1) > 0).all()  # uncertainty grows with the horizon


def test_eth_ucy_loader(tmp_path):
    f = tmp_path / "s.txt"
    rows = [f"{fr}\t{pid}\t{x:.2f}\t{0.5 * pid:.2f}" for pid in (1, 2) for fr, x in ((10 * i + 100, 0.3 * i) for i in range(22))]
    f.write_text("\n".join(rows) + "\n")
    t = load_eth_ucy(f)
    assert t.pos.shape == (22, 2, 2)
    w = make_windows(t)
    assert len(w) == 6 and w.obs.shape[1:] == (8, 2) and w.fut.shape[1:] == (12, 2)
    np.testing.assert_allclose(np.diff(w.obs[0, :, 0]), 0.3, atol=1e-5)
    bad = tmp_path / "bad.txt"
    bad.write_text("hello world\n")
    with pytest.raises(TrajpipeError):
        load_eth_ucy(bad)


def test_mot_loader_uses_bottom_centre_and_resamples(tmp_path):
    f = tmp_path / "gt.txt"
    fps = 10.0
    lines = [f"{fr},7,{100 + 2 * fr},{50},{20},{80},1,1,1" for fr in range(1, 101)]
    lines.append("5,9,0,0,10,10,0,1,1")  # ignored box (conf 0)
    f.write_text("\n".join(lines) + "\n")
    t = load_mot(f, fps=fps)
    assert t.pos.shape[1] == 1
    np.testing.assert_allclose(t.pos[0, 0], [100 + 2 + 10, 50 + 80])  # bottom centre of the first box
    np.testing.assert_allclose(np.diff(t.pos[:, 0, 0]), 2 * fps * 0.4)  # 8 px per 0.4 s
    np.testing.assert_allclose(t.scale[:, 0], 80)
    with pytest.raises(TrajpipeError):
        load_mot(f, fps=None)


def test_jsonl_loader(tmp_path):
    f = tmp_path / "run.jsonl"
    with open(f, "w") as fh:
        for i in range(60):
            ts = i / 15.0 + (0.01 if i % 3 == 0 else 0.0)  # slightly irregular timestamps
            tracks = [{"id": 1, "class": "person", "conf": 0.9, "box": [10 + ts * 30, 20, 30 + ts * 30, 120]},
                      {"id": 2, "class": "car", "conf": 0.9, "box": [0, 0, 10, 10]}]
            fh.write(json.dumps({"frame": i, "timestamp": ts, "tracks": tracks}) + "\n")
    t = load_jsonl(f)
    assert t.pos.shape[1] == 1  # only persons
    np.testing.assert_allclose(np.diff(t.pos[:, 0, 0]), 30 * 0.4, atol=1e-6)
    np.testing.assert_allclose(t.scale[:, 0], 100)
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(TrajpipeError):
        load_jsonl(tmp_path / "bad.jsonl")


def _parser():
    from trajpipe.training.commands import register

    p = argparse.ArgumentParser()
    register(p.add_subparsers(dest="command"))
    return p


def test_commands_train_on_jsonl_and_errors(tmp_path, capsys):
    f = tmp_path / "run.jsonl"
    rng = np.random.default_rng(0)
    with open(f, "w") as fh:
        for i in range(300):
            ts = i * 0.2
            tracks = []
            for k in range(4):
                x = 100 * k + 20 * ts * (1 + 0.2 * k) + rng.normal(0, 0.5)
                tracks.append({"id": k, "class": "person", "conf": 0.9, "box": [x, 100 + 10 * k, x + 30, 190 + 10 * k]})
            fh.write(json.dumps({"frame": i, "timestamp": ts, "tracks": tracks}) + "\n")
    out = tmp_path / "ft.pt"
    args = _parser().parse_args(["train", "--format", "jsonl", "--data", str(f), "--out", str(out), "--epochs", "2",
                                 "--hidden", "16", "--quiet"])
    assert args.func(args) == 0
    assert out.is_file() and (tmp_path / "ft_loss.png").is_file()
    fc = Forecaster.load(out)
    assert fc.predict(np.zeros((2, 8, 2)) + np.arange(8)[None, :, None], scale=[90, 90]).shape == (2, 12, 2)
    # the checkpoint records the code version, the date and every training file (`trajpipe info` prints them)
    from trajpipe import __version__
    from trajpipe.forecast.info import checkpoint_info

    info = checkpoint_info(out)
    assert info["trajpipe version"] == __version__ and info["trained"][:4].isdigit()
    assert info["training data"].startswith(f"{f} (jsonl)") and fc.meta["extra_train"] == [
        str(p) for p in sorted(Path("../shared/data/trajnet_sdd").glob("*.txt"))]
    args = _parser().parse_args(["train", "--data", str(tmp_path / "nope"), "--out", str(out)])
    with pytest.raises(TrajpipeError):
        args.func(args)


@pytest.mark.skipif(not (DATA / "zara1" / "test").is_dir(), reason="ETH/UCY data not available")
def test_cv_numbers_on_eth_ucy():
    """Our evaluation reproduces the known constant-velocity numbers (0.53 m / 1.15 m on average)."""
    from trajpipe.training.evaluate import ConstantVelocityForecaster, ade_fde, scene_windows

    ade, fde = ade_fde(ConstantVelocityForecaster(), scene_windows(DATA, "zara1"))
    assert abs(ade - 0.427) < 0.01 and abs(fde - 0.952) < 0.01


def test_commands_eval_on_tiny_scene(tmp_path, capsys):
    from trajpipe.forecast.lstm import LSTMForecaster, TrajectoryNet

    root = tmp_path / "eth_ucy"
    (root / "s1" / "test").mkdir(parents=True)
    rows = [f"{10 * i}\t{pid}\t{0.3 * i + pid:.2f}\t{0.1 * i * pid:.2f}" for pid in (1, 2, 3) for i in range(25)]
    (root / "s1" / "test" / "s1.txt").write_text("\n".join(rows) + "\n")
    LSTMForecaster(TrajectoryNet(hidden=8)).save(tmp_path / "s1.pt")
    out = tmp_path / "eval"
    args = _parser().parse_args(["eval", "--data", str(root), "--scenes", "s1", "--model", f"lstm={tmp_path}/{{scene}}.pt",
                                 "--out", str(out), "--default-model", str(tmp_path / "s1.pt"), "--video", "none"])
    assert args.func(args) == 0
    res = json.loads((out / "eval_eth_ucy.json").read_text())
    methods = res["versions"]["eth_ucy"]["methods"]
    assert set(methods) == {"cv", "kalman", "lstm"}
    assert methods["cv"]["s1"]["fde"] < 1e-4 and methods["cv"]["s1"]["min_fde_20"] < 1e-4  # straight lines
    lstm = methods["lstm"]["avg"]
    assert lstm["min_ade_20"] <= lstm["min_ade_3"] and lstm["min_fde_20"] <= lstm["min_fde_3"]
    assert 0 <= lstm["cover1_4.8s"] <= lstm["cover2_4.8s"] <= 1 and "cover1_1.2s" not in methods["cv"]["avg"]
    assert (out / "eval_eth_ucy.png").is_file()
    printed = capsys.readouterr().out
    assert "beats CV" in printed and "default model: error / CV" in printed
    assert set(res["default_model"]) == {"clean", "jitter 0.04 m"}  # no video: no detector tracks
    assert res["default_model"]["clean"]["s1"]["windows"] > 0
    args = _parser().parse_args(["eval", "--data", str(root), "--scenes", "s1", "--model", "x=/nope/{scene}.pt"])
    with pytest.raises(TrajpipeError):
        args.func(args)


def test_eval_says_where_to_get_missing_data_and_checkpoints(tmp_path, capsys, monkeypatch):
    """Where an installed trajpipe runs (no repository, no ../shared): one line for each, saying where."""
    monkeypatch.chdir(tmp_path)
    args = _parser().parse_args(["eval", "--scenes", "eth"])
    with pytest.raises(TrajpipeError, match=r"data directory not found: .*github.com/agrimgupta92/sgan") as err:
        args.func(args)
    assert "\n" not in str(err.value)
    skipped = capsys.readouterr().err.strip().splitlines()
    assert len(skipped) == 1 and skipped[0].startswith("skipping lstm, gru, rnn, lstm-v1: weights/eth_ucy/eth.pt")
    assert "the leave-one-out checkpoints are in the trajpipe repository's weights/eth_ucy/" in skipped[0]


def test_observation_noise_replicas_jitter_observations_only():
    from trajpipe.training.windows import Windows
    from trajpipe.training.augment import with_observation_noise

    n, rng = 400, np.random.default_rng(1)
    obs = np.zeros((n, 8, 2), np.float32)
    w = Windows(obs, np.ones((n, 12, 2), np.float32), np.full(n, 175.0, np.float32),  # pixels: 1 px = 1 cm
                np.arange(n) // 4, np.ones(n, bool))
    noisy = with_observation_noise(w, 0.05, copies=2, rng=rng)
    assert len(noisy.obs) == 2 * n and np.array_equal(noisy.fut, np.concatenate([w.fut, w.fut]))
    assert abs(noisy.obs.std() - 5.0) < 0.2  # 5 cm of jitter = 5 px at 175 px per person height
    assert set(noisy.groups[:n]).isdisjoint(noisy.groups[n:])  # neighbours stay within a replica


def test_extra_training_data_defaults_to_sdd_where_it_exists(tmp_path, monkeypatch, capsys):
    from trajpipe.training.commands import DEFAULT_EXTRA_TRAIN, _extra_train_files

    monkeypatch.chdir(tmp_path)  # no ../shared here, as on a user's machine: a note, no error
    assert _extra_train_files(None) == [] and DEFAULT_EXTRA_TRAIN in capsys.readouterr().err
    sdd = tmp_path / "mine"
    sdd.mkdir()
    (sdd / "a.txt").write_text("0 1 0.0 0.0\n")
    assert _extra_train_files([str(sdd)]) == [sdd / "a.txt"] and _extra_train_files(["none"]) == []
    with pytest.raises(TrajpipeError, match="not found"):
        _extra_train_files([str(tmp_path / "missing")])


ETH_04 = DATA.parent / "eth_ucy_0.4s" / "eth" / "test"


def test_eth_ucy_grid_index_starts_a_new_run_after_every_gap():
    from trajpipe.training.data import eth_ucy_grid_index

    # step 6; after the gap the frame numbers are offset by 3 (half a step), as in the 0.4 s ETH file
    frames = np.array([0, 6, 12, 18, 18 + 57, 18 + 63, 18 + 69, 18 + 75])
    idx = eth_ucy_grid_index(frames)
    np.testing.assert_array_equal(idx, [0, 1, 2, 3, 13, 14, 15, 16])  # 57/6 = 9.5 -> 10 steps on; no merge
    # a gap of one missing annotation (two steps) stays an empty grid row, as with a single grid
    np.testing.assert_array_equal(eth_ucy_grid_index(np.array([10, 20, 40, 50])), [0, 1, 3, 4])
    # every gap leaves at least one empty row, even when it is shorter than a step
    np.testing.assert_array_equal(eth_ucy_grid_index(np.array([0, 6, 9, 15])), [0, 1, 3, 4])


@pytest.mark.skipif(not ETH_04.is_dir(), reason="ETH at its true 0.4 s step not available")
def test_eth_04s_test_file_loads_without_merging_frames():
    from trajpipe.training.data import eth_ucy_grid_index

    for f in sorted(ETH_04.glob("*.txt")):
        a = np.loadtxt(f, ndmin=2)
        idx = eth_ucy_grid_index(a[:, 0])
        frames = np.unique(a[:, 0])
        per_frame = {}
        for fr, i in zip(a[:, 0], idx):
            per_frame.setdefault(i, set()).add(fr)
        assert all(len(v) == 1 for v in per_frame.values()), "two distinct frames on one grid index"
        assert len(per_frame) == len(frames)
        # the gaps of this file put frames at three different offsets mod 6: all of them are kept
        assert len(set((frames - frames[0]) % 6)) == 3
        t = load_eth_ucy(f)
        assert int(np.isfinite(t.pos[..., 0]).sum()) == len(np.unique(a[:, :2], axis=0))  # no row overwritten
        # consecutive grid indices are one step (6 frames = 0.4 s) apart, never across a gap
        order = np.argsort(idx)
        fi, ii = a[order, 0], idx[order]
        one = np.diff(ii) == 1
        assert (np.diff(fi)[one] == 6).all()
        assert len(make_windows(t)) == 2614  # every pedestrian with 20 consecutive annotated frames
