"""Learned recurrent forecaster (LSTM / GRU / vanilla RNN encoder, direct multi-step Gaussian head).

Pipeline for one batch (all N tracks of a frame in one forward pass):

1. put the observations on the model's native grid (``dt``, ``obs_steps``) if the caller's differs;
2. per track, convert to metres (``scale`` = box height: a person is ``PERSON_HEIGHT_M`` tall) and into
   its *canonical frame*: origin at the last observed point, +x along the last velocity;
3. per step, features of the track (relative position, displacement) and of its k nearest
   neighbours in the same group (relative position and relative displacement);
4. recurrent encoder over the steps; an MLP head outputs, for each future step, a correction to the
   constant-velocity extrapolation (mean) and a standard deviation per axis;
5. back to world/pixel units, and onto the caller's grid if it differs (linear interpolation in time).

Step 4 is this module (torch); steps 1-3 and 5 are numpy in :mod:`trajpipe.forecast.neural` and
:mod:`trajpipe.forecast.features`, shared
with the exported ONNX model's runtime (:mod:`trajpipe.forecast.onnx_runtime`).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ..core.anchors import PERSON_HEIGHT_M
from ..errors import TrajpipeError
from ..resources import existing_file
from .base import OBS_STEPS, PRED_STEPS, STEP_SECONDS
from .neural import NetArrays, NeuralForecaster

CHECKPOINT_FORMAT = "trajpipe-forecaster/1"
CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
# buffers that older checkpoints lack: factors of 1 (before calibration / before the shrinkage towards CV)
UNCALIBRATED_OK = {"sigma_scale", "mode_sigma_scale", "cv_shrink"}


def softplus(x: torch.Tensor) -> torch.Tensor:
    """log(1 + e^x), computed stably. Same values as ``nn.functional.softplus`` (to 1e-6), but built
    from ops with vectorised CPU kernels: torch's own softplus and log1p take 5-8x longer here, which
    for 20 modes' standard deviations was a third of a forecast call."""
    return x.clamp(min=0) + torch.log(1 + torch.exp(-x.abs()))


class NetOutput(NamedTuple):
    """What :class:`TrajectoryNet` returns, all in the canonical frame (metres).

    mean, sigma (B, P, 2): the deterministic forecast (trained on the mean displacement error) and its
    per-step standard deviation. modes, mode_sigma (B, K, P, 2) and logits (B, K): K alternative futures
    with their standard deviations and unnormalised log-probabilities (K = 0 for single-mode models).
    """

    mean: torch.Tensor
    sigma: torch.Tensor
    modes: torch.Tensor
    mode_sigma: torch.Tensor
    logits: torch.Tensor


