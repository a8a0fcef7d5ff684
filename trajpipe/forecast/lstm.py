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

import numpy as np
import torch
from torch import nn

from ..errors import TrajpipeError
from .base import Forecaster
from .data import canonical_inputs, from_canonical, scale_to_factor
from .resample import resample_track

CHECKPOINT_FORMAT = "trajpipe-forecaster/1"
CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class TrajectoryNet(nn.Module):
    """Recurrent encoder + direct multi-step head. Inputs/outputs in the canonical frame (metres).

    own (B, T, 4), nb (B, T, k, 4), nb_mask (B, k) -> mean (B, P, 2), sigma (B, P, 2).
    The neighbour features are embedded per neighbour and max-pooled over the k neighbours (so the
    order of neighbours does not matter), then concatenated to the track's own step features.
    """

    def __init__(self, cell: str = "lstm", hidden: int = 64, layers: int = 1, dropout: float = 0.0, k: int = 4,
                 nb_embed: int = 32, obs_steps: int = 8, pred_steps: int = 12, head: str = "gain"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if head not in ("residual", "gain"):
            raise ValueError(f"head must be 'residual' or 'gain', got {head!r}")
        self.config = dict(cell=cell, hidden=hidden, layers=layers, dropout=dropout, k=k, nb_embed=nb_embed,
                           obs_steps=obs_steps, pred_steps=pred_steps, head=head)
        self.k, self.pred_steps, self.head_type = k, pred_steps, head
        n_out = 3 if head == "gain" else 2
        self.own_embed = nn.Sequential(nn.Linear(4, 32), nn.ReLU())
        self.nb_net = nn.Sequential(nn.Linear(5, nb_embed), nn.ReLU(), nn.Linear(nb_embed, nb_embed), nn.ReLU())
        self.rnn = CELLS[cell](32 + nb_embed, hidden, num_layers=layers, batch_first=True,
                               dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Sequential(nn.Linear(hidden + 4, 128), nn.ReLU(), nn.Linear(128, pred_steps * n_out))
        # sigma sees the encoding through a gradient stop: the NLL shapes sigma only, never the mean
        self.sigma_head = nn.Sequential(nn.Linear(hidden + 4, 64), nn.ReLU(), nn.Linear(64, pred_steps * 2))

    def forward(self, own: torch.Tensor, nb: torch.Tensor, nb_mask: torch.Tensor):
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
        h = out[:, -1]
        v = own[:, -1, 2:4]  # last displacement in canonical frame (= (speed, 0))
        z = torch.cat([h, own[:, -1]], dim=-1)
        y = self.head(z).view(B, self.pred_steps, -1)
        steps = torch.arange(1, self.pred_steps + 1, device=own.device, dtype=own.dtype)
        cv = steps[None, :, None] * v[:, None, :]
        if self.head_type == "gain":  # bounded multiplicative speed gain in (0, 2): saturates off-distribution
            cv = cv * (2.0 * torch.sigmoid(y[..., 2:3]))
        mean = cv + y[..., :2]
        sigma = nn.functional.softplus(self.sigma_head(z.detach()).view(B, self.pred_steps, 2)) + 1e-3
        return mean, sigma


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
            net.load_state_dict(ckpt["state_dict"])
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

    def _from_native_grid(self, y: np.ndarray, origin: np.ndarray, dt: float) -> tuple[np.ndarray, int]:
        """Model output at self.dt*(1..P) -> caller grid dt*(1..n), n = floor(horizon/dt), by linear
        interpolation in time with the last observed point at t=0."""
        P = self.pred_steps
        n = max(1, int(np.floor(P * self.dt / dt + 1e-6)))
        t_model = self.dt * np.arange(0, P + 1)
        t_out = dt * np.arange(1, n + 1)
        full = np.concatenate([origin[:, None], y], axis=1)  # (N, P+1, 2)
        out = np.empty((y.shape[0], n, 2), dtype=np.float32)
        for d in range(2):
            out[..., d] = np.stack([np.interp(t_out, t_model, row) for row in full[..., d]])
        return out, n

    @torch.no_grad()
    def predict_with_sigma(self, obs, dt=None, scale=None, groups=None):
        obs = self._check_obs(obs)
        dt = self.dt if dt is None else float(dt)
        N = obs.shape[0]
        if N == 0:
            return np.zeros((0, self.pred_steps, 2), np.float32), np.zeros((0, self.pred_steps, 2), np.float32)
        if groups is not None:
            groups = np.asarray(groups).reshape(-1)
            if groups.shape[0] != N:
                raise ValueError(f"groups must have shape ({N},), got {groups.shape}")
        native = self._to_native_grid(obs, dt)
        factor = scale_to_factor(scale, N)
        inp = canonical_inputs(native, factor, groups, self.net.k)
        mean_c, sigma_c = self.net(*batch_inputs(inp))
        mean = from_canonical(mean_c.numpy(), inp)
        # std devs: rotation mixes axes; report the per-axis std of the rotated diagonal Gaussian
        sc = sigma_c.numpy()
        c, s = inp["cos"][:, None], inp["sin"][:, None]
        var_x = (c * sc[..., 0]) ** 2 + (s * sc[..., 1]) ** 2
        var_y = (s * sc[..., 0]) ** 2 + (c * sc[..., 1]) ** 2
        sigma = np.stack([np.sqrt(var_x), np.sqrt(var_y)], axis=-1) / inp["factor"][:, None, None]
        if abs(dt - self.dt) > 1e-6 * self.dt:
            mean, _ = self._from_native_grid(mean, obs[:, -1], dt)
            sig0 = np.zeros_like(obs[:, -1])
            sigma, _ = self._from_native_grid(sigma, sig0, dt)
        return mean.astype(np.float32), sigma.astype(np.float32)
