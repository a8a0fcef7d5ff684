"""Experiment loop of issue 15: train one leave-one-out fold with TrainConfig overrides and print its
validation metrics (ADE/FDE vs CV, error/CV at 0.4/1.2/2.4/4.8 s, best of 20, calibration), with and
without the shrinkage towards CV.

    python benchmarks/forecast_fold.py NAME FOLD '{"social_range": 10}'

Writes runs/forecast_fold/NAME_FOLD.pt. Validation files only (the test files are for the final tables)."""
import sys, json, time
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
import numpy as np, torch
torch.set_num_threads(1)
from trajpipe.forecast.cv import ConstantVelocityForecaster
from trajpipe.training.data import eth_ucy_files, load_eth_ucy, load_tables
from trajpipe.training.train import train
from trajpipe.training.train_config import TrainConfig
from trajpipe.training.windows import Windows, make_windows
from pathlib import Path

def val_report(fc, w, label):
    pred, sig, modes = fc.predict_batch(w.obs, dt=0.4, groups=w.groups, k=20)
    cvp = ConstantVelocityForecaster().predict(w.obs, dt=0.4)
    t = w.is_target; y = w.fut[t]
    e = np.linalg.norm(pred[t] - y, axis=-1); c = np.linalg.norm(cvp[t] - y, axis=-1)
    dm = np.linalg.norm(modes.points[t] - y[:, None], axis=-1)
    ratios = [e[:, s].mean() / c[:, s].mean() for s in (0, 2, 5, 11)]
    z = np.abs(modes.points[t, 0] - y) / modes.sigma[t, 0]
    cov = [(z[:, s] <= n).mean() for s in (2, 11) for n in (1, 2)]
    print(f"{label}: ADE {e.mean():.4f} FDE {e[:, -1].mean():.4f} (CV {c.mean():.4f}/{c[:, -1].mean():.4f}, FDE {e[:, -1].mean()/c[:, -1].mean()-1:+.1%}) "
          f"err/CV 0.4/1.2/2.4/4.8 s {' '.join(f'{r:.3f}' for r in ratios)} | min20 {dm.mean(-1).min(1).mean():.4f}/{dm[..., -1].min(1).mean():.4f} "
          f"| cover 1.2s {cov[0]:.2f}/{cov[1]:.2f} 4.8s {cov[2]:.2f}/{cov[3]:.2f}", flush=True)

name, fold, over = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
root = over.pop("root", str(Path(__file__).resolve().parents[2] / "shared" / "data") + "/eth_ucy")
cfg = TrainConfig(progress=False, threads=1, **over)
sdd = sorted(Path(str(Path(__file__).resolve().parents[2] / "shared" / "data") + "/trajnet_sdd").glob("*.txt"))
extra = [make_windows(t) for t in load_tables(sdd)]
tr = Windows.concat([make_windows(load_eth_ucy(f)) for f in eth_ucy_files(root, fold, "train")] + extra)
va = Windows.concat([make_windows(load_eth_ucy(f)) for f in eth_ucy_files(root, fold, "val")])
res = train(tr, va, cfg, log=lambda m: print(m, flush=True))
out = Path(__file__).resolve().parents[1] / "runs" / "forecast_fold" / f"{name}_{fold}.pt"
res.forecaster.save(out, extra={"scene_left_out": fold})
val_report(res.forecaster, va, f"[{name} {fold}] val")
keep = res.forecaster.net.cv_shrink.clone(); res.forecaster.net.cv_shrink.fill_(1.0)
val_report(res.forecaster, va, f"[{name} {fold}] val, no shrink")
res.forecaster.net.cv_shrink.copy_(keep)