class TrajectoryNet(nn.Module):
    """Recurrent encoder + direct multi-step heads. Inputs/outputs in the canonical frame (metres).

    own (B, T, 4), nb (B, T, k, 4), nb_mask (B, k) -> :class:`NetOutput`.
    The neighbour features are embedded per neighbour and max-pooled over the k neighbours (so the
    order of neighbours does not matter), then concatenated to the track's own step features.
    One encoding feeds every head: the deterministic forecast, ``modes`` alternative forecasts, a mode
    classifier, and the standard deviations (behind a gradient stop, so they never move the paths).
    """

    def __init__(self, cell: str = "lstm", hidden: int = 64, layers: int = 1, dropout: float = 0.0, k: int = 4,
                 nb_embed: int = 32, obs_steps: int = OBS_STEPS, pred_steps: int = PRED_STEPS, head: str = "gain", modes: int = 0,
                 social_range: float = 0.0, noise_feature: bool = False, pool: str = "max"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if head not in ("residual", "gain"):
            raise ValueError(f"head must be 'residual' or 'gain', got {head!r}")
        if pool not in ("max", "attention"):
            raise ValueError(f"pool must be 'max' or 'attention', got {pool!r}")
        if modes < 0:
            raise ValueError(f"modes must be >= 0, got {modes}")
        # social_range (metres, 0: none) is applied to the inputs by canonical_inputs, which reads it from here
        self.config = dict(cell=cell, hidden=hidden, layers=layers, dropout=dropout, k=k, nb_embed=nb_embed,
                           obs_steps=obs_steps, pred_steps=pred_steps, head=head, modes=modes,
                           social_range=float(social_range), noise_feature=bool(noise_feature), pool=pool)
        self.noise_feature, self.pool = bool(noise_feature), pool
        self.k, self.pred_steps, self.head_type, self.n_modes = k, pred_steps, head, modes
        self.n_out = 3 if head == "gain" else 2
        self.own_embed = nn.Sequential(nn.Linear(4, 32), nn.ReLU())
        self.nb_net = nn.Sequential(nn.Linear(5, nb_embed), nn.ReLU(), nn.Linear(nb_embed, nb_embed), nn.ReLU())
        if pool == "attention":  # one score per neighbour and step; a null slot (score 0, value 0) absorbs the rest
            self.nb_score = nn.Linear(nb_embed + 4, 1)
        self.rnn = CELLS[cell](32 + nb_embed, hidden, num_layers=layers, batch_first=True,
                               dropout=dropout if layers > 1 else 0.0)
        zdim = hidden + 4 + (1 if noise_feature else 0)
        self.head = nn.Sequential(nn.Linear(zdim, 128), nn.ReLU(), nn.Linear(128, pred_steps * self.n_out))
        # sigma sees the encoding through a gradient stop: the NLL shapes sigma only, never the mean
        self.sigma_head = nn.Sequential(nn.Linear(zdim, 64), nn.ReLU(), nn.Linear(64, pred_steps * 2))
        # Per-step factors on the standard deviations, fit on validation data after training so that
        # +-1 and +-2 sigma hold the share of outcomes a Gaussian promises (1 = not calibrated).
        self.register_buffer("sigma_scale", torch.ones(pred_steps))
        self.register_buffer("mode_sigma_scale", torch.ones(pred_steps))
        # Per-step shrinkage of the forecast towards constant velocity, fit on validation data after
        # training: mean = cv + cv_shrink * (net's path - cv) (1 = the net's path as it is).
        self.register_buffer("cv_shrink", torch.ones(pred_steps))
        if modes:
            self.mode_head = nn.Sequential(nn.Linear(zdim, 128), nn.ReLU(),
                                           nn.Linear(128, modes * pred_steps * self.n_out))
            self.mode_logits = nn.Sequential(nn.Linear(zdim, 64), nn.ReLU(), nn.Linear(64, modes))
            self.mode_sigma_head = nn.Sequential(nn.Linear(zdim, 128), nn.ReLU(),
                                                 nn.Linear(128, modes * pred_steps * 2))

    def _paths(self, y: torch.Tensor, cv: torch.Tensor) -> torch.Tensor:
        """Head output (..., P, n_out) -> positions: the constant-velocity path ``cv`` (B, P, 2), times a
        bounded speed gain in (0, 2) for the gain head (saturates off-distribution), plus an offset."""
        if self.head_type == "gain":
            cv = cv * (2.0 * torch.sigmoid(y[..., 2:3]))
        return cv + y[..., :2]

    @staticmethod
    def track_noise(own: torch.Tensor) -> torch.Tensor:
        """How jittery a track is (B, 1): log of the RMS second difference of its observed positions
        (metres per step^2; the first step's displacement is a placeholder and is skipped). A clean
        walker gives a few centimetres, detector jitter of s metres adds about 2.4 s."""
        acc = own[:, 2:, 2:4] - own[:, 1:-1, 2:4]
        return torch.log(acc.pow(2).sum(-1).mean(-1, keepdim=True).sqrt() + 0.01)

    def forward(self, own: torch.Tensor, nb: torch.Tensor, nb_mask: torch.Tensor) -> NetOutput:
        B, T, _ = own.shape
        if self.k > 0:
            dist = nb[..., :2].norm(dim=-1, keepdim=True)  # (B,T,k,1)
            z = self.nb_net(torch.cat([nb, 1.0 / (1.0 + dist)], dim=-1))  # (B,T,k,E)
            m = nb_mask[:, None, :, None]  # (B,1,k,1) weight by distance, 0: no neighbour / beyond the range
            if self.pool == "attention":
                # softmax over the neighbours of score + log(weight), with a null slot of score 0: a
                # neighbour of weight 0 gets attention exactly 0; with none, the pooled vector is 0
                score = self.nb_score(torch.cat([z, own[:, :, None, :].expand(-1, -1, z.shape[2], -1)], dim=-1))
                score = torch.where(m > 0, score + torch.log(m.clamp(min=1e-12)), torch.full_like(score, float("-inf")))
                score = torch.cat([torch.zeros_like(score[:, :, :1]), score], dim=2)  # (B,T,k+1,1)
                att = torch.softmax(score, dim=2)[:, :, 1:]
                pooled = (att * z).sum(dim=2)
            else:
                pooled = (z * m).amax(dim=2)  # features >= 0 after ReLU, so masked zeros are neutral
        else:
            pooled = own.new_zeros(B, T, self.nb_net[-2].out_features)
        x = torch.cat([self.own_embed(own), pooled], dim=-1)
        out, _ = self.rnn(x)
        z = torch.cat([out[:, -1], own[:, -1]], dim=-1)
        if self.noise_feature:
            z = torch.cat([z, self.track_noise(own)], dim=-1)
        v = own[:, -1, 2:4]  # last displacement in canonical frame (= (speed, 0))
        steps = torch.arange(1, self.pred_steps + 1, device=own.device, dtype=own.dtype)
        cv = steps[None, :, None] * v[:, None, :]  # (B, P, 2)
        P, K = self.pred_steps, self.n_modes
        mean = self._paths(self.head(z).view(B, P, -1), cv)
        mean = cv + self.cv_shrink[:, None] * (mean - cv)
        sigma = (softplus(self.sigma_head(z.detach()).view(B, P, 2)) + 1e-3) * self.sigma_scale[:, None]
        if K:
            modes = self._paths(self.mode_head(z).view(B, K, P, -1), cv[:, None])
            logits = self.mode_logits(z)
            mode_sigma = (softplus(self.mode_sigma_head(z.detach()).view(B, K, P, 2)) + 1e-3) * self.mode_sigma_scale[:, None]
        else:
            modes, mode_sigma, logits = own.new_zeros(B, 0, P, 2), own.new_zeros(B, 0, P, 2), own.new_zeros(B, 0)
        return NetOutput(mean, sigma, modes, mode_sigma, logits)


class LSTMForecaster(NeuralForecaster):
    """A trained :class:`TrajectoryNet` behind the :class:`Forecaster` interface (torch runs the network;
    the numpy around it is :class:`~trajpipe.forecast.neural.NeuralForecaster`'s)."""

    name = "lstm"

    def __init__(self, net: TrajectoryNet, dt: float = STEP_SECONDS, meta: dict | None = None,
                 min_track_age: float | None = None, lost_track_ttl: float | None = None):
        self.net = net.eval()
        self.obs_steps = net.config["obs_steps"]
        self.pred_steps = net.config["pred_steps"]
        self.dt = float(dt)
        self.name = net.config["cell"]
        self.meta = dict(meta or {})
        super().__init__(min_track_age, lost_track_ttl)

    # ------------------------------------------------------------------ checkpoint i/o
    def save(self, path: str | Path, extra: dict | None = None) -> None:
        ckpt = {
            "format": CHECKPOINT_FORMAT,
            "config": dict(self.net.config),
            "state_dict": self.net.state_dict(),
            "norm": {"dt": self.dt, "units": "metres", "person_height_m": PERSON_HEIGHT_M, "frame": "canonical"},
            "meta": {**self.meta, **(extra or {})},
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(ckpt, path)

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> "LSTMForecaster":
        path = existing_file(path, "forecaster checkpoint")
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # pickle/zip errors come in many types
            raise TrajpipeError(f"{path} is not a readable trajpipe forecaster checkpoint ({type(e).__name__})") from None
        if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
            raise TrajpipeError(f"{path} is not a trajpipe forecaster checkpoint (missing format tag {CHECKPOINT_FORMAT!r})")
        try:
            net = TrajectoryNet(**ckpt["config"])
            missing, unexpected = net.load_state_dict(ckpt["state_dict"], strict=False)
            if unexpected or set(missing) - UNCALIBRATED_OK:
                raise ValueError(f"missing {missing}, unexpected {unexpected}")
            dt = float(ckpt["norm"]["dt"])
        except Exception as e:
            raise TrajpipeError(f"{path} has an invalid forecaster architecture or weights ({type(e).__name__}: {e})") from None
        return cls(net, dt=dt, meta=ckpt.get("meta", {}))

    # ------------------------------------------------------------------ inference
    file_format = CHECKPOINT_FORMAT

    @property
    def config(self) -> dict:
        return self.net.config

    @property
    def n_neighbours(self) -> int:
        return self.net.k

    @property
    def n_modes(self) -> int:
        return self.net.n_modes

    @torch.no_grad()
    def _run_net(self, own: np.ndarray, nb: np.ndarray, nb_mask: np.ndarray) -> NetArrays:
        out = self.net(torch.from_numpy(own), torch.from_numpy(nb), torch.from_numpy(nb_mask))
        return NetArrays(*(t.numpy() for t in out))
