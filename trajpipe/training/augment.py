"""Training data made harder than it comes: observation noise like a detector's (per replica of the
windows), far bystanders under the social range, and random stretch, mirror and rotation of each
batch (every sample is already in its own heading frame, so the model is invariant to the scene's
global orientation)."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..core.anchors import metres_per_unit
from ..core.interp import rotate
from .windows import Windows


def with_observation_noise(w: Windows, sigma_m: float, copies: int, rng: np.random.Generator,
                           spread: bool = False) -> Windows:
    """``copies`` replicas of ``w`` whose observed positions (targets and neighbours alike) carry
    Gaussian jitter of ``sigma_m`` metres per axis, like a detector's boxes on video; futures stay clean.
    Each replica keeps its own groups, so neighbours come from the same replica.
    ``spread``: a range of noise instead of one level: the clean windows are kept as one more replica,
    and in the noisy ones every track gets its own level drawn uniformly in [0, 2 sigma_m]."""
    factor = metres_per_unit(w.scale, len(w.obs))  # metres per unit
    replicas = [w] if spread else []
    for _ in range(copies):
        level = rng.uniform(0.0, 2.0 * sigma_m, len(w.obs))[:, None, None] if spread else sigma_m
        noise = rng.normal(0.0, 1.0, w.obs.shape) * level / factor[:, None, None]
        replicas.append(Windows(w.obs + noise.astype(np.float32), w.fut, w.scale, w.groups, w.is_target))
    return Windows.concat(replicas)


def with_bystanders(w: Windows, share: float, social_range: float, rng: np.random.Generator) -> Windows:
    """``w`` plus, in a random ``share`` of its windows, 1 to 30 extra people at or beyond the social
    range of everyone in the window (1 to 50 ranges beyond the group, one in ten 1 km away), standing
    or walking up to 2 m/s in any direction, as neighbours with no future. Under the range rule they are
    no one's neighbours, so the model is trained on exactly what it sees when far people are in a frame."""
    if share <= 0 or social_range <= 0 or not len(w.obs):
        return w
    T = w.obs.shape[1]
    factor = metres_per_unit(w.scale, len(w.obs))
    order = np.argsort(w.groups, kind="stable")
    bounds = np.flatnonzero(np.diff(w.groups[order])) + 1
    obs_l, sc_l, grp_l = [], [], []
    steps = np.arange(T) - (T - 1)  # last step at 0
    for idx in np.split(order, bounds):
        if rng.random() >= share or not w.is_target[idx].any():
            continue
        f = factor[idx].min()  # metres per unit of the group's smallest scale: far enough for everyone
        last = w.obs[idx, -1].astype(np.float64)
        centre = last.mean(0)
        reach = np.linalg.norm(last - centre, axis=1).max() * factor[idx].max()  # metres
        n = int(rng.integers(1, 31))
        dist = reach + social_range * rng.uniform(1.0, 50.0, n) * 1.001
        dist[rng.random(n) < 0.1] = reach + 1000.0
        ang = rng.uniform(0, 2 * np.pi, n)
        speed = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(0.2, 2.0, n)) * 0.4  # metres per 0.4 s step
        head = rng.uniform(0, 2 * np.pi, n)
        end = np.stack([np.cos(ang), np.sin(ang)], -1) * dist[:, None]
        vel = np.stack([np.cos(head), np.sin(head)], -1) * speed[:, None]
        path = end[:, None] + vel[:, None] * steps[None, :, None]  # metres, relative to the group's centre
        obs_l.append((centre + path / f).astype(np.float32))
        sc_l.append(np.full(n, w.scale[idx[0]], np.float32))
        grp_l.append(np.full(n, w.groups[idx[0]], np.int64))
    if not obs_l:
        return w
    n_new = sum(len(o) for o in obs_l)
    P = w.fut.shape[1]
    return Windows(
        obs=np.concatenate([w.obs, *obs_l]),
        fut=np.concatenate([w.fut, np.full((n_new, P, 2), np.nan, np.float32)]),
        scale=np.concatenate([w.scale, *sc_l]),
        groups=np.concatenate([w.groups, *grp_l]),
        is_target=np.concatenate([w.is_target, np.zeros(n_new, bool)]),
    )


def augment_batch(own, nb, y, mirror: bool, rot_deg: float, gen: torch.Generator, scale_aug: float = 0.0):
    """A training batch in canonical frames, randomly stretched (``scale_aug``: a share of the size,
    i.e. another walking speed), mirrored about the heading (``mirror``) and rotated by up to
    ``rot_deg`` degrees; own (B, T, 4), neighbours (B, k, T, 4) and futures (B, P, 2) alike."""
    B = own.shape[0]
    if scale_aug > 0:  # stretch the whole sample in space (= a different walking speed)
        f = 1.0 + (torch.rand(B, generator=gen) * 2 - 1) * scale_aug
        own = own * f[:, None, None]; nb = nb * f[:, None, None, None]; y = y * f[:, None, None]
    if mirror:
        sgn = torch.where(torch.rand(B, generator=gen) < 0.5, -1.0, 1.0)
        own = own.clone(); nb = nb.clone(); y = y.clone()
        own[..., 1] *= sgn[:, None]; own[..., 3] *= sgn[:, None]
        nb[..., 1] *= sgn[:, None, None]; nb[..., 3] *= sgn[:, None, None]
        y[..., 1] *= sgn[:, None]
    if rot_deg > 0:
        a = (torch.rand(B, generator=gen) * 2 - 1) * math.radians(rot_deg)
        c, s = torch.cos(a), -torch.sin(a)  # rotate() turns the frame: -a turns the vectors by a

        def rot(v, cc, ss):
            return rotate(v, cc, ss, stack=torch.stack)

        own = torch.cat([rot(own[..., :2], c[:, None], s[:, None]), rot(own[..., 2:], c[:, None], s[:, None])], dim=-1)
        nb = torch.cat([rot(nb[..., :2], c[:, None, None], s[:, None, None]), rot(nb[..., 2:], c[:, None, None], s[:, None, None])], dim=-1)
        y = rot(y, c[:, None], s[:, None])
    return own, nb, y
