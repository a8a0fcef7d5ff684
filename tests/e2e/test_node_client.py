"""examples/node (a Node.js client written from docs/deploy.md alone) reproduces trajpipe's `predict` on
real ETH/UCY tracks: in metres and in pixels, on the model's 0.4 s grid and on a 0.3 s one."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from trajpipe import Forecaster
from trajpipe.forecast.lstm import LSTMForecaster
from trajpipe.training.evaluate import scene_windows

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

REPO = Path(__file__).resolve().parents[2]
CLIENT = REPO / "examples" / "node"
DATA = REPO.parent / "shared" / "data" / "eth_ucy"
TOL = 1e-4  # metres (pixel errors times each track's metres per pixel)
SCENES = ("eth",)  # 1,994 tracks: every row of every test window (the 364 targets and their neighbours)


@pytest.fixture(scope="module")
def node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed")
    if not (CLIENT / "node_modules" / "onnxruntime-node").is_dir():
        pytest.skip("examples/node has no node_modules: cd examples/node && ONNXRUNTIME_NODE_INSTALL=skip npm ci "
                    "(make test does it where npm exists)")
    return node


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """The default checkpoint exported as trajpipe export writes it (with model.onnx.json beside it)."""
    from trajpipe.training.export import export_onnx

    path = tmp_path_factory.mktemp("node") / "forecaster.onnx"
    export_onnx(LSTMForecaster.from_checkpoint(REPO / "weights" / "forecaster.pt"), path)
    return path


@pytest.fixture(scope="module")
def windows():
    if not all((DATA / scene / "test").is_dir() for scene in SCENES):
        pytest.skip(f"ETH/UCY data not available at {DATA}")
    parts = [scene_windows(DATA, scene) for scene in SCENES]
    obs = np.concatenate([w.obs for w in parts])
    groups = np.concatenate([w.groups + 1_000_000 * n for n, w in enumerate(parts)])  # windows stay apart
    return obs, groups


def on_grid(obs: np.ndarray, dt: float) -> np.ndarray:
    """(N, 8, 2) tracks at 0.4 s -> the same tracks sampled every ``dt`` s over as much of their span,
    ending at their last point (linear interpolation)."""
    times = 0.4 * np.arange(obs.shape[1])
    steps = int(np.floor(times[-1] / dt + 1e-9)) + 1
    instants = times[-1] - dt * np.arange(steps - 1, -1, -1)
    return np.stack([np.stack([np.interp(instants, times, o[:, d]) for d in (0, 1)], -1) for o in obs]).astype(np.float32)


def run_client(node: str, model: Path, tmp_path: Path, obs, dt, scale, groups, modes: int) -> list[dict]:
    tracks = [{"obs": o.tolist(), "scale": None if scale is None else float(h)}
              for o, h in zip(obs, scale if scale is not None else [None] * len(obs))]
    (tmp_path / "input.json").write_text(json.dumps({"dt": dt, "groups": groups.tolist(), "modes": modes, "tracks": tracks}))
    proc = subprocess.run([node, "predict.js", str(model), str(tmp_path / "input.json"), str(tmp_path / "output.json")],
                          cwd=CLIENT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads((tmp_path / "output.json").read_text())["forecasts"]


@pytest.mark.parametrize("units", ["metres", "pixels"])
@pytest.mark.parametrize("dt", [0.4, 0.3])
def test_node_client_reproduces_predict(node, model, windows, tmp_path, units, dt):
    """``predict`` (the mean) within 1e-4 m; also the sigmas and the 3 most probable modes, as
    ``predict_batch(k=3)`` gives them (modes equally probable to 1e-5 may come in either order)."""
    obs, groups = windows
    obs = on_grid(obs, dt) if dt != 0.4 else obs
    metres_per_unit, scale = np.ones(len(obs)), None
    if units == "pixels":  # each track seen by a camera of its own: box heights of 50-300 px
        scale = np.random.default_rng(0).uniform(50, 300, len(obs))
        metres_per_unit = 1.75 / scale
        obs = (obs / metres_per_unit[:, None, None]).astype(np.float32)
    assert len(obs) >= 1000
    python = Forecaster.load(model)
    expected = python.predict(obs, dt=dt, scale=scale, groups=groups)
    mean, sigma, modes = python.predict_batch(obs, dt=dt, scale=scale, groups=groups, k=3)
    got = run_client(node, model, tmp_path, obs, dt, scale, groups, modes=3)

    def metres(a: np.ndarray, rows=slice(None)) -> np.ndarray:  # per-track largest difference, in metres
        return np.abs(a[rows]).reshape(len(a[rows]), -1).max(axis=1) * metres_per_unit[rows]

    error = metres(np.array([f["mean"] for f in got]) - expected).max()
    assert expected.shape == (len(obs), int(np.floor(4.8 / dt + 1e-6)), 2)
    sigma_error = metres(np.array([f["sigma"] for f in got]) - sigma).max()
    probs = np.array([[m["p"] for m in f["modes"]] for f in got])
    points = np.array([[m["path"] for m in f["modes"]] for f in got])
    ties = (np.abs(np.diff(modes.probs, axis=1)) < 1e-5).any(axis=1)  # rows whose order may differ
    mode_error = metres(points - modes.points, ~ties).max()
    print(f"{units}, dt {dt}: {len(obs)} tracks, max error: mean {error:.2e} m, sigma {sigma_error:.2e} m, "
          f"modes {mode_error:.2e} m ({ties.sum()} rows with tied modes left out), probabilities "
          f"{np.abs(probs - modes.probs).max():.1e}")
    assert error <= TOL and sigma_error <= TOL and mode_error <= TOL
    np.testing.assert_allclose(probs, modes.probs, atol=1e-5)
    assert ties.sum() < 0.01 * len(obs)
