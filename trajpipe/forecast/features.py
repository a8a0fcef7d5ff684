"""The forecaster's inputs: each track in its own canonical frame, with its nearest neighbours.

Shared by every learned forecaster at inference (torch and ONNX runtimes) and by training, so that a
model always sees the inputs it was trained on.
"""

from __future__ import annotations

import numpy as np

from ..core.interp import rotate


def social_weight(dist_m: np.ndarray, social_range: float) -> np.ndarray:
    """Weight of a neighbour at ``dist_m`` metres: ``(1 - (d / R)^2)^2`` inside the social range R,
    exactly 0 from R on (smooth: value and slope reach 0 at R, so a person crossing R changes nothing
    abruptly). R <= 0: no range, every neighbour weighs 1 (checkpoints from before the range)."""
    dist_m = np.asarray(dist_m, dtype=np.float64)
    if social_range is None or social_range <= 0:
        return np.where(np.isfinite(dist_m), 1.0, 0.0)
    u = np.clip(dist_m / social_range, 0.0, 1.0)
    return np.where(dist_m < social_range, (1.0 - u * u) ** 2, 0.0)


def canonical_inputs(obs: np.ndarray, factor: np.ndarray, groups: np.ndarray | None, k: int,
                     social_range: float = 0.0) -> dict:
    """Per-step model inputs in each track's canonical frame.

    obs (N, T, 2) in obs units; ``factor`` (N,) metres per obs unit for each track (1 for metric);
    groups (N,) or None. The canonical frame of track i has its origin at i's last observed point,
    metres as unit (``factor[i]``) and +x along i's last velocity (or its overall displacement when it
    stands still; identity if it never moved). Returns float32 arrays:

    own (N, T, 4): position relative to the last point, per-step displacement (first step 0);
    nb (N, T, k, 4): for the k nearest group members within ``social_range`` metres of i (distance
        at the last step, in i's metres): their position minus i's position at the same step, their
        displacement minus i's displacement; people at ``social_range`` or farther are not neighbours
        at all (their rows stay zero), whatever their number;
    nb_mask (N, k): each neighbour's weight :func:`social_weight` (1 near, falling smoothly to 0 at
        the range; 0 for empty rows). The network multiplies each neighbour's embedding by it, so a
        neighbour's influence fades with distance and vanishes at the range by construction.
        ``social_range`` <= 0: no range, weights 1 (the rule of checkpoints from before the range).
    cos, sin (N,) of the rotation; origin (N, 2); factor (N,).
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
            dist = np.linalg.norm(P[:, None, -1] - P[None, :, -1], axis=-1) * factor[idx][:, None]  # i's metres
            np.fill_diagonal(dist, np.inf)
            kk = min(k, n - 1)
            nn = np.argsort(dist, axis=1)[:, :kk]  # (n, kk)
            weight = social_weight(np.take_along_axis(dist, nn, axis=1), social_range)  # (n, kk), 0 beyond range
            keep = (weight > 0)[:, None, :, None]
            rel = (P[nn] - P[:, None]).transpose(0, 2, 1, 3)  # (n, T, kk, 2)
            drel = (D[nn] - D[:, None]).transpose(0, 2, 1, 3)
            f = factor[idx][:, None, None, None]
            cc, ss = c[idx][:, None, None], s[idx][:, None, None]
            nb[idx, :, :kk, :2] = np.where(keep, rotate(rel * f, cc, ss), 0.0)
            nb[idx, :, :kk, 2:] = np.where(keep, rotate(drel * f, cc, ss), 0.0)
            nb_mask[idx, :kk] = weight
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

