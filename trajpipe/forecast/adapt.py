"""Adapting the forecasts to the scene being watched (config key ``adapt_to_scene``).

A forecaster trained on five scenes meets a sixth every time a camera is pointed at something. It sees
the truth of its own forecasts a few seconds later: every ``dt`` seconds of each track, the forecast made
then (before any adaptation) is kept with constant velocity's on the same history; once the track has
been seen past that forecast's horizon (causal: only windows whose whole future is already in the past)
the window is finished. From the finished windows of this scene, per future step:

- the shrinkage towards CV, ``factor`` in [0, 1] of ``cv + factor * (forecast - cv)``: the grid value with
  the lowest mean displacement (in the track's scale: box heights, or metres) where it is surely better
  than the shipped forecast (factor 1), blended with 1 as a prior worth ``PRIOR_WINDOWS`` windows;
- the sigma scale: the factor that makes 68 % of the adapted forecast's errors fall within one sigma,
  bounded to [``SIGMA_BOUNDS``], blended in log space with the prior 1 the same way.

Nothing changes before ``MIN_WINDOWS`` windows are finished (``adapted`` false). The latest
``MAX_WINDOWS`` finished windows are used, so the factors follow a scene that changes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..core.results import Adaptation

ADAPT_BY_DEFAULT = True  # the stateful Forecaster's default, as the config key's (docs/model.md: measured)
MIN_WINDOWS = 50  # finished windows before the factors move from the shipped values
PRIOR_WINDOWS = 25  # weight of the shipped values (factors 1), in windows
MAX_WINDOWS = 3000  # the latest finished windows used for a refit
REFIT_EVERY = 25  # finished windows between refits
SHRINK_GRID = np.linspace(0.0, 1.0, 41)
SIGMA_BOUNDS = (0.5, 2.0)
SURE = 2.0  # standard errors by which a factor must beat the shipped forecast to be taken
WINDOW_DEPENDENCE = 4.0  # finished windows counted as one independent one
ONE_SIGMA = 0.6827  # share of a Gaussian within one standard deviation


@dataclass
class _Pending:
    origin: float
    forecast: np.ndarray  # (P, 2) as the forecaster made it, history coordinates
    cv: np.ndarray  # (P, 2)
    sigma: np.ndarray | None  # (P, 2)
    unit: float  # history units per scale unit (box height, or 1 for metres)


class SceneAdapter:
    """The per-step shrinkage towards CV and sigma scale of one scene: ``apply`` to each batch of
    forecasts, ``record`` the batch (before ``apply``), ``resolve`` with the tracks' histories. Safe to
    share between one producer and one consumer thread."""

    def __init__(self, dt: float, pred_steps: int, obs_steps: int):
        self.dt, self.pred_steps = float(dt), int(pred_steps)
        # only forecasts made from a full input window are kept: a young track's forecast is another
        # kind, and fitting on a mix moved the factors away from what the full windows needed
        self.min_age = (obs_steps - 1) * self.dt - 1e-6
        self._pending: dict[int, list[_Pending]] = {}
        self._finished: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]] = []
        self._new = 0
        self._lock = threading.Lock()
        self.state = Adaptation(False, 0, np.ones(pred_steps), np.ones(pred_steps))

    @property
    def finished(self) -> int:
        """Finished windows kept (the next refit uses them)."""
        return len(self._finished)

    def apply(self, mean: np.ndarray, cv: np.ndarray, sigma: np.ndarray | None):
        """(mean, sigma) of a batch (N, P, 2) with the current factors (unchanged until adapted)."""
        state = self.state
        if not state.adapted or mean.shape[1] != self.pred_steps:
            return mean, sigma
        mean = (cv + state.shrink[None, :, None] * (mean - cv)).astype(mean.dtype)
        return mean, None if sigma is None else (sigma * state.sigma_scale[None, :, None]).astype(sigma.dtype)

    def record(self, track_ids, origins: np.ndarray, ages: np.ndarray, mean: np.ndarray, cv: np.ndarray, sigma,
               units: np.ndarray) -> None:
        """Keep the forecasts just made (one per track every ``dt`` seconds, made from at least a full input
        window: ``ages``, seconds each track has been seen) until their future is past."""
        if mean.shape[1] != self.pred_steps:
            return
        with self._lock:
            for row, track_id in enumerate(track_ids):
                if ages[row] < self.min_age:
                    continue
                kept = self._pending.setdefault(track_id, [])
                if kept and origins[row] < kept[-1].origin + self.dt - 1e-6:
                    continue
                kept.append(_Pending(float(origins[row]), mean[row].astype(np.float64), cv[row].astype(np.float64),
                                     None if sigma is None else sigma[row].astype(np.float64), float(units[row])))

    def resolve(self, track_ids, histories, now: float) -> None:
        """Finish the windows of these tracks (``histories``: their samples, with ``times`` and
        ``points``) that their history now covers; drop windows of tracks unseen past their horizon; refit."""
        horizon = self.pred_steps * self.dt
        with self._lock:
            for track_id, history in zip(track_ids, histories):
                kept = self._pending.get(track_id)
                while kept and history.times[-1] >= kept[0].origin + horizon - 1e-6:
                    self._finish(kept.pop(0), history)
            for track_id in [i for i, kept in self._pending.items() if not kept or now > kept[-1].origin + horizon + 2.0]:
                del self._pending[track_id]
            if self._new >= REFIT_EVERY:
                self._new = 0
                self.state = self._refit()

    def forget_pending(self) -> None:
        """The histories' coordinates moved: windows waiting for their future can no longer be compared."""
        with self._lock:
            self._pending.clear()

    def _finish(self, window: _Pending, history) -> None:
        when = window.origin + self.dt * np.arange(1, self.pred_steps + 1)
        if history.times[0] > when[0]:  # trimmed past the window's start: cannot be scored
            return
        truth = np.stack([np.interp(when, history.times, history.points[:, 0]),
                          np.interp(when, history.times, history.points[:, 1])], -1)
        unit = window.unit
        sigma = None if window.sigma is None else window.sigma / unit
        self._finished.append((window.forecast / unit, window.cv / unit, truth / unit, sigma))
        del self._finished[:-MAX_WINDOWS]
        self._new += 1

    def _refit(self) -> Adaptation:
        n = len(self._finished)
        if n < MIN_WINDOWS:
            return Adaptation(False, n, np.ones(self.pred_steps), np.ones(self.pred_steps))
        forecast, cv, truth = (np.stack([w[k] for w in self._finished]) for k in range(3))
        prior = PRIOR_WINDOWS / (n + PRIOR_WINDOWS)
        shrink = (1 - prior) * self._best_shrink(forecast, cv, truth) + prior * 1.0
        sigma_scale = np.ones(self.pred_steps)
        with_sigma = [w[3] for w in self._finished if w[3] is not None]
        if len(with_sigma) >= MIN_WINDOWS:
            keep = [w[3] is not None for w in self._finished]
            adapted = cv[keep] + shrink[None, :, None] * (forecast[keep] - cv[keep])
            z = np.abs(adapted - truth[keep]) / np.maximum(np.stack(with_sigma), 1e-9)  # (n, P, 2)
            fit = np.clip(np.quantile(z.transpose(1, 0, 2).reshape(self.pred_steps, -1), ONE_SIGMA, axis=1),
                          *SIGMA_BOUNDS)
            sigma_scale = np.exp((1 - prior) * np.log(fit))
        return Adaptation(True, n, shrink, sigma_scale)

    @staticmethod
    def _best_shrink(forecast: np.ndarray, cv: np.ndarray, truth: np.ndarray) -> np.ndarray:
        """(P,) per step the grid factor with the lowest mean displacement, where it beats the shipped
        forecast (factor 1) by more than ``SURE`` standard errors (windows counted ``WINDOW_DEPENDENCE``
        to one: a track's windows 0.4 s apart share most of their path); 1 elsewhere. Without the test,
        the first minute of zara2 was 2.1 % worse: its first windows favoured CV, the rest did not."""
        norms = np.stack([np.linalg.norm(cv + g * (forecast - cv) - truth, axis=-1) for g in SHRINK_GRID])  # (G, n, P)
        best = norms.mean(1).argmin(0)
        gain = np.take_along_axis(norms, best[None, None, :], 0)[0] - norms[-1]  # (n, P), < 0: better than 1
        error = gain.std(0) / np.sqrt(len(gain) / WINDOW_DEPENDENCE)
        return np.where(gain.mean(0) + SURE * error < 0, SHRINK_GRID[best], 1.0)
