"""Trajectory data for training and evaluating forecasters.

Three sources, all turned into a :class:`TrackTable` (positions on a uniform time grid):

* ETH/UCY text files (``frame  id  x  y``, tab separated, metres, one annotation every 0.4 s),
  the Social-GAN leave-one-scene-out layout ``<scene>/{train,val,test}/*.txt``.
* MOTChallenge ``gt.txt`` (``frame,id,x,y,w,h,...``, pixels). Position = **box bottom centre** (the
  ground-contact point that ``trajpipe run`` tracks and forecasts), scale = box height. Needs the fps.
* trajpipe's own JSON-lines output (one object per frame with ``timestamp`` and ``tracks``; each
  track's ``box`` is ``[x1, y1, x2, y2]``). Position = the track's ``point`` (bottom centre) when the
  record has one, else the box centre; scale = box height. (Only displacements enter the model, and
  centre and bottom centre move alike, so either choice trains the same thing.)

Pixel sources are resampled onto the forecaster's grid (default 0.4 s) by linear interpolation
inside each track's observed time span (never extrapolated).

Windows: every run of ``obs_steps + pred_steps`` consecutive grid steps (stride 1). A *target* is a
track present at all of them (the standard ETH/UCY protocol). Its *neighbours* are all tracks present
at the last observed step; a neighbour's missing earlier steps hold its first observed position in
the window, which is what the video pipeline's resampling does to short tracks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import TrajpipeError
from ..results import read_jsonl

PERSON_HEIGHT_M = 1.75  # one box height of a person is taken as this many metres


@dataclass
class TrackTable:
    """Positions of every track of one recording on a uniform grid: ``pos`` (F, M, 2) with NaN where a
    track is absent; ``scale`` (F, M) object height in position units (NaN: unknown, i.e. metric)."""

    name: str
    pos: np.ndarray
    scale: np.ndarray
    dt: float


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


# ----------------------------------------------------------------------------------------- loaders


def _table_from_rows(name: str, frame_idx: np.ndarray, ids: np.ndarray, xy: np.ndarray, scale: np.ndarray, dt: float) -> TrackTable:
    frame_idx = np.asarray(frame_idx, dtype=np.int64)
    frame_idx = frame_idx - frame_idx.min()
    uid, col = np.unique(ids, return_inverse=True)
    F, M = int(frame_idx.max()) + 1, len(uid)
    pos = np.full((F, M, 2), np.nan, dtype=np.float64)
    sc = np.full((F, M), np.nan, dtype=np.float64)
    pos[frame_idx, col] = xy
    sc[frame_idx, col] = scale
    return TrackTable(name, pos, sc, dt)


def load_eth_ucy(path: str | Path, dt: float = 0.4) -> TrackTable:
    """One ETH/UCY ``frame id x y`` file (metres). Frame numbers are mapped onto the grid using their
    most common spacing, so gaps in the recording stay gaps."""
    path = Path(path)
    try:
        a = np.loadtxt(path, ndmin=2)
    except (OSError, ValueError) as e:
        raise TrajpipeError(f"cannot read ETH/UCY file {path}: {e}") from None
    if a.size == 0 or a.shape[1] < 4:
        raise TrajpipeError(f"{path} is not an ETH/UCY 'frame id x y' file")
    frames = np.unique(a[:, 0])
    diffs = np.diff(frames)
    step = np.bincount(np.round(diffs).astype(np.int64)).argmax() if len(diffs) else 1
    step = max(int(step), 1)
    idx = np.round((a[:, 0] - frames[0]) / step).astype(np.int64)
    return _table_from_rows(path.name, idx, a[:, 1], a[:, 2:4], np.full(len(a), np.nan), dt)


def _resample_rows(name: str, times: np.ndarray, ids: np.ndarray, xy: np.ndarray, h: np.ndarray, dt: float) -> TrackTable:
    """Irregular (time, id, xy, height) samples -> uniform grid of step ``dt`` by per-track linear
    interpolation inside each track's span."""
    order = np.lexsort((times, ids))
    times, ids, xy, h = times[order], ids[order], xy[order], h[order]
    t0 = times.min()
    F = int(np.floor((times.max() - t0) / dt + 1e-9)) + 1
    grid = t0 + dt * np.arange(F)
    uid, start = np.unique(ids, return_index=True)
    bounds = list(start) + [len(ids)]
    pos = np.full((F, len(uid), 2), np.nan)
    sc = np.full((F, len(uid)), np.nan)
    for m in range(len(uid)):
        s, e = bounds[m], bounds[m + 1]
        t = times[s:e]
        t, keep = np.unique(t, return_index=True)
        inside = (grid >= t[0] - 1e-9) & (grid <= t[-1] + 1e-9)
        if not inside.any():
            continue
        g = grid[inside]
        for d in range(2):
            pos[inside, m, d] = np.interp(g, t, xy[s:e][keep, d])
        sc[inside, m] = np.interp(g, t, h[s:e][keep])
    return TrackTable(name, pos, sc, dt)


def load_mot(path: str | Path, fps: float, dt: float = 0.4) -> TrackTable:
    """MOTChallenge ``gt.txt``/``det.txt`` style file: ``frame,id,x,y,w,h,...`` in pixels.
    Position = box bottom centre, scale = box height. Rows with a 7th column (``conf``/``consider``) equal to
    0 are ignored (MOT17 gt marks ignored boxes that way)."""
    path = Path(path)
    if fps is None or fps <= 0:
        raise TrajpipeError("MOTChallenge files need --fps (frames per second of the video)")
    try:
        a = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as e:
        raise TrajpipeError(f"cannot read MOTChallenge file {path}: {e}") from None
    if a.size == 0 or a.shape[1] < 6:
        raise TrajpipeError(f"{path} is not a MOTChallenge 'frame,id,x,y,w,h' file")
    if a.shape[1] >= 7:
        a = a[a[:, 6] != 0]
    xy = np.stack([a[:, 2] + a[:, 4] / 2.0, a[:, 3] + a[:, 5]], axis=1)
    return _resample_rows(path.name, a[:, 0] / fps, a[:, 1], xy, a[:, 5], dt)


