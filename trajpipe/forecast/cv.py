"""Constant-velocity forecaster: the baseline every learned model must beat."""

from __future__ import annotations

import numpy as np

from .base import OBS_STEPS, PRED_STEPS, STEP_SECONDS, Forecaster


class ConstantVelocityForecaster(Forecaster):
    """Extrapolates the last observed step's velocity. Exact on straight, uniform motion; no sigma.

    Args:
        obs_steps: observed steps it is given (only the last two are used).
        pred_steps: steps it forecasts.
        dt: the grid's step in seconds.
        min_track_age: seconds before the stateful API forecasts a track (None: 0.8).
        lost_track_ttl: seconds after which the stateful API forgets a track (None: 2.0).
    """

    name = "cv"

    def __init__(self, obs_steps: int = OBS_STEPS, pred_steps: int = PRED_STEPS, dt: float = STEP_SECONDS,
                 min_track_age: float | None = None, lost_track_ttl: float | None = None):
        super().__init__(min_track_age, lost_track_ttl)
        self.obs_steps, self.pred_steps, self.dt = obs_steps, pred_steps, dt

    def predict_with_sigma(self, obs, dt=None, scale=None, groups=None):
        """The last step's velocity carried on (see :meth:`Forecaster.predict_with_sigma`).

        Args:
            obs: (N, T_obs, 2) positions, one grid step apart.
            dt: the grid's step in seconds (checked; the forecast is per step of the caller's grid).
            scale: unused (constant velocity needs no scale).
            groups: unused (no neighbours).

        Returns:
            ``(mean (N, pred_steps, 2), None)``.
        """
        obs = self._check_obs(obs)
        self._check_dt(dt)  # the forecast is per step of the caller's grid, whatever its length
        velocity = obs[:, -1] - obs[:, -2]  # per step of the input grid
        steps = np.arange(1, self.pred_steps + 1, dtype=np.float32)
        mean = obs[:, -1:, :] + steps[None, :, None] * velocity[:, None, :]
        return mean, None
