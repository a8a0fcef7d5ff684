"""Training settings, apart from the training code so that the CLI can show their defaults without
importing torch (``trajpipe --help`` stays fast). Each field's ``help`` (and ``choices``) is what
``trajpipe train --help`` says of its flag: the flags are made from these fields (see
:func:`trajpipe.training.commands.register`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..forecast.base import OBS_STEPS, PRED_STEPS, STEP_SECONDS


def setting(default, help: str = "", choices: tuple | None = None, flag: bool = True):
    """A :class:`TrainConfig` field and what its command-line flag says.

    Args:
        default: the default value.
        help: the flag's help text.
        choices: the values the flag accepts, or None for any of the field's type.
        flag: False: no flag of its own (set from another option).

    Returns:
        A dataclass field carrying ``help``, ``choices`` and ``flag`` as metadata.
    """
    return field(default=default, metadata={"help": help, "choices": choices, "flag": flag})


@dataclass
class TrainConfig:
    """How ``trajpipe train`` trains a forecaster: the network, the optimiser, the loss and the
    augmentation. Distances in metres, times in seconds."""

    cell: str = setting("lstm", "recurrent cell", ("lstm", "gru", "rnn"))
    hidden: int = setting(64, "hidden units of the recurrent encoder")
    layers: int = setting(1, "recurrent layers")
    dropout: float = setting(0.0, "dropout between recurrent layers")
    k: int = setting(4, "neighbours per track")
    nb_embed: int = setting(32, "neighbour embedding size")
    head: str = setting("gain", "residual: CV + correction; gain: CV x bounded speed gain + correction",
                        ("residual", "gain"))
    modes: int = setting(20, "alternative futures the model outputs (winner-takes-all heads + mode classifier); 0: one")
    obs_steps: int = setting(OBS_STEPS, "observed time steps")
    pred_steps: int = setting(PRED_STEPS, "forecast time steps")
    dt: float = setting(STEP_SECONDS, "time step in seconds")
    epochs: int = setting(40, "most epochs")
    patience: int = setting(6, "epochs without a better validation score before training stops")
    batch_size: int = setting(128, "samples per batch")
    lr: float = setting(1e-3, "Adam's learning rate")
    weight_decay: float = setting(0.0, "Adam's weight decay")
    nll_weight: float = setting(0.1, "weight of the Gaussian negative log-likelihood that shapes sigma")
    cls_weight: float = setting(0.5, "weight of the mode classifier's loss")
    wta_relax: float = setting(0.05, "weight of all modes' mean error next to the winner's (keeps every mode learning)")
    mirror: bool = setting(True, "mirror augmentation about the heading")
    rot_deg: float = setting(0.0, "random rotation +-degrees of the canonical frame")
    scale_aug: float = setting(0.2, "random spatial stretch +-fraction")
    obs_noise: float = setting(0.0, "metres of Gaussian jitter on observed positions (video-like inputs); 0: none")
    noise_copies: int = setting(2, "noisy replicas of the training set")
    noise_range: bool = setting(False, "with --obs-noise: keep the clean windows and give each noisy track its own "
                                       "level in [0, 2x]")
    noise_feature: bool = setting(False, "the network reads each track's noise level (RMS second difference of its "
                                         "positions)")
    social_range: float = setting(10.0, "metres: people this far or farther are not neighbours; nearer ones weigh by "
                                        "distance (0: no range)")
    bystanders: float = setting(0.3, "share of training windows given extra people beyond the social range")
    pool: str = setting("max", "pooling of the neighbours' embeddings: max over distance-weighted ones, or attention",
                        ("max", "attention"))
    cv_shrink: bool = setting(True, "per-step shrinkage of the forecast towards CV fit on validation")
    horizon_balance: float = setting(0.0, "the forecast's loss at step t weighs (CV error at t)^-this: 1 balances the "
                                          "horizons, 0 plain ADE")
    seed: int = setting(0, "random seed")
    threads: int = setting(1, "torch CPU threads")
    progress: bool = setting(True, flag=False)  # --quiet turns it off