def load_jsonl(path: str | Path, dt: float = 0.4, classes: tuple[str, ...] | None = ("person",)) -> TrackTable:
    """trajpipe ``run`` output: one JSON object per frame with ``timestamp`` (s) and ``tracks``.
    Position = ``point`` if present, else box centre; scale = box height (pixels). Only tracks of ``classes`` are kept
    (None: all)."""
    path = Path(path)
    t, ids, xy, h = [], [], [], []
    try:
        for rec in read_jsonl(path):
            for tr in rec["tracks"]:
                if classes is not None and tr.get("class", "person") not in classes:
                    continue
                x1, y1, x2, y2 = tr["box"]
                t.append(float(rec["timestamp"]))
                ids.append(int(tr["id"]))
                pt = tr.get("point")
                xy.append((float(pt[0]), float(pt[1])) if pt is not None else ((x1 + x2) / 2.0, (y1 + y2) / 2.0))
                h.append(y2 - y1)
    except (KeyError, TypeError, ValueError) as e:
        raise TrajpipeError(f"{path} is not a trajpipe JSON-lines tracks file ({e})") from None
    if not t:
        raise TrajpipeError(f"{path} holds no tracks")
    return _resample_rows(path.name, np.array(t), np.array(ids), np.array(xy, dtype=np.float64), np.array(h, dtype=np.float64), dt)


def eth_ucy_files(root: str | Path, scene: str | None, split: str) -> list[Path]:
    """Files of one split. ``root`` is either a fold directory (``.../eth_ucy/eth``, holding
    train/val/test) or the ``eth_ucy`` root; with the root and ``scene=None`` the split's files of all
    folds are merged (deduplicated by file name), i.e. every scene."""
    root = Path(root)
    if not root.is_dir():
        raise TrajpipeError(f"data directory not found: {root}")
    if scene is not None:
        root = root / scene
        if not root.is_dir():
            raise TrajpipeError(f"scene directory not found: {root}")
    if (root / split).is_dir():
        files = sorted((root / split).glob("*.txt"))
    else:
        seen: dict[str, Path] = {}
        for fold in sorted(p for p in root.iterdir() if (p / split).is_dir()):
            for f in sorted((fold / split).glob("*.txt")):
                seen.setdefault(f.name, f)
        files = [seen[k] for k in sorted(seen)]
    if not files:
        raise TrajpipeError(f"no {split} .txt files under {root}")
    return files


# ----------------------------------------------------------------------------------------- windows


def make_windows(table: TrackTable, obs_steps: int = 8, pred_steps: int = 12, stride: int = 1) -> Windows:
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
                    for d in range(2):
                        o[r, miss, d] = np.interp(idx[miss], idx[~miss], o[r, ~miss, d])
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


def load_tables(paths, fmt: str = "eth_ucy", fps: float | None = None, dt: float = 0.4) -> list[TrackTable]:
    out = []
    for p in paths:
        if fmt == "eth_ucy":
            out.append(load_eth_ucy(p, dt))
        elif fmt == "mot":
            out.append(load_mot(p, fps, dt))
        elif fmt == "jsonl":
            out.append(load_jsonl(p, dt))
        else:
            raise TrajpipeError(f"unknown data format {fmt!r} (use eth_ucy, mot or jsonl)")
    return out


def split_table(table: TrackTable, val_fraction: float) -> tuple[TrackTable, TrackTable]:
    """Split a recording in time (first part train, last ``val_fraction`` val) for sources that come
    without a predefined split (MOT, JSON-lines)."""
    F = table.pos.shape[0]
    cut = int(round(F * (1 - val_fraction)))
    a = TrackTable(table.name + ":train", table.pos[:cut], table.scale[:cut], table.dt)
    b = TrackTable(table.name + ":val", table.pos[cut:], table.scale[cut:], table.dt)
    return a, b


# ------------------------------------------------------------------------------ model input features


def _rot(v: np.ndarray, c: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Rotate (..., 2) vectors by per-row angle given cos/sin broadcastable to (...,)."""
    x, y = v[..., 0], v[..., 1]
    return np.stack([c * x + s * y, -s * x + c * y], axis=-1)


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
    pos = _rot(m, c[:, None], s[:, None])
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
            nb[idx, :, :kk, :2] = _rot(rel * f, cc, ss)
            nb[idx, :, :kk, 2:] = _rot(drel * f, cc, ss)
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


def scale_to_factor(scale, n: int) -> np.ndarray:
    """Metres per obs unit for each track: 1.75 m / box height, or 1 when scale is None/NaN."""
    if scale is None:
        return np.ones(n)
    scale = np.asarray(scale, dtype=np.float64).reshape(-1)
    if scale.shape[0] != n:
        raise ValueError(f"scale must have shape ({n},), got {scale.shape}")
    f = np.ones(n)
    ok = np.isfinite(scale) & (scale > 0)
    f[ok] = PERSON_HEIGHT_M / scale[ok]
    return f


def to_canonical(fut: np.ndarray, inp: dict) -> np.ndarray:
    """Future positions (N, T, 2) in obs units -> canonical frame (metres)."""
    m = (fut - inp["origin"][:, None]) * inp["factor"][:, None, None]
    return _rot(m, inp["cos"][:, None], inp["sin"][:, None]).astype(np.float32)

