"""Training settings, apart from the training code so that the CLI can show their defaults without
importing torch (``trajpipe --help`` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainConfig:
    cell: str = "lstm"
    hidden: int = 64
    layers: int = 1
    dropout: float = 0.0
    k: int = 4
    nb_embed: int = 32
    head: str = "gain"
    modes: int = 20  # alternative futures (winner-takes-all heads + mode classifier); 0: one forecast
    obs_steps: int = 8
    pred_steps: int = 12
    dt: float = 0.4
    epochs: int = 40
    patience: int = 6
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    nll_weight: float = 0.1
    cls_weight: float = 0.5  # mode classifier cross-entropy
    wta_relax: float = 0.05  # share of every mode's error in the loss, so that no mode is starved
    mirror: bool = True
    rot_deg: float = 0.0
    scale_aug: float = 0.2
    obs_noise: float = 0.0  # metres (per axis) of Gaussian jitter added to observed positions
    noise_copies: int = 2  # with obs_noise: noisy replicas of the training set
    noise_range: bool = False  # with obs_noise: each replica's tracks get a level drawn in [0, 2 obs_noise], clean included
    noise_feature: bool = False  # the net reads a per-track noise estimate (RMS second difference)
    social_range: float = 10.0  # metres; people this far or farther are no neighbours; nearer ones weigh by distance
    bystanders: float = 0.3  # share of training windows given extra far-away people (beyond the range)
    pool: str = "max"  # neighbours pooled by "max" (over distance-weighted embeddings) or "attention"
    cv_shrink: bool = True  # fit a per-step shrinkage of the forecast towards CV on validation after training
    horizon_balance: float = 0.0  # step t of the forecast's loss weighs (CV error at t)^-this (0: plain ADE)
    seed: int = 0
    threads: int = 1
    progress: bool = True
