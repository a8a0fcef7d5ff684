"""What every learned forecaster does around its network, in numpy (no torch here).

A :class:`NeuralForecaster` turns the caller's observations into the network's inputs (model grid,
metres, each track's canonical frame, k nearest neighbours), runs the network through one method
that subclasses implement (:meth:`NeuralForecaster._run_net`: torch for a checkpoint, onnxruntime
for an exported ``.onnx`` file), and brings the outputs back to the caller's units, axes and grid.
Both runtimes therefore share every line of pre- and post-processing.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import NamedTuple

import numpy as np

from ..core.anchors import metres_per_unit
from ..core.interp import interp_weights, resample_track, rotate
from .base import Forecaster, ModeBatch
from .features import canonical_inputs

NET_BLOCK = 1024  # tracks per network call


class NetArrays(NamedTuple):
    """The network's outputs as float32 arrays, in the canonical frame (metres).

    mean, sigma (N, P, 2): the deterministic forecast and its per-step standard deviation per axis;
    modes, mode_sigma (N, K, P, 2) and logits (N, K): K alternative futures, their standard
    deviations and unnormalised log-probabilities (K = 0 for single-mode models).
    """

    mean: np.ndarray
    sigma: np.ndarray
    modes: np.ndarray
    mode_sigma: np.ndarray
    logits: np.ndarray


class NeuralForecaster(Forecaster):
    """A forecaster whose network takes canonical-frame inputs; subclasses provide the network.

    Subclasses set ``dt``, ``obs_steps``, ``pred_steps`` (the model's grid), ``n_neighbours`` (k)
    and ``n_modes`` (K), ``config`` (the network's architecture), ``meta`` (the training notes),
    ``file_format`` (the format tag of the file it was loaded from) and implement :meth:`_run_net`.
    """

    n_neighbours: int
    n_modes: int
    config: dict
    meta: dict
    file_format: str

    @property
    def social_range(self) -> float:
        """Metres: people this far or farther are no neighbours (0: no range, networks from before it)."""
        return float(self.config.get("social_range", 0.0))

    @abstractmethod
    def _run_net(self, own: np.ndarray, nb: np.ndarray, nb_mask: np.ndarray) -> NetArrays:
        """Run the network: own (N, obs_steps, 4), nb (N, obs_steps, k, 4), nb_mask (N, k), all float32
        in the canonical frame (see :func:`~trajpipe.forecast.features.canonical_inputs`)."""

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
        # the same grids for every row: one matrix product instead of one interpolation per row
        return np.einsum("op,mpd->mod", interp_weights(t_out, t_model), full).reshape(*lead, n, 2).astype(np.float32)

    def _encode(self, obs, dt, scale, groups):
        """Validated inputs -> (network output, canonical-frame transform, observations, caller's dt)."""
        obs, dt = self._check_obs(obs), self._check_dt(dt)
        N = obs.shape[0]
        if groups is not None:
            groups = np.asarray(groups).reshape(-1)
            if groups.shape[0] != N:
                raise ValueError(f"groups must have shape ({N},), got {groups.shape}")
        native = self._to_native_grid(obs, dt)
        inp = canonical_inputs(native, metres_per_unit(scale, N), groups, self.n_neighbours, self.social_range)
        return self._run_net_in_blocks(inp["own"], inp["nb"], inp["nb_mask"]), inp, obs, dt

    def _run_net_in_blocks(self, own: np.ndarray, nb: np.ndarray, nb_mask: np.ndarray) -> NetArrays:
        """:meth:`_run_net` on at most NET_BLOCK tracks at a time: a crowd of thousands stays in the CPU's
        cache, so the time grows linearly with the number of tracks (each track's output is its own)."""
        if len(own) <= NET_BLOCK:
            return self._run_net(own, nb, nb_mask)
        blocks = [self._run_net(own[i:i + NET_BLOCK], nb[i:i + NET_BLOCK], nb_mask[i:i + NET_BLOCK])
                  for i in range(0, len(own), NET_BLOCK)]
        return NetArrays(*(np.concatenate(parts) for parts in zip(*blocks)))

    def _to_caller(self, y: np.ndarray, sc: np.ndarray, inp: dict, obs: np.ndarray, dt: float):
        """Canonical (N, ..., P, 2) paths and per-axis standard deviations -> the caller's units, axes
        and time grid. The rotation mixes the axes: the reported sigma is the exact per-axis marginal
        standard deviation of the rotated diagonal Gaussian."""
        extra = (slice(None),) + (None,) * (y.ndim - 2)  # broadcast (N,) over the mode/step axes
        c, s, f = inp["cos"][extra], inp["sin"][extra], inp["factor"][extra + (None,)]
        origin = inp["origin"].reshape(len(y), *[1] * (y.ndim - 2), 2)
        points = rotate(y, c, -s) / f + origin
        var_x = (c * sc[..., 0]) ** 2 + (s * sc[..., 1]) ** 2
        var_y = (s * sc[..., 0]) ** 2 + (c * sc[..., 1]) ** 2
        sigma = np.stack([np.sqrt(var_x), np.sqrt(var_y)], axis=-1) / f
        if abs(dt - self.dt) > 1e-6 * self.dt:
            points = self._from_native_grid(points, obs[:, -1], dt)
            sigma = self._from_native_grid(sigma, np.zeros_like(obs[:, -1]), dt)
        return points.astype(np.float32), sigma.astype(np.float32)

    def predict_with_sigma(self, obs, dt=None, scale=None, groups=None):
        if len(obs) == 0:
            self._check_dt(dt)
            empty = np.zeros((0, self.pred_steps, 2), np.float32)
            return empty, empty
        out, inp, obs, dt = self._encode(obs, dt, scale, groups)
        return self._to_caller(out.mean, out.sigma, inp, obs, dt)

    def predict_batch(self, obs, dt=None, scale=None, groups=None, k: int = 0):
        if not k or not self.n_modes or len(obs) == 0:  # no modes asked for, or a single-mode model
            return super().predict_batch(obs, dt, scale, groups, k)
        out, inp, obs, dt = self._encode(obs, dt, scale, groups)
        mean, sigma = self._to_caller(out.mean, out.sigma, inp, obs, dt)
        logits = out.logits - out.logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]  # most probable first
        rows = np.arange(len(order))[:, None]  # indexing whole (P, 2) blocks: 20x faster than take_along_axis
        points, mode_sigma = self._to_caller(out.modes[rows, order], out.mode_sigma[rows, order], inp, obs, dt)
        top = probs[rows, order]
        return mean, sigma, ModeBatch.padded(points, top / top.sum(axis=1, keepdims=True), mode_sigma, k)
