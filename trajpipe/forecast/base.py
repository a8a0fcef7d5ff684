"""The forecaster contract: batched positions in, future positions (and optional uncertainty) out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
import numpy as np

from ..core.finite import BAD_VALUES, bad_rows, check_step, rows_text
from .adapt import ADAPT_BY_DEFAULT
from .store import TrackStore

# The default time grid, the one definition every forecaster, the training settings and the data loaders
# take theirs from: 3.2 s observed, 4.8 s forecast, 0.4 s apart (ETH/UCY's annotation step).
OBS_STEPS = 8
PRED_STEPS = 12
STEP_SECONDS = 0.4


@dataclass(frozen=True)
class ModeBatch:
    """Several possible futures per track of a batch, most probable first (what
    :meth:`Forecaster.predict_modes` returns).

    Attributes:
        points: (N, k, T, 2) positions in the units of the observations.
        probs: (N, k) probabilities, each row sums to 1.
        sigma: (N, k, T, 2) per-step, per-axis standard deviation of each mode, same units, or None.
    """

    points: np.ndarray
    probs: np.ndarray
    sigma: np.ndarray | None = None

    @classmethod
    def padded(cls, points: np.ndarray, probs: np.ndarray, sigma: np.ndarray | None, k: int) -> "ModeBatch":
        """Modes filled up to ``k`` by repeating the most probable one with probability 0 (a forecaster
        with fewer modes than asked for still answers in the asked shape).

        Args:
            points: (N, m, T, 2) positions, m <= k.
            probs: (N, m) probabilities.
            sigma: (N, m, T, 2) standard deviations, or None.
            k: the number of modes wanted (>= 1).

        Returns:
            The :class:`ModeBatch` with k modes per track.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        m = points.shape[1]
        if m < k:
            fill = [0] * (k - m)
            points = np.concatenate([points, points[:, fill]], axis=1)
            probs = np.concatenate([probs, np.zeros((len(probs), k - m), probs.dtype)], axis=1)
            sigma = None if sigma is None else np.concatenate([sigma, sigma[:, fill]], axis=1)
        return cls(points, probs.astype(np.float32), sigma)


