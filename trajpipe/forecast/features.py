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

    The canonical frame of track i has its origin at i's last observed point, metres as unit
    (``factor[i]``) and +x along i's last velocity (or its overall displacement when it stands still;
    identity if it never moved).

    Args:
        obs: (N, T, 2) observed positions in obs units.
        factor: (N,) metres per obs unit for each track (1 for metric).
        groups: (N,) group of each track (neighbours only within a group), or None: no neighbours.
        k: neighbours per track.
        social_range: metres; people at this distance or farther are not neighbours at all (<= 0: no
            range, every group member weighs 1: the rule of checkpoints from before the range).

    Returns:
        dict of float32 arrays: ``own`` (N, T, 4): position relative to the last point, per-step
        displacement (first step 0); ``nb`` (N, T, k, 4): for the k nearest group members within the
        range (distance at the last step, in i's metres), their position minus i's at the same step and
        their displacement minus i's (rows of non-neighbours stay zero); ``nb_mask`` (N, k): each
        neighbour's weight :func:`social_weight` (0 for empty rows), by which the network multiplies its
        embedding, so a neighbour's influence fades with distance and vanishes at the range;
        ``cos``, ``sin`` (N,) of the rotation; ``origin`` (N, 2); ``factor`` (N,).
    """
    obs = np.asarray(obs, dtype=np.float64)
    factor = np.asarray(factor, dtype=np.float64)
    c, s = _heading(obs, factor)
    pos = rotate((obs - obs[:, -1:]) * factor[:, None, None], c[:, None], s[:, None])
    disp = np.concatenate([np.zeros((len(obs), 1, 2)), np.diff(pos, axis=1)], axis=1)
    nb, nb_mask = _neighbour_inputs(obs, factor, c, s, groups, k, social_range)
    return {
        "own": np.concatenate([pos, disp], axis=-1).astype(np.float32),
        "nb": nb.astype(np.float32),
        "nb_mask": nb_mask.astype(np.float32),
        "cos": c.astype(np.float32),
        "sin": s.astype(np.float32),
        "origin": obs[:, -1].astype(np.float32),
        "factor": factor.astype(np.float32),
    }


def _heading(obs: np.ndarray, factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cos, sin) (N,) of each track's canonical +x: its last velocity, else its overall displacement."""
    m = (obs - obs[:, -1:]) * factor[:, None, None]
    v = m[:, -1] - m[:, -2]
    use = np.where(np.linalg.norm(v, axis=1)[:, None] > 1e-3, v, m[:, -1] - m[:, 0])
    norm = np.linalg.norm(use, axis=1)
    c = np.where(norm > 1e-3, use[:, 0] / np.maximum(norm, 1e-12), 1.0)
    s = np.where(norm > 1e-3, use[:, 1] / np.maximum(norm, 1e-12), 0.0)
    return c, s


def _neighbour_inputs(obs, factor, c, s, groups, k: int, social_range: float):
    """``nb`` (N, T, k, 4) and ``nb_mask`` (N, k) of :func:`canonical_inputs`."""
    N, T, _ = obs.shape
    nb, nb_mask = np.zeros((N, T, k, 4)), np.zeros((N, k))
    if groups is None or k <= 0:
        return nb, nb_mask
    groups = np.asarray(groups)
    order = np.argsort(groups, kind="stable")
    for idx in np.split(order, np.flatnonzero(np.diff(groups[order])) + 1):
        if len(idx) < 2:
            continue
        P = obs[idx]  # (n, T, 2) obs units
        nn, dist = nearest_neighbours(P[:, -1], factor[idx], min(k, len(idx) - 1), social_range)
        weight = np.where(nn >= 0, social_weight(dist, social_range), 0.0)  # (n, kk), 0 beyond range
        keep = (weight > 0)[:, None, :, None]
        nn = np.maximum(nn, 0)
        D = np.diff(P, axis=1, prepend=P[:, :1])  # (n, T, 2)
        rel = (P[nn] - P[:, None]).transpose(0, 2, 1, 3)  # (n, T, kk, 2)
        drel = (D[nn] - D[:, None]).transpose(0, 2, 1, 3)
        f = factor[idx][:, None, None, None]
        cc, ss = c[idx][:, None, None], s[idx][:, None, None]
        kk = nn.shape[1]
        nb[idx, :, :kk, :2] = np.where(keep, rotate(rel * f, cc, ss), 0.0)
        nb[idx, :, :kk, 2:] = np.where(keep, rotate(drel * f, cc, ss), 0.0)
        nb_mask[idx, :kk] = weight
    return nb, nb_mask


EVERY_PAIR_UP_TO = 300  # points: comparing every pair is quicker than building a KD-tree (and importing scipy)


def nearest_neighbours(points: np.ndarray, factor: np.ndarray, k: int, social_range: float):
    """The k nearest other points of each point, nearest first, by distance in that point's metres.

    Args:
        points: (n, 2) positions in obs units.
        factor: (n,) metres per obs unit of each point (distances from point i are in i's metres).
        k: neighbours wanted (k < n).
        social_range: metres; > 0 looks only within it, with a KD-tree beyond EVERY_PAIR_UP_TO points
            (time about linear in n at a given density); <= 0 compares every pair.

    Returns:
        (n, k) indices (-1: none within the range) and (n, k) distances in metres (inf where none).
    """
    n = len(points)
    if social_range is None or social_range <= 0 or n <= EVERY_PAIR_UP_TO:
        dist = np.linalg.norm(points[:, None] - points[None], axis=-1) * factor[:, None]
        np.fill_diagonal(dist, np.inf)
        nn = np.argsort(dist, axis=1, kind="stable")[:, :k]
        dist = np.take_along_axis(dist, nn, axis=1)
        if social_range is None or social_range <= 0:
            return nn, dist
        return np.where(dist < social_range, nn, -1), np.where(dist < social_range, dist, np.inf)
    from scipy.spatial import cKDTree

    finite = np.isfinite(points).all(axis=1)  # a point without a position has no neighbours and is none
    tree = cKDTree(points[finite])
    owners = np.flatnonzero(finite)
    reach = float((social_range / factor[finite]).max())  # the widest range, in obs units
    found, index = tree.query(points[finite], k=k + 1, distance_upper_bound=reach)  # the point itself too
    index = np.where(np.isfinite(found), owners[np.minimum(index, len(owners) - 1)], -1)
    dist = found * factor[finite][:, None]  # each row in its own point's metres
    index[(index == owners[:, None]) | ~(dist < social_range)] = -1
    dist[index < 0] = np.inf
    first = np.argsort(index < 0, axis=1, kind="stable")[:, :k]  # the k nearest others, nearest first
    nn, nn_dist = np.full((n, k), -1, np.int64), np.full((n, k), np.inf)
    nn[finite] = np.take_along_axis(index, first, axis=1)
    nn_dist[finite] = np.take_along_axis(dist, first, axis=1)
    return nn, nn_dist


def to_canonical(fut: np.ndarray, inp: dict) -> np.ndarray:
    """Future positions (N, T, 2) in obs units -> canonical frame (metres)."""
    m = (fut - inp["origin"][:, None]) * inp["factor"][:, None, None]
    return rotate(m, inp["cos"][:, None], inp["sin"][:, None]).astype(np.float32)

