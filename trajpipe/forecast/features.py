"""The forecaster's inputs: each track in its own canonical frame, with its nearest neighbours.

Shared by every learned forecaster at inference (torch and ONNX runtimes) and by training, so that a
model always sees the inputs it was trained on.
"""

from __future__ import annotations

import numpy as np

from ..core.interp import rotate


def canonical_inputs(obs: np.ndarray, factor: np.ndarray, groups: np.ndarray | None, k: int) -> dict:
    """Per-step model inputs in each track's canonical frame.

    obs (N, T, 2) in obs units; ``factor`` (N,) metres per obs unit for each track (1 for metric);
    groups (N,) or None. The canonical frame of track i has its origin at i's last observed point,
    metres as unit (``factor[i]``) and +x along i's last velocity (or its overall displacement when it
    stands still; identity if it never moved). Returns float32 arrays:

    own (N, T, 4): position relative to the last point, per-step displacement (first step 0);
    nb (N, T, k, 4): for the k nearest group members (distance at the last step): their position
        minus i's position at the same step, their displacement minus i's displacement;
    nb_mask (N, k); cos, sin (N,) of the rotation; origin (N, 2); factor (N,).
    """
    obs = np.asarray(obs, dtype=np.float64)
    N, T, _ = obs.shape
    factor = np.asarray(factor, dtype=np.float64)
    last = obs[:, -1]
    m = (obs - last[:, None]) * factor[:, None, None]  # metres, origin at last point
    v = m[:, -1] - m[:, -2]
    d_all = m[:, -1] - m[:, 0]
    speed = np.linalg.norm(v, axis=1)
    use = np.where(speed[:, None] > 1e-3, v, d_all)
    norm = np.linalg.norm(use, axis=1)
    c = np.where(norm > 1e-3, use[:, 0] / np.maximum(norm, 1e-12), 1.0)
    s = np.where(norm > 1e-3, use[:, 1] / np.maximum(norm, 1e-12), 0.0)
    pos = rotate(m, c[:, None], s[:, None])
    disp = np.concatenate([np.zeros((N, 1, 2)), np.diff(pos, axis=1)], axis=1)
    own = np.concatenate([pos, disp], axis=-1)

    nb = np.zeros((N, T, k, 4))
    nb_mask = np.zeros((N, k))
    if groups is not None and k > 0:
        groups = np.asarray(groups)
        order = np.argsort(groups, kind="stable")
        sg = groups[order]
        bounds = np.flatnonzero(np.diff(sg)) + 1
        for idx in np.split(order, bounds):
            n = len(idx)
            if n < 2:
                continue
            P = obs[idx]  # (n, T, 2) obs units
            D = np.diff(P, axis=1, prepend=P[:, :1])  # (n, T, 2)
            dist = np.linalg.norm(P[:, None, -1] - P[None, :, -1], axis=-1)
            np.fill_diagonal(dist, np.inf)
            kk = min(k, n - 1)
            nn = np.argsort(dist, axis=1)[:, :kk]  # (n, kk)
            rel = (P[nn] - P[:, None]).transpose(0, 2, 1, 3)  # (n, T, kk, 2)
            drel = (D[nn] - D[:, None]).transpose(0, 2, 1, 3)
            f = factor[idx][:, None, None, None]
            cc, ss = c[idx][:, None, None], s[idx][:, None, None]
            nb[idx, :, :kk, :2] = rotate(rel * f, cc, ss)
            nb[idx, :, :kk, 2:] = rotate(drel * f, cc, ss)
            nb_mask[idx, :kk] = 1.0
    return {
        "own": own.astype(np.float32),
        "nb": nb.astype(np.float32),
        "nb_mask": nb_mask.astype(np.float32),
        "cos": c.astype(np.float32),
        "sin": s.astype(np.float32),
        "origin": last.astype(np.float32),
        "factor": factor.astype(np.float32),
    }


def to_canonical(fut: np.ndarray, inp: dict) -> np.ndarray:
    """Future positions (N, T, 2) in obs units -> canonical frame (metres)."""
    m = (fut - inp["origin"][:, None]) * inp["factor"][:, None, None]
    return rotate(m, inp["cos"][:, None], inp["sin"][:, None]).astype(np.float32)