class Forecaster(ABC):
    """Forecasts future positions for a batch of tracks observed on a uniform time grid.

    Subclasses implement :meth:`predict_with_sigma`; everything else is shared.
    ``obs_steps`` and ``dt`` tell callers which grid the forecaster wants as input;
    ``pred_steps * dt`` is its horizon in seconds.

    Args:
        min_track_age: seconds of observation before the stateful API forecasts a track (None: 0.8).
        lost_track_ttl: seconds after its last update that the stateful API forgets a track (None: 2.0).

    Example:
        >>> import numpy as np
        >>> cv = Forecaster.load("cv")
        >>> cv.predict(np.array([[[0.0, 0.0], [1.0, 0.0]]])).shape  # 12 steps of 0.4 s ahead
        (1, 12, 2)
    """

    name: str = "forecaster"
    obs_steps: int = OBS_STEPS
    pred_steps: int = PRED_STEPS
    dt: float = STEP_SECONDS

    def __init__(self, min_track_age: float | None = None, lost_track_ttl: float | None = None):
        """Subclasses call this: it sets the stateful API's settings (seconds; None keeps the class
        defaults) and gives the forecaster its own track store (see :meth:`update`)."""
        self.set_tracking(min_track_age, lost_track_ttl)
        self._store = TrackStore(self)

    @staticmethod
    def load(spec: str | Path, *, min_track_age: float | None = None, lost_track_ttl: float | None = None,
             adapt_to_scene: bool = ADAPT_BY_DEFAULT) -> "Forecaster":
        """A forecaster by name or from a file (:func:`~trajpipe.forecast.loading.load_forecaster`).

        Args:
            spec: ``"cv"`` for constant velocity, the path of a trained checkpoint (``.pt``, needs
                torch), or of its ONNX export (``.onnx``, from ``trajpipe export``; runs with
                onnxruntime, without torch).
            min_track_age: seconds of observation before the stateful API forecasts a track
                (None: 0.8 s), as the forecasters' constructors take it.
            lost_track_ttl: seconds after its last update that the stateful API forgets a track
                (None: 2.0 s).
            adapt_to_scene: the stateful API adapts its forecasts to the scene it is fed (on by
                default, as the config key; see :meth:`adapt_to_scene`).

        Returns:
            The ready forecaster.

        Example:
            >>> Forecaster.load("cv").name
            'cv'
        """
        # The package's face, read at call time (it is always imported before this module): the contract
        # does not import its implementations, whose modules import the contract.
        from . import load_forecaster

        forecaster = load_forecaster(spec, min_track_age=min_track_age, lost_track_ttl=lost_track_ttl)
        forecaster.adapt_to_scene(adapt_to_scene)
        return forecaster

    def set_tracking(self, min_track_age: float | None = None, lost_track_ttl: float | None = None) -> None:
        """Set the stateful API's settings.

        Args:
            min_track_age: seconds of observation before a track is forecast; None keeps the current value.
            lost_track_ttl: seconds after its last update that a track is forgotten; None keeps it.
        """
        for name, value in (("min_track_age", min_track_age), ("lost_track_ttl", lost_track_ttl)):
            if value is not None:
                if not value >= 0:
                    raise ValueError(f"{name} must be >= 0 seconds, got {value}")
                setattr(self, name, float(value))

    def predict(self, obs, dt: float | None = None, scale=None, groups=None) -> np.ndarray:
        """Future positions at ``dt, 2*dt, ...`` seconds after the last observation.

        Args:
            obs: (N, T_obs, 2) positions ``dt`` seconds apart (same time grid within a group).
            dt: the grid's step in seconds; None: the forecaster's own (:attr:`dt`).
            scale: optional (N,) object heights in obs units (pixels for video); None means metres.
            groups: optional (N,) int labels; tracks sharing a label are each other's neighbours.

        Returns:
            (N, T_pred, 2) positions in the units of ``obs``.

        Raises:
            ValueError: names the rows of ``obs`` holding NaN, inf or a magnitude over 1e9 (left out of
                the batch, they cannot spoil their neighbours' forecasts); or a ``dt`` that is not a
                positive, finite number of seconds.
        """
        mean, _ = self.predict_with_sigma(obs, dt=dt, scale=scale, groups=groups)
        return mean

    def predict_batch(self, obs, dt: float | None = None, scale=None, groups=None, k: int = 0):
        """:meth:`predict_with_sigma` and, when ``k > 0``, :meth:`predict_modes` in one call. The
        pipeline calls this once per frame; learned forecasters override it to encode the tracks once
        for both.

        Args:
            obs: (N, T_obs, 2) positions, as :meth:`predict` takes them.
            dt: the grid's step in seconds (None: the forecaster's own).
            scale: optional (N,) object heights in obs units.
            groups: optional (N,) neighbour labels.
            k: modes wanted; 0 for none.

        Returns:
            ``(mean (N, T_pred, 2), sigma (N, T_pred, 2) or None, ModeBatch or None)``.
        """
        mean, sigma = self.predict_with_sigma(obs, dt=dt, scale=scale, groups=groups)
        if not k:
            return mean, sigma, None
        probs = np.ones((len(mean), 1), np.float32)
        return mean, sigma, ModeBatch.padded(mean[:, None], probs, None if sigma is None else sigma[:, None], k)

    def predict_modes(self, obs, dt: float | None = None, scale=None, groups=None, k: int = 20) -> ModeBatch:
        """The ``k`` most probable futures. A single-future forecaster returns its one forecast with
        probability 1, repeated (with probability 0) when ``k > 1``.

        Args:
            obs: (N, T_obs, 2) positions, as :meth:`predict` takes them.
            dt: the grid's step in seconds (None: the forecaster's own).
            scale: optional (N,) object heights in obs units.
            groups: optional (N,) neighbour labels.
            k: modes wanted (>= 1).

        Returns:
            The :class:`ModeBatch`: points (N, k, T_pred, 2), probs (N, k).
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        return self.predict_batch(obs, dt=dt, scale=scale, groups=groups, k=k)[2]

    @abstractmethod
    def predict_with_sigma(self, obs, dt: float | None = None, scale=None, groups=None) -> tuple[np.ndarray, np.ndarray | None]:
        """Like :meth:`predict`, plus the forecast's uncertainty.

        Args:
            obs: (N, T_obs, 2) positions ``dt`` seconds apart.
            dt: the grid's step in seconds (None: the forecaster's own).
            scale: optional (N,) object heights in obs units (pixels for video); None means metres.
            groups: optional (N,) neighbour labels.

        Returns:
            ``(mean (N, T_pred, 2), sigma)``: sigma the per-step standard deviations (N, T_pred, 2) in
            obs units, or None.
        """

    # Stateful use, for callers that already have detections (no YOLO): feed observations one by
    # one, then ask for every live track's forecast. One producer and one consumer thread may share it.
    # Tracks are each other's neighbours (the LSTM's social input) only when their last updates
    # carry the same timestamp: update all tracks of one sensor frame with that frame's time.
    lost_track_ttl: float = 2.0  # seconds after its last update that a track is forgotten
    min_track_age: float = 0.8  # seconds of observation before a track is forecast

    def update(self, track_id: int, timestamp: float, box_or_point) -> None:
        """Record one observation of a track.

        A moving robot passes points in a fixed world/odometry frame (its detection in its base frame,
        moved by its pose at capture time), never in its own base frame: the robot's motion would
        read as the people's motion. Forecasts then come back in that world frame.

        A sample holding NaN, inf or a magnitude over 1e9 is dropped with a
        :class:`~trajpipe.errors.TrajpipeWarning` (a sensor's glitch must not end the loop).

        Args:
            track_id: the track's id.
            timestamp: seconds, after the track's previous one (else a ValueError).
            box_or_point: a box ``[x1, y1, x2, y2]`` in pixels (the bottom centre is tracked, the
                height sets the scale) or a point ``[x, y]`` in metres.
        """
        self._store.update(track_id, timestamp, box_or_point)

    def forecast_all(self, now: float | None = None) -> dict:
        """The forecast of every live track observed for at least ``min_track_age``. Tracks are
        neighbours of each other only when their last updates have the same timestamp.

        Args:
            now: seconds, the clock of :meth:`update`: tracks not updated for ``lost_track_ttl`` before
                it are dropped first, so a track that stopped being seen is not forecast forever.
                None: tracks are dropped only by later updates of other tracks.

        Returns:
            ``{track_id: Forecast}``, each forecast starting at its track's last observation
            (``Forecast.origin``).
        """
        return self._store.forecast_all(now)

    def adapt_to_scene(self, on: bool = True) -> None:
        """Adapt the stateful API's forecasts to the scene it is fed (on by default, as the config key
        ``adapt_to_scene``; see :mod:`trajpipe.forecast.adapt`): from its own finished forecasts, the
        per-step shrinkage towards constant velocity and the sigma scale. Until 50 forecasts are
        finished, the forecasts are the shipped model's.

        Args:
            on: True starts adapting (a new scene: what was learnt is forgotten); False stops and
                forecasts as shipped. The state is :attr:`adaptation`.
        """
        self._store.adapt(on)

    @property
    def adaptation(self):
        """The stateful API's :class:`~trajpipe.core.results.Adaptation`, or None when it does not adapt."""
        adapter = self._store.adapter
        return None if adapter is None else adapter.state

    def _check_obs(self, obs) -> np.ndarray:
        """``obs`` as a float32 (N, T_obs, 2) array; a ValueError naming the rows (tracks) that hold bad
        numbers: refused here, one bad track would spoil the forecasts of its neighbours."""
        obs = np.asarray(obs, dtype=np.float32)
        if obs.ndim != 3 or obs.shape[2] != 2:
            raise ValueError(f"obs must have shape (N, T_obs, 2), got {obs.shape}")
        if obs.shape[1] < 2:
            raise ValueError("obs needs at least 2 time steps to define a velocity")
        bad = bad_rows(obs)
        if bad.any():
            raise ValueError(f"obs rows {rows_text(bad)} (tracks of this batch) hold {BAD_VALUES}: "
                             "leave those tracks out")
        return obs

    def _check_dt(self, dt: float | None) -> float:
        """The caller's time step in seconds (None: the forecaster's own); a ValueError unless positive and finite."""
        return self.dt if dt is None else check_step(dt)
