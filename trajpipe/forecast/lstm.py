"""Learned recurrent forecaster (LSTM / GRU / vanilla RNN encoder, direct multi-step Gaussian head).

Pipeline for one batch (all N tracks of a frame in one forward pass):

1. put the observations on the model's native grid (``dt``, ``obs_steps``) if the caller's differs;
2. per track, convert to metres (``scale`` = box height -> 1.75 m / height metres per unit) and into
   its *canonical frame*: origin at the last observed point, +x along the last velocity;
3. per step, features of the track (relative position, displacement) and of its k nearest
   neighbours in the same group (relative position and relative displacement);
4. recurrent encoder over the steps; an MLP head outputs, for each future step, a correction to the
   constant-velocity extrapolation (mean) and a standard deviation per axis;
5. back to world/pixel units, and onto the caller's grid if it differs (linear interpolation in time).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ..errors import TrajpipeError
from .base import Forecaster, ForecastModes
from .data import canonical_inputs, scale_to_factor
from .resample import resample_track

CHECKPOINT_FORMAT = "trajpipe-forecaster/1"
CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
UNCALIBRATED_OK = {"sigma_scale", "mode_sigma_scale"}  # checkpoints from before calibration: factors of 1


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
                 nb_embed: int = 32, obs_steps: int = 8, pred_steps: int = 12, head: str = "gain", modes: int = 0):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if head not in ("residual", "gain"):
            raise ValueError(f"head must be 'residual' or 'gain', got {head!r}")
        if modes < 0:
            raise ValueError(f"modes must be >= 0, got {modes}")
        self.config = dict(cell=cell, hidden=hidden, layers=layers, dropout=dropout, k=k, nb_embed=nb_embed,
                           obs_steps=obs_steps, pred_steps=pred_steps, head=head, modes=modes)
        self.k, self.pred_steps, self.head_type, self.n_modes = k, pred_steps, head, modes
        self.n_out = 3 if head == "gain" else 2
        self.own_embed = nn.Sequential(nn.Linear(4, 32), nn.ReLU())
        self.nb_net = nn.Sequential(nn.Linear(5, nb_embed), nn.ReLU(), nn.Linear(nb_embed, nb_embed), nn.ReLU())
        self.rnn = CELLS[cell](32 + nb_embed, hidden, num_layers=layers, batch_first=True,
                               dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Sequential(nn.Linear(hidden + 4, 128), nn.ReLU(), nn.Linear(128, pred_steps * self.n_out))
        # sigma sees the encoding through a gradient stop: the NLL shapes sigma only, never the mean
        self.sigma_head = nn.Sequential(nn.Linear(hidden + 4, 64), nn.ReLU(), nn.Linear(64, pred_steps * 2))
        # Per-step factors on the standard deviations, fit on validation data after training so that
        # +-1 and +-2 sigma hold the share of outcomes a Gaussian promises (1 = not calibrated).
        self.register_buffer("sigma_scale", torch.ones(pred_steps))
        self.register_buffer("mode_sigma_scale", torch.ones(pred_steps))
        if modes:
            self.mode_head = nn.Sequential(nn.Linear(hidden + 4, 128), nn.ReLU(),
                                           nn.Linear(128, modes * pred_steps * self.n_out))
            self.mode_logits = nn.Sequential(nn.Linear(hidden + 4, 64), nn.ReLU(), nn.Linear(64, modes))
            self.mode_sigma_head = nn.Sequential(nn.Linear(hidden + 4, 128), nn.ReLU(),
                                                 nn.Linear(128, modes * pred_steps * 2))

    def _paths(self, y: torch.Tensor, cv: torch.Tensor) -> torch.Tensor:
        """Head output (..., P, n_out) -> positions: the constant-velocity path ``cv`` (B, P, 2), times a
        bounded speed gain in (0, 2) for the gain head (saturates off-distribution), plus an offset."""
        if self.head_type == "gain":
            cv = cv * (2.0 * torch.sigmoid(y[..., 2:3]))
        return cv + y[..., :2]

    def forward(self, own: torch.Tensor, nb: torch.Tensor, nb_mask: torch.Tensor) -> NetOutput:
        B, T, _ = own.shape
        if self.k > 0:
            dist = nb[..., :2].norm(dim=-1, keepdim=True)  # (B,T,k,1)
            z = self.nb_net(torch.cat([nb, 1.0 / (1.0 + dist)], dim=-1))  # (B,T,k,E)
            m = nb_mask[:, None, :, None]
            pooled = (z * m).amax(dim=2)  # features >= 0 after ReLU, so masked zeros are neutral
        else:
            pooled = own.new_zeros(B, T, self.nb_net[-2].out_features)
        x = torch.cat([self.own_embed(own), pooled], dim=-1)
        out, _ = self.rnn(x)
        z = torch.cat([out[:, -1], own[:, -1]], dim=-1)
        v = own[:, -1, 2:4]  # last displacement in canonical frame (= (speed, 0))
        steps = torch.arange(1, self.pred_steps + 1, device=own.device, dtype=own.dtype)
        cv = steps[None, :, None] * v[:, None, :]  # (B, P, 2)
        P, K = self.pred_steps, self.n_modes
        mean = self._paths(self.head(z).view(B, P, -1), cv)
        sigma = (softplus(self.sigma_head(z.detach()).view(B, P, 2)) + 1e-3) * self.sigma_scale[:, None]
        if K:
            modes = self._paths(self.mode_head(z).view(B, K, P, -1), cv[:, None])
            logits = self.mode_logits(z)
            mode_sigma = (softplus(self.mode_sigma_head(z.detach()).view(B, K, P, 2)) + 1e-3) * self.mode_sigma_scale[:, None]
        else:
            modes, mode_sigma, logits = own.new_zeros(B, 0, P, 2), own.new_zeros(B, 0, P, 2), own.new_zeros(B, 0)
        return NetOutput(mean, sigma, modes, mode_sigma, logits)


def batch_inputs(inp: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (torch.from_numpy(inp["own"]), torch.from_numpy(inp["nb"]), torch.from_numpy(inp["nb_mask"]))


class LSTMForecaster(Forecaster):
    """A trained :class:`TrajectoryNet` behind the :class:`Forecaster` interface."""

    name = "lstm"

    def __init__(self, net: TrajectoryNet, dt: float = 0.4, meta: dict | None = None,
                 min_track_age: float | None = None, lost_track_ttl: float | None = None):
        self.net = net.eval()
        self.obs_steps = net.config["obs_steps"]
        self.pred_steps = net.config["pred_steps"]
        self.dt = float(dt)
        self.name = net.config["cell"]
        self.meta = dict(meta or {})
        self.set_tracking(min_track_age, lost_track_ttl)

    # ------------------------------------------------------------------ checkpoint i/o
    def save(self, path: str | Path, extra: dict | None = None) -> None:
        ckpt = {
            "format": CHECKPOINT_FORMAT,
            "config": dict(self.net.config),
            "state_dict": self.net.state_dict(),
            "norm": {"dt": self.dt, "units": "metres", "person_height_m": 1.75, "frame": "canonical"},
            "meta": {**self.meta, **(extra or {})},
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(ckpt, path)

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> "LSTMForecaster":
        path = Path(path)
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise TrajpipeError(f"forecaster checkpoint not found: {path}") from None
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
    def _to_native_grid(self, obs: np.ndarray, dt: float) -> np.ndarray:
        """(N, T, 2) on the caller's grid -> (N, obs_steps, 2) on the model's grid ending at the same
        instant. Same grid: the last obs_steps points (too short: the first point is held). Different
        grid: linear interpolation in time (instants before the first sample hold it)."""
        N, T, _ = obs.shape
        S = self.obs_steps
        if abs(dt - self.dt) < 1e-6 * self.dt:
            if T >= S:
                return obs[:, T - S :]
            pad = np.repeat(obs[:, :1], S - T, axis=1)
            return np.concatenate([pad, obs], axis=1)
        times = dt * np.arange(T)
        return np.stack([resample_track(times, o, self.dt, S) for o in obs]).astype(np.float32)

    def _from_native_grid(self, y: np.ndarray, origin: np.ndarray, dt: float) -> np.ndarray:
        """Model output (N, ..., P, 2) at self.dt*(1..P) -> the caller's grid dt*(1..n), n =
        floor(horizon/dt), by linear interpolation in time with ``origin`` (N, 2) at t=0."""
        P = self.pred_steps
        n = max(1, int(np.floor(P * self.dt / dt + 1e-6)))
        t_model = self.dt * np.arange(0, P + 1)
        t_out = dt * np.arange(1, n + 1)
        lead = y.shape[:-2]
        flat = y.reshape(-1, P, 2)
        start = np.broadcast_to(origin.reshape(origin.shape[0], *[1] * (len(lead) - 1), 2), (*lead, 2)).reshape(-1, 1, 2)
        full = np.concatenate([start, flat], axis=1)  # (M, P+1, 2)
        # interpolation weights are the same for every row: one matrix product instead of np.interp per row
        weights = np.stack([np.interp(t_out, t_model, np.eye(P + 1)[j]) for j in range(P + 1)], axis=1)  # (n, P+1)
        return np.einsum("op,mpd->mod", weights, full).reshape(*lead, n, 2).astype(np.float32)

    def _encode(self, obs, dt, scale, groups):
        """Validated inputs -> (network output, canonical-frame transform, caller's dt)."""
        obs = self._check_obs(obs)
        dt = self.dt if dt is None else float(dt)
        N = obs.shape[0]
        if groups is not None:
            groups = np.asarray(groups).reshape(-1)
            if groups.shape[0] != N:
                raise ValueError(f"groups must have shape ({N},), got {groups.shape}")
        native = self._to_native_grid(obs, dt)
        inp = canonical_inputs(native, scale_to_factor(scale, N), groups, self.net.k)
        return self.net(*batch_inputs(inp)), inp, obs, dt

    def _to_caller(self, points_c: torch.Tensor, sigma_c: torch.Tensor, inp: dict, obs: np.ndarray, dt: float):
        """Canonical (N, ..., P, 2) paths and per-axis standard deviations -> the caller's units, axes
        and time grid. The rotation mixes the axes: the reported sigma is the exact per-axis marginal
        standard deviation of the rotated diagonal Gaussian."""
        y, sc = points_c.numpy(), sigma_c.numpy()
        extra = (slice(None),) + (None,) * (y.ndim - 2)  # broadcast (N,) over the mode/step axes
        c, s, f = inp["cos"][extra], inp["sin"][extra], inp["factor"][extra + (None,)]
        origin = inp["origin"].reshape(len(y), *[1] * (y.ndim - 2), 2)
        points = np.stack([c * y[..., 0] - s * y[..., 1], s * y[..., 0] + c * y[..., 1]], axis=-1) / f + origin
        var_x = (c * sc[..., 0]) ** 2 + (s * sc[..., 1]) ** 2
        var_y = (s * sc[..., 0]) ** 2 + (c * sc[..., 1]) ** 2
        sigma = np.stack([np.sqrt(var_x), np.sqrt(var_y)], axis=-1) / f
        if abs(dt - self.dt) > 1e-6 * self.dt:
            points = self._from_native_grid(points, obs[:, -1], dt)
            sigma = self._from_native_grid(sigma, np.zeros_like(obs[:, -1]), dt)
        return points.astype(np.float32), sigma.astype(np.float32)

    @torch.no_grad()
    def predict_with_sigma(self, obs, dt=None, scale=None, groups=None):
        if len(obs) == 0:
            empty = np.zeros((0, self.pred_steps, 2), np.float32)
            return empty, empty
        out, inp, obs, dt = self._encode(obs, dt, scale, groups)
        return self._to_caller(out.mean, out.sigma, inp, obs, dt)

    @torch.no_grad()
    def predict_batch(self, obs, dt=None, scale=None, groups=None, k: int = 0):
        if not k or not self.net.n_modes or len(obs) == 0:  # no modes asked for, or a single-mode checkpoint
            return super().predict_batch(obs, dt, scale, groups, k)
        out, inp, obs, dt = self._encode(obs, dt, scale, groups)
        mean, sigma = self._to_caller(out.mean, out.sigma, inp, obs, dt)
        probs = torch.softmax(out.logits, dim=-1)
        order = torch.argsort(probs, dim=-1, descending=True)[:, :k]  # most probable first
        pick = order[:, :, None, None].expand(-1, -1, *out.modes.shape[2:])
        points, mode_sigma = self._to_caller(out.modes.gather(1, pick), out.mode_sigma.gather(1, pick), inp, obs, dt)
        top = probs.gather(1, order).numpy()
        return mean, sigma, ForecastModes.padded(points, top / top.sum(axis=1, keepdims=True), mode_sigma, k)
