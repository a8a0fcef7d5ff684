"""The forecaster contract: batched positions in, future positions (and optional uncertainty) out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from ..errors import TrajpipeError


class Forecaster(ABC):
    """Forecasts future positions for a batch of tracks observed on a uniform time grid.

    Subclasses implement :meth:`predict_with_sigma`; everything else is shared.
    ``obs_steps`` and ``dt`` tell callers which grid the forecaster wants as input;
    ``pred_steps * dt`` is its horizon in seconds.
    """

    name: str = "forecaster"
    obs_steps: int = 8
    pred_steps: int = 12
    dt: float = 0.4

    @staticmethod
    def load(spec: str | Path) -> "Forecaster":
        """``"cv"`` for constant velocity, or the path of a trained checkpoint (``.pt``)."""
        if str(spec) == "cv":
            from .cv import ConstantVelocityForecaster

            return ConstantVelocityForecaster()
        path = Path(spec)
        if not path.is_file():
            raise TrajpipeError(f"forecaster checkpoint not found: {path}")
        from .lstm import LSTMForecaster

        return LSTMForecaster.from_checkpoint(path)

    def predict(self, obs, dt: float | None = None, scale=None, groups=None) -> np.ndarray:
        """Future positions (N, T_pred, 2) at ``dt, 2*dt, ...`` seconds after the last observation.

        obs: (N, T_obs, 2) positions ``dt`` seconds apart (same time grid within a group).
        scale: optional (N,) object heights in obs units (pixels for video); None means metres.
        groups: optional (N,) int labels; tracks sharing a label are each other's neighbours.
        """
        mean, _ = self.predict_with_sigma(obs, dt=dt, scale=scale, groups=groups)
        return mean

    @abstractmethod
    def predict_with_sigma(self, obs, dt: float | None = None, scale=None, groups=None) -> tuple[np.ndarray, np.ndarray | None]:
        """Like :meth:`predict`, plus per-step standard deviations (N, T_pred, 2) in obs units, or None."""

    def _check_obs(self, obs) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float32)
        if obs.ndim != 3 or obs.shape[2] != 2:
            raise ValueError(f"obs must have shape (N, T_obs, 2), got {obs.shape}")
        if obs.shape[1] < 2:
            raise ValueError("obs needs at least 2 time steps to define a velocity")
        return obs
