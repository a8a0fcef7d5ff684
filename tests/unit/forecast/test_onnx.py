"""The ONNX export: same forecasts as torch, loadable without torch, clear errors on bad files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import trajpipe
from trajpipe import Config, Forecaster, TrajpipeError
from trajpipe.app.cli import main
from trajpipe.forecast.base import ModeBatch
from trajpipe.training.evaluate import scene_windows
from trajpipe.training.export import export_onnx
from trajpipe.forecast.lstm import LSTMForecaster, TrajectoryNet
from trajpipe.forecast.onnx_runtime import OnnxForecaster

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

REPO = Path(__file__).resolve().parents[3]
DATA = REPO.parent / "shared" / "data" / "eth_ucy"
TOL = 1e-4  # metres (pixels divided by the metres-per-pixel factor where the input is in pixels)


def random_net(cell: str, modes: int, **architecture) -> LSTMForecaster:
    torch.manual_seed(0)
    return LSTMForecaster(TrajectoryNet(cell=cell, hidden=16, k=4, modes=modes, **architecture))


MODELS = {  # name -> torch forecaster factory; shipped ones are skipped where not trained
    "random lstm, 3 modes": lambda: random_net("lstm", 3),
    "random gru, single mode": lambda: random_net("gru", 0),
    "random rnn, 3 modes": lambda: random_net("rnn", 3),
    # dropout between layers: the export must leave the torch model in eval mode
    "random lstm, 2 layers": lambda: random_net("lstm", 2, layers=2, dropout=0.5),
    "weights/eth_ucy/eth.pt": lambda: LSTMForecaster.from_checkpoint(REPO / "weights" / "eth_ucy" / "eth.pt"),
    "weights/forecaster.pt": lambda: LSTMForecaster.from_checkpoint(REPO / "weights" / "forecaster.pt"),
}


@pytest.fixture(scope="module", params=list(MODELS))
def pair(request, tmp_path_factory) -> tuple[LSTMForecaster, OnnxForecaster]:
    name = request.param
    if name.startswith("weights/") and not (REPO / name).is_file():
        pytest.skip(f"{name} not trained yet")
    reference = MODELS[name]()
    path = tmp_path_factory.mktemp("onnx") / "forecaster.onnx"
    assert export_onnx(reference, path) <= TOL
    assert not reference.net.training
    return reference, Forecaster.load(path)


@pytest.fixture(scope="module")
def multimodal_onnx(tmp_path_factory) -> tuple[LSTMForecaster, Path]:
    reference = random_net("lstm", 3)
    path = tmp_path_factory.mktemp("onnx") / "multimodal.onnx"
    export_onnx(reference, path)
    return reference, path


@pytest.fixture(scope="module")
def windows():
    if not (DATA / "eth" / "test").is_dir():
        pytest.skip("ETH/UCY data not available")
    return scene_windows(DATA, "eth")


def assert_modes_close(a, b, atol):
    """Same modes in the same order, except where two modes are equally probable (to float precision):
    their order may differ between runtimes, so such rows are compared as sets."""
    np.testing.assert_allclose(b.probs, a.probs, atol=1e-5)
    diff = np.abs(b.points - a.points).max(axis=(2, 3))
    for i in np.flatnonzero((diff > atol).any(axis=1)):
        for j in np.flatnonzero(diff[i] > atol):
            same_prob = np.flatnonzero(np.abs(a.probs[i] - b.probs[i, j]) < 1e-5)
            assert min(np.abs(b.points[i, j] - a.points[i, m]).max() for m in same_prob) <= atol, (i, j)
            assert min(np.abs(b.sigma[i, j] - a.sigma[i, m]).max() for m in same_prob) <= atol, (i, j)
    same = diff <= atol
    np.testing.assert_allclose(b.sigma[same], a.sigma[same], atol=atol)


def test_attributes_follow_the_checkpoint(pair):
    reference, exported = pair
    for name in ("dt", "obs_steps", "pred_steps", "n_neighbours", "n_modes", "name"):
        assert getattr(exported, name) == getattr(reference, name), name
    assert exported.session.get_session_options().intra_op_num_threads == 1


def per_track(values: np.ndarray, a: np.ndarray) -> np.ndarray:
    """(N,) values broadcast over the trailing axes of ``a`` (N, ...)."""
    return values.reshape(-1, *[1] * (a.ndim - 1))


def test_same_forecasts_as_torch_on_eth_ucy(pair, windows):
    """Metres with neighbours, pixels (box heights as scale) and a 0.2 s grid, single tracks and batches."""
    reference, exported = pair
    w = windows
    heights = np.random.default_rng(0).uniform(50, 300, len(w.obs))
    m_per_px = 1.75 / heights
    fine = np.stack([np.stack([np.interp(np.arange(15) * 0.2, np.arange(8) * 0.4, o[:, d]) for d in (0, 1)], -1)
                     for o in w.obs]).astype(np.float32)
    ones = np.ones(len(w.obs))
    cases = [  # (inputs, metres per output unit for each track)
        (dict(obs=w.obs, groups=w.groups), ones),
        (dict(obs=w.obs / per_track(m_per_px, w.obs), scale=heights, groups=w.groups), m_per_px),
        (dict(obs=fine, dt=0.2, groups=w.groups), ones),
        (dict(obs=w.obs[:1]), ones[:1]),
    ]
    for inputs, metres in cases:
        results = [f.predict_batch(**inputs, k=20) for f in (reference, exported)]
        (mean_a, sigma_a, modes_a), (mean_b, sigma_b, modes_b) = [
            [per_track(metres, a) * a for a in (mean, sigma)]
            + [ModeBatch(per_track(metres, modes.points) * modes.points, modes.probs,
                             per_track(metres, modes.sigma) * modes.sigma)]
            for mean, sigma, modes in results]
        np.testing.assert_allclose(mean_b, mean_a, atol=TOL)
        np.testing.assert_allclose(sigma_b, sigma_a, atol=TOL)
        assert_modes_close(modes_a, modes_b, TOL)
    np.testing.assert_allclose(exported.predict(w.obs, groups=w.groups), reference.predict(w.obs, groups=w.groups), atol=TOL)
    a, b = reference.predict_modes(w.obs, k=3), exported.predict_modes(w.obs, k=3)
    assert b.points.shape == (len(w.obs), 3, 12, 2)
    assert_modes_close(a, b, TOL)
    assert exported.predict(np.zeros((0, 8, 2))).shape == (0, 12, 2)


def test_stateful_api(multimodal_onnx):
    reference, path = multimodal_onnx
    exported = Forecaster.load(path)
    for forecaster in (reference, exported):
        for step in range(10):
            forecaster.update(1, 0.4 * step, [0.5 * step, 0.0])
            forecaster.update(2, 0.4 * step, [3.0, 0.3 * step])
    a, b = reference.forecast_all(), exported.forecast_all()
    assert set(a) == set(b) == {1, 2}
    for track_id in a:
        np.testing.assert_allclose(b[track_id].points, a[track_id].points, atol=TOL)


def test_bad_numbers_are_refused_as_by_torch(multimodal_onnx):
    """The export shares the checks of every forecaster (tests/unit/forecast/test_bad_numbers.py)."""
    exported = Forecaster.load(multimodal_onnx[1])
    obs = np.cumsum(np.full((3, 8, 2), 0.4, np.float32), axis=1)
    obs[1, 2, 0] = np.inf
    with pytest.raises(ValueError, match="obs rows 1 "):
        exported.predict_modes(obs, groups=np.zeros(3, int), k=3)
    with pytest.raises(ValueError, match="dt must be a positive"):
        exported.predict(obs[[0, 2]], dt=0.0)


def test_threads_and_pipeline_load_path(multimodal_onnx):
    from trajpipe.registry import forecaster_from_config as load_forecaster

    _, path = multimodal_onnx
    assert OnnxForecaster(path, threads=2).session.get_session_options().intra_op_num_threads == 2
    assert isinstance(load_forecaster(Config(forecaster=str(path))), OnnxForecaster)


def test_bad_onnx_files_are_one_line_errors(multimodal_onnx, tmp_path):
    _, path = multimodal_onnx
    text = tmp_path / "text.onnx"
    text.write_text("not a model\n")
    checkpoint = tmp_path / "checkpoint.onnx"  # a torch checkpoint under the wrong name
    random_net("lstm", 0).save(checkpoint)
    foreign = tmp_path / "foreign.onnx"  # a valid ONNX model without trajpipe's metadata
    model = onnx.load(path)
    del model.metadata_props[:]
    onnx.save(model, foreign)
    cases = {tmp_path / "missing.onnx": "forecaster checkpoint not found", text: "is not a readable ONNX model",
             checkpoint: "is not a readable ONNX model", foreign: "is not a trajpipe forecaster export"}
    for bad, message in cases.items():
        with pytest.raises(TrajpipeError, match=message) as err:
            Forecaster.load(bad)
        assert "\n" not in str(err.value)


def test_export_command(capsys, tmp_path):
    checkpoint = tmp_path / "model.pt"
    random_net("gru", 3).save(checkpoint)
    out = tmp_path / "model.onnx"
    assert main(["export", "--forecaster", str(checkpoint), "--format", "onnx", "--out", str(out)]) == 0
    assert f"saved {out}" in capsys.readouterr().out
    assert Forecaster.load(out).n_modes == 3
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []
    # the custom metadata also as JSON beside the model, for runtimes that cannot read it (onnxruntime-node)
    sidecar = json.loads((tmp_path / "model.onnx.json").read_text())
    assert sidecar == Forecaster.load(out).session.get_modelmeta().custom_metadata_map
    assert sidecar["modes"] == "3" and sidecar["person_height_m"] == "1.75"
    capsys.readouterr()
    assert main(["info", str(out)]) == 0  # the export says what it is and carries the checkpoint's notes
    info = capsys.readouterr().out
    assert "format: trajpipe-forecaster-onnx/2\narchitecture: gru, hidden 16" in info and "modes: 3\n" in info
    assert f"exported by: trajpipe {trajpipe.__version__}, torch" in info

    out.write_bytes(b"previous export")
    text = tmp_path / "text.pt"
    text.write_text("not a checkpoint\n")
    cases = [
        (["--forecaster", str(tmp_path / "nope.pt"), "--out", str(out)], "forecaster checkpoint not found"),
        (["--forecaster", str(text), "--out", str(out)], "not a readable trajpipe forecaster checkpoint"),
        (["--forecaster", str(checkpoint), "--out", str(tmp_path / "no_dir" / "m.onnx")], "directory does not exist"),
        (["--forecaster", str(checkpoint), "--out", str(tmp_path / "m.pt")], "--out must end in .onnx"),
        (["--forecaster", str(checkpoint), "--out", str(tmp_path)], "must end in .onnx"),
    ]
    for args, message in cases:
        assert main(["export", *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("trajpipe: error:") and message in err[0], err
    assert out.read_bytes() == b"previous export"
