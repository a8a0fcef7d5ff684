"""Training and evaluation samples cut from a :class:`~trajpipe.training.data.TrackTable`.

Windows: every run of ``obs_steps + pred_steps`` consecutive grid steps (stride 1). A *target* is a
track present at all of them (the standard ETH/UCY protocol). Its *neighbours* are all tracks present
at the last observed step; a neighbour's missing earlier steps hold its first observed position in
the window, which is what the video pipeline's resampling does to short tracks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.interp import resample
from ..errors import TrajpipeError
from ..forecast.base import OBS_STEPS, PRED_STEPS
from .data import TrackTable


@dataclass
class Windows:
    """Training/evaluation samples. ``obs`` (N, T_obs, 2) holds targets *and* neighbours; rows with
    ``is_target`` have a future ``fut`` (N, T_pred, 2) (NaN otherwise). ``groups`` (N,) labels the
    window (rows of a window are each other's neighbours). ``scale`` (N,) NaN for metric data."""

    obs: np.ndarray
    fut: np.ndarray
    scale: np.ndarray
    groups: np.ndarray
    is_target: np.ndarray

    def __len__(self) -> int:
        return int(self.is_target.sum())

    @staticmethod
    def concat(parts: list["Windows"]) -> "Windows":
        parts = [p for p in parts if len(p.obs)]
        if not parts:
            raise TrajpipeError("no complete trajectory windows found in the data (tracks too short?)")
        offset, groups = 0, []
        for p in parts:
            groups.append(p.groups + offset)
            offset += int(p.groups.max()) + 1 if len(p.groups) else 0
        return Windows(
            obs=np.concatenate([p.obs for p in parts]),
            fut=np.concatenate([p.fut for p in parts]),
            scale=np.concatenate([p.scale for p in parts]),
            groups=np.concatenate(groups),
            is_target=np.concatenate([p.is_target for p in parts]),
        )


def make_windows(table: TrackTable, obs_steps: int = OBS_STEPS, pred_steps: int = PRED_STEPS, stride: int = 1) -> Windows:
    """Cut a table into windows (see module docstring)."""
    pos, sc = table.pos, table.scale
    F = pos.shape[0]
    L = obs_steps + pred_steps
    present = np.isfinite(pos[..., 0])  # (F, M)
    obs_l, fut_l, sc_l, grp_l, tgt_l = [], [], [], [], []
    g = 0
    for s in range(0, F - L + 1, stride):
        full = present[s : s + L].all(axis=0)
        if not full.any():
            continue
        nb = present[s + obs_steps - 1] & ~full
        rows = np.concatenate([np.flatnonzero(full), np.flatnonzero(nb)])
        o = pos[s : s + obs_steps, rows].transpose(1, 0, 2).copy()  # (n, T, 2)
        # hold the first observed position of late-starting neighbours (as the pipeline does)
        for r in range(len(rows)):
            miss = ~np.isfinite(o[r, :, 0])
            if miss.any():
                first = np.flatnonzero(~miss)[0]
                o[r, :first] = o[r, first]
                # gaps in the middle: interpolate
                miss = ~np.isfinite(o[r, :, 0])
                if miss.any():
                    idx = np.arange(obs_steps)
                    o[r, miss] = resample(idx[~miss], o[r, ~miss], idx[miss])
        n_t = int(full.sum())
        f = np.full((len(rows), pred_steps, 2), np.nan)
        f[:n_t] = pos[s + obs_steps : s + L, rows[:n_t]].transpose(1, 0, 2)
        scale_rows = np.nanmedian(np.where(np.isfinite(sc[s : s + obs_steps, rows]), sc[s : s + obs_steps, rows], np.nan), axis=0) if np.isfinite(sc[s : s + obs_steps, rows]).any() else np.full(len(rows), np.nan)
        obs_l.append(o)
        fut_l.append(f)
        sc_l.append(scale_rows)
        grp_l.append(np.full(len(rows), g))
        tgt = np.zeros(len(rows), bool)
        tgt[:n_t] = True
        tgt_l.append(tgt)
        g += 1
    if not obs_l:
        z = np.zeros((0, obs_steps, 2))
        return Windows(z, np.zeros((0, pred_steps, 2)), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, bool))
    return Windows(
        obs=np.concatenate(obs_l).astype(np.float32),
        fut=np.concatenate(fut_l).astype(np.float32),
        scale=np.concatenate(sc_l).astype(np.float32),
        groups=np.concatenate(grp_l).astype(np.int64),
        is_target=np.concatenate(tgt_l),
    )


def split_table(table: TrackTable, val_fraction: float, window_steps: int = OBS_STEPS + PRED_STEPS) -> tuple[TrackTable, TrackTable]:
    """Split a recording for sources that come without a predefined split (MOT, JSON-lines): in time
    (first part train, last ``val_fraction`` val) where both parts hold a whole window of
    ``window_steps`` grid steps; a shorter recording (e.g. 13.6 s of video for 8 s windows) by its tracks
    instead: every ``round(1 / val_fraction)``-th track long enough for a window validates.

    Args:
        table: one recording.
        val_fraction: share of it for validation, in (0, 1).
        window_steps: grid steps of one window (observed + forecast).

    Returns:
        The training and validation tables.
    """
    F = table.pos.shape[0]
    cut = int(round(F * (1 - val_fraction)))
    if min(cut, F - cut) >= window_steps:
        return (TrackTable(table.name + ":train", table.pos[:cut], table.scale[:cut], table.dt),
                TrackTable(table.name + ":val", table.pos[cut:], table.scale[cut:], table.dt))
    long_enough = np.flatnonzero(np.isfinite(table.pos[..., 0]).sum(axis=0) >= window_steps)
    every = max(2, int(round(1 / val_fraction)))
    chosen = long_enough[every - 1::every] if len(long_enough) >= every else long_enough[-1:]
    val = np.zeros(table.pos.shape[1], bool)
    val[chosen if len(long_enough) > 1 else []] = True  # a single long track trains
    return (TrackTable(table.name + ":train", table.pos[:, ~val], table.scale[:, ~val], table.dt),
            TrackTable(table.name + ":val", table.pos[:, val], table.scale[:, val], table.dt))
