"""Kalman-filter baselines: constant velocity (CV) or constant acceleration (CA) motion, per axis."""

from __future__ import annotations

import numpy as np

from .base import OBS_STEPS, PRED_STEPS, STEP_SECONDS, Forecaster
from ..core.anchors import metres_per_unit

# Per-axis state transition over one step and the process-noise input (white acceleration for CV,
# white jerk for CA), as in any tracking textbook.
MOTION = {
    "cv": (np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([0.5, 1.0])),
    "ca": (np.array([[1.0, 1.0, 0.5], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]), np.array([1 / 6, 0.5, 1.0])),
}
# Noise variances chosen on the ETH/UCY validation files (metres, per step): (q, r).
DEFAULT_NOISE = {"cv": (0.01, 0.0005), "ca": (0.001, 0.01)}


class KalmanForecaster(Forecaster):
    """Filters the observed track, then propagates the state without measurements.

    Unlike :class:`ConstantVelocityForecaster` its velocity (and, for ``motion="ca"``, acceleration)
    is a noise-weighted blend of several steps. ``q``: process noise variance, ``r``: measurement
    noise variance, both in metres; pixel tracks are converted through ``scale`` (box height).
    """

    def __init__(self, motion: str = "cv", q: float | None = None, r: float | None = None,
                 obs_steps: int = OBS_STEPS, pred_steps: int = PRED_STEPS, dt: float = STEP_SECONDS):
        super().__init__()
        if motion not in MOTION:
            raise ValueError(f"motion must be one of {sorted(MOTION)}, got {motion!r}")
        default_q, default_r = DEFAULT_NOISE[motion]
        self.motion, self.q, self.r = motion, default_q if q is None else q, default_r if r is None else r
        self.name = "kalman" if motion == "cv" else "kalman-ca"
        self.obs_steps, self.pred_steps, self.dt = obs_steps, pred_steps, dt

    def predict_with_sigma(self, obs, dt=None, scale=None, groups=None):
        obs = self._check_obs(obs).astype(np.float64)
        self._check_dt(dt)  # the filter runs per step of the caller's grid, whatever its length
        n, steps, _ = obs.shape
        factor = metres_per_unit(scale, n)[:, None]  # metres per unit: noise levels are in metres
        axis_f, axis_g = MOTION[self.motion]
        order = len(axis_g)
        F = np.kron(axis_f, np.eye(2))  # state: position (2), velocity (2)[, acceleration (2)]
        G = np.kron(axis_g[:, None], np.eye(2))
        Q = self.q * G @ G.T
        H = np.eye(2, 2 * order)
        R = self.r * np.eye(2)
        z = obs * factor[:, None]
        x = np.zeros((n, 2 * order))
        x[:, :2], x[:, 2:4] = z[:, 0], z[:, 1] - z[:, 0]
        P = np.broadcast_to(np.diag([self.r] * 2 + [1.0] * (2 * order - 2)), (n, 2 * order, 2 * order)).copy()
        for t in range(1, steps):
            x = x @ F.T
            P = F @ P @ F.T + Q
            K = P @ H.T @ np.linalg.inv(H @ P @ H.T + R)
            x = x + np.einsum("nij,nj->ni", K, z[:, t] - x[:, :2])
            P = (np.eye(2 * order) - K @ H) @ P
        mean = np.empty((n, self.pred_steps, 2))
        sigma = np.empty((n, self.pred_steps, 2))
        for t in range(self.pred_steps):
            x = x @ F.T
            P = F @ P @ F.T + Q
            mean[:, t] = x[:, :2]
            sigma[:, t] = np.sqrt(np.stack([P[:, 0, 0], P[:, 1, 1]], axis=1))
        return (mean / factor[:, None]).astype(np.float32), (sigma / factor[:, None]).astype(np.float32)
