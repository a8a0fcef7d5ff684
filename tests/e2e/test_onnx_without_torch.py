"""An exported forecaster in a fresh interpreter where torch and Ultralytics cannot be imported."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from trajpipe.forecast.lstm import LSTMForecaster, TrajectoryNet
from trajpipe.training.export import export_onnx

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

REPO = Path(__file__).resolve().parents[2]
TOL = 1e-4


@pytest.fixture(scope="module")
def multimodal_onnx(tmp_path_factory) -> tuple[LSTMForecaster, Path]:
    torch.manual_seed(0)
    reference = LSTMForecaster(TrajectoryNet(cell="lstm", hidden=16, k=4, modes=3))
    path = tmp_path_factory.mktemp("onnx") / "multimodal.onnx"
    export_onnx(reference, path)
    return reference, path


def test_runs_without_torch_or_ultralytics(multimodal_onnx, tmp_path):
    """A fresh interpreter where importing torch or Ultralytics fails, as where they are not installed."""
    reference, path = multimodal_onnx
    obs = np.cumsum(np.random.default_rng(1).normal(0.3, 0.1, (5, 8, 2)), axis=1).astype(np.float32)
    np.save(tmp_path / "obs.npy", obs)
    script = (
        "import sys, json\n"
        "sys.modules['torch'] = sys.modules['ultralytics'] = None  # any import of them raises ImportError\n"
        "import numpy as np\n"
        "from trajpipe import Forecaster\n"
        f"f = Forecaster.load({str(path)!r})\n"
        f"obs = np.load({str(tmp_path / 'obs.npy')!r})\n"
        "mean, sigma, modes = f.predict_batch(obs, groups=np.zeros(5, int), k=3)\n"
        "f.update(7, 0.0, [0.0, 0.0]); f.update(7, 0.4, [0.5, 0.0]); f.update(7, 0.8, [1.0, 0.0])\n"
        "print(json.dumps({'mean': mean.tolist(), 'modes': modes.points.tolist(), 'live': list(f.forecast_all()),\n"
        "                  'grid': [f.dt, f.obs_steps, f.pred_steps]}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    mean, _, modes = reference.predict_batch(obs, groups=np.zeros(5, int), k=3)
    np.testing.assert_allclose(result["mean"], mean, atol=TOL)
    np.testing.assert_allclose(result["modes"], modes.points, atol=TOL)
    assert result["live"] == [7] and result["grid"] == [0.4, 8, 12]


