"""``trajpipe train``, ``trajpipe eval`` and ``trajpipe export`` (registered into the main CLI by :func:`register`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import TrajpipeError
from ..resources import existing_file

DEFAULT_DATA = "../shared/data/eth_ucy"
DEFAULT_EVAL_DATA = (DEFAULT_DATA, "../shared/data/eth_ucy_0.4s")  # Social-GAN files; ETH at its true 0.4 s step
DEFAULT_EXTRA_TRAIN = "../shared/data/trajnet_sdd"  # Stanford Drone Dataset (TrajNet): training data only
SCENES = ("eth", "hotel", "univ", "zara1", "zara2")
# Research material the package does not ship; said when it is missing.
DATA_WHERE = ("ETH/UCY in the Social-GAN layout: scripts/download_data.sh of github.com/agrimgupta92/sgan "
              "gives datasets/<scene>/{train,val,test}; pass that datasets folder with --data")
CHECKPOINTS_WHERE = ("the leave-one-out checkpoints are in the trajpipe repository's weights/eth_ucy/, not in the "
                     "installed package: run from a clone, or train them with trajpipe train --scene")
DEFAULT_MODELS = {
    "lstm": "weights/eth_ucy/{scene}.pt",
    "gru": "weights/eth_ucy/gru/{scene}.pt",
    "rnn": "weights/eth_ucy/rnn/{scene}.pt",
    "lstm-v1": "weights/eth_ucy/v1/{scene}.pt",  # the previous version's single-mode LSTM, for comparison
}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr)


def _extra_train_files(specs: list[str] | None) -> list[Path]:
    """``frame id x y`` files (metres, ETH/UCY layout) added to every training set: files, or
    directories of ``*.txt``; ``none`` for no extra data. Default (None): the Stanford Drone Dataset
    where it is present (beside the repository), else none (said on stderr)."""
    if specs is None:
        if not Path(DEFAULT_EXTRA_TRAIN).is_dir():
            _log(f"note: {DEFAULT_EXTRA_TRAIN} not found: training without the extra Stanford Drone Dataset "
                 "trajectories (--extra-train PATH to add trajectory files of your own)")
            return []
        specs = [DEFAULT_EXTRA_TRAIN]
    files: list[Path] = []
    for spec in specs:
        if spec.lower() == "none":
            continue
        p = Path(spec)
        if p.is_dir():
            files += sorted(p.glob("*.txt"))
        elif p.is_file():
            files.append(p)
        else:
            raise TrajpipeError(f"extra training data not found: {p} (--extra-train none to train without it)")
    return files


def _datasets(args, scene: str | None):
    """(train Windows, val Windows, description, extra training files) for one training run."""
    from .data import eth_ucy_files, load_tables
    from .windows import Windows, make_windows, split_table

    obs, pred = args.obs_steps, args.pred_steps
    extra_files = _extra_train_files(args.extra_train)
    extra = [make_windows(t, obs, pred) for t in load_tables(extra_files, "eth_ucy", dt=args.dt)]
    extra_desc = f" + {len(extra_files)} extra train files" if extra_files else ""
    if args.format == "eth_ucy":
        if len(args.data) != 1:
            raise TrajpipeError("ETH/UCY training takes one --data directory (the eth_ucy root or one fold)")
        root = Path(args.data[0])
        sc = None if scene in (None, "all") else scene
        tr_files = eth_ucy_files(root, sc, "train")
        va_files = eth_ucy_files(root, sc, "val")
        tr = Windows.concat([make_windows(t, obs, pred) for t in load_tables(tr_files, "eth_ucy", dt=args.dt)] + extra)
        va = Windows.concat([make_windows(t, obs, pred) for t in load_tables(va_files, "eth_ucy", dt=args.dt)])
        return tr, va, f"{len(tr_files)} train{extra_desc} / {len(va_files)} val files", extra_files
    files: list[Path] = []
    for d in args.data:
        p = Path(d)
        if p.is_dir():
            pattern = "*.jsonl" if args.format == "jsonl" else "gt.txt"
            files += sorted(p.rglob(pattern))
        elif p.is_file():
            files.append(p)
        else:
            raise TrajpipeError(f"data not found: {p}")
    if not files:
        raise TrajpipeError(f"no {args.format} files found in {' '.join(args.data)}")
    if not 0 < args.val_fraction < 1:
        raise TrajpipeError(f"--val-fraction must be between 0 and 1, got {args.val_fraction}")
    tables = load_tables(files, args.format, fps=args.fps, dt=args.dt)
    parts = [split_table(t, args.val_fraction, obs + pred) for t in tables]
    window = f"{(obs + pred) * args.dt:g} s ({obs} observed + {pred} forecast steps of {args.dt:g} s)"
    try:
        tr = Windows.concat([make_windows(a, obs, pred) for a, _ in parts] + extra)
        va = Windows.concat([make_windows(b, obs, pred) for _, b in parts])
    except TrajpipeError:
        raise TrajpipeError(f"no complete trajectory windows in {' '.join(args.data)}: training needs tracks seen for "
                            f"{window} without a gap, in the training part and in the validation part (at least two "
                            "such tracks in a recording shorter than two windows)") from None
    return tr, va, (f"{len(files)} files{extra_desc}; validation: the last {args.val_fraction:.0%} of each recording, "
                    f"or of its tracks where either part would be shorter than one window of {window}"), extra_files


def cmd_train(args: argparse.Namespace) -> int:
    from ..forecast.lstm import LSTMForecaster
    from .train import TrainConfig, plot_history, train

    scenes = args.scene or [None]
    if len(scenes) > 1 and "{scene}" not in args.out:
        raise TrajpipeError("with several --scene values, --out must contain {scene}")
    cfg_keys = TrainConfig.__dataclass_fields__
    for scene in scenes:
        out = Path(args.out.format(scene=scene or "all"))
        tr, va, desc, extra_files = _datasets(args, scene)
        cfg = TrainConfig(**{k: getattr(args, k) for k in cfg_keys if hasattr(args, k)})
        cfg.progress = not args.quiet
        init = None
        if args.init:
            init = LSTMForecaster.from_checkpoint(args.init)
            for k in ("cell", "hidden", "layers", "dropout", "k", "nb_embed", "obs_steps", "pred_steps", "head", "modes",
                      "social_range", "noise_feature", "pool"):
                setattr(cfg, k, init.net.config.get(k, 0))
        _log(f"training {cfg.cell} for scene {scene or 'all'}: {len(tr)} train / {len(va)} val trajectories ({desc})")
        res = train(tr, va, cfg, log=_log, init=init.net.state_dict() if init else None)
        # the training data, for `trajpipe info`: --data (ETH/UCY: its train and val files, less the
        # scene left out) and every extra training file
        res.forecaster.save(out, extra={"scene_left_out": scene if scene not in (None, "all") else None,
                                        "data": [str(d) for d in args.data], "format": args.format,
                                        "extra_train": [str(f) for f in extra_files]})
        plot = Path(args.plot.format(scene=scene or "all")) if args.plot else out.with_name(out.stem + "_loss.png")
        plot_history(res.history, plot, title=f"{cfg.cell}, {'leave out ' + scene if scene not in (None, 'all') else 'all data'}")
        print(f"saved {out} (val ADE {res.best_val_ade:.3f} m, FDE {res.best_val_fde:.3f} m, epoch {res.best_epoch}, "
              f"{res.seconds:.0f} s); loss curve {plot}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import default_model_ratios, evaluate, format_default_model, format_table, save_results

    models = {}
    explicit = {}
    for spec in args.model or []:
        if "=" not in spec:
            raise TrajpipeError(f"--model takes NAME=PATH_TEMPLATE, got {spec!r}")
        name, tmpl = spec.split("=", 1)
        explicit[name] = tmpl
    candidates = explicit if explicit else DEFAULT_MODELS
    skipped = {}
    for name, tmpl in candidates.items():
        missing = [s for s in args.scenes if not Path(tmpl.format(scene=s)).is_file()]
        if missing:
            if explicit:
                raise TrajpipeError(f"{name}: checkpoint {tmpl.format(scene=missing[0])} not found")
            skipped[name] = tmpl.format(scene=missing[0])
            continue
        models[name] = tmpl
    if skipped:
        _log(f"skipping {', '.join(skipped)}: {', '.join(skipped.values())} not found ({CHECKPOINTS_WHERE})")
    roots = {}
    for spec in args.data or [d for d in DEFAULT_EVAL_DATA if Path(d).is_dir()] or [DEFAULT_EVAL_DATA[0]]:
        root = Path(spec)
        if not root.is_dir():
            raise TrajpipeError(f"data directory not found: {root} ({DATA_WHERE})")
        roots[root.name] = root
    import torch

    torch.set_num_threads(max(1, args.threads))
    res = evaluate(roots, models, scenes=args.scenes, split=args.split, log=_log)
    print(format_table(res))
    if args.default_model != "none":
        from ..forecast.lstm import LSTMForecaster

        video = None if args.video == "none" or not Path(args.video).is_file() else args.video
        res["default_model"] = default_model_ratios(LSTMForecaster.from_checkpoint(args.default_model),
                                                    next(iter(roots.values())), args.scenes, video=video, log=_log)
        print(format_default_model(res["default_model"]))
    j, p = save_results(res, args.out)
    print(f"saved {j} and {p}")
    if args.results:  # the figures the documentation renders (docs/render.py), with where they were measured
        import json

        from ..provenance import provenance

        Path(args.results).write_text(json.dumps({**provenance(), **res}, indent=2) + "\n")
        print(f"saved {args.results}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ..io.sinks import check_output_path

    out = Path(args.out)
    if out.suffix.lower() != ".onnx":  # Forecaster.load picks onnxruntime by this suffix
        raise TrajpipeError(f"--out must end in .onnx: {out}")
    check_output_path(out, [Path(args.forecaster)], "ONNX")
    existing_file(args.forecaster, "forecaster checkpoint")  # before paying for torch
    from ..forecast.lstm import LSTMForecaster
    from .export import export_onnx

    forecaster = LSTMForecaster.from_checkpoint(args.forecaster)
    error = export_onnx(forecaster, out, source=args.forecaster)
    modes = f"{forecaster.n_modes} modes" if forecaster.n_modes else "single mode"
    print(f"saved {out} ({forecaster.name}, {modes}, {forecaster.n_neighbours} neighbours, dt {forecaster.dt:g} s; "
          f"onnxruntime matches torch to {error:.1e} on random inputs)")
    return 0


def add_train_settings(parser: argparse.ArgumentParser) -> None:
    """One flag per :class:`~trajpipe.training.train_config.TrainConfig` field, made from the field: its
    name with dashes, its type, default, help and choices; a boolean is ``--NAME`` when off by
    default and ``--no-NAME`` when on.

    Args:
        parser: the ``train`` sub-command's parser.
    """
    from dataclasses import fields

    from .train_config import TrainConfig

    types = {"int": int, "float": float, "str": str}
    for f in fields(TrainConfig):
        if not f.metadata.get("flag", True):
            continue
        name, text = f.name.replace("_", "-"), f.metadata.get("help") or None
        if f.type == "bool":
            flag = f"--no-{name}" if f.default else f"--{name}"
            text = f"turn off: {text}" if f.default and text else text
            parser.add_argument(flag, dest=f.name, action="store_false" if f.default else "store_true", help=text)
        else:
            parser.add_argument(f"--{name}", type=types[f.type], default=f.default, choices=f.metadata.get("choices"),
                                help=text)


def register(subparsers) -> None:
    """Add ``train``, ``eval`` and ``export`` to the main command line.

    Args:
        subparsers: the main parser's sub-command table (``add_subparsers()``).
    """
    tr = subparsers.add_parser(
        "train", help="train the LSTM/GRU/RNN forecaster",
        description="Train a recurrent forecaster with validation early stopping. ETH/UCY: --data is the eth_ucy "
                    "root (with --scene S: leave-one-out fold S, i.e. its train/val files; without: all scenes) "
                    "or one fold directory. MOT gt.txt / trajpipe JSON-lines: files or directories; the last "
                    "--val-fraction of each recording validates. Writes the checkpoint and a loss-curve PNG.",
    )
    tr.add_argument("--data", nargs="+", default=[DEFAULT_DATA], help=f"data path(s) (default {DEFAULT_DATA})")
    tr.add_argument("--extra-train", nargs="+", metavar="PATH",
                    help="'frame id x y' files (metres) or directories of them added to every training set, never "
                         f"to validation (default: {DEFAULT_EXTRA_TRAIN}, the Stanford Drone Dataset, where it exists); 'none' for none")
    tr.add_argument("--format", choices=["eth_ucy", "mot", "jsonl"], default="eth_ucy",
                    help="eth_ucy: 'frame id x y' files in metres; mot: MOTChallenge gt.txt; jsonl: trajpipe run's JSON lines")
    tr.add_argument("--fps", type=float, help="frame rate of MOTChallenge data")
    tr.add_argument("--scene", nargs="+", help="ETH/UCY scene(s) to leave out (one model each), or 'all'")
    tr.add_argument("--out", required=True, help="checkpoint path; may contain {scene}")
    tr.add_argument("--plot", help="loss-curve PNG (default: next to the checkpoint, *_loss.png)")
    tr.add_argument("--init", metavar="CKPT", help="start from this checkpoint (fine-tuning; its architecture wins)")
    add_train_settings(tr)
    tr.add_argument("--val-fraction", type=float, default=0.2,
                    help="mot and jsonl: the last share of each recording that validates; a recording too short "
                         "for a whole window in both parts gives this share of its tracks instead")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.set_defaults(func=cmd_train)
    _add_eval(subparsers)
    _add_export(subparsers)


def _add_eval(subparsers) -> None:
    """The ``eval`` sub-command."""
    ev = subparsers.add_parser(
        "eval", help="ETH/UCY leave-one-scene-out ADE/FDE table",
        description="ADE/FDE per scene and average for CV, Kalman and the leave-one-out checkpoints "
                    f"(default: {', '.join(f'{k}={v}' for k, v in DEFAULT_MODELS.items())}; missing ones are skipped). "
                    "Prints the table and saves JSON + PNG bar chart.",
    )
    ev.add_argument("--data", nargs="+", help="eth_ucy-layout root(s), one table each "
                                              f"(default: those of {', '.join(DEFAULT_EVAL_DATA)} that exist)")
    ev.add_argument("--model", action="append", metavar="NAME=TEMPLATE",
                    help="checkpoint path template with {scene}; repeatable (replaces the defaults)")
    ev.add_argument("--scenes", nargs="+", default=list(SCENES), help="ETH/UCY scenes to rate (default: all five)")
    ev.add_argument("--split", default="test", choices=["test", "val"], help="the scenes' test files or their val files")
    ev.add_argument("--out", default="runs/eval", help="directory for eval_eth_ucy.json/.png")
    ev.add_argument("--results", metavar="PATH", help="also the results with date, command, machine and load "
                                                      "(docs/results/eval.json: the figures the documentation shows)")
    ev.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ev.add_argument("--default-model", default="weights/forecaster.pt",
                    help="the default (video) model, also rated against CV per horizon on the test files as annotated "
                         "and with 0.04 m of jitter, and on the detector's tracks of --video; 'none' to skip")
    ev.add_argument("--video", default="videos/concourse.mp4",
                    help="video whose detector tracks rate the default model ('none' to skip; skipped where missing)")
    ev.set_defaults(func=cmd_eval)


def _add_export(subparsers) -> None:
    """The ``export`` sub-command."""
    ex = subparsers.add_parser(
        "export", help="export a forecaster checkpoint to ONNX (runs without torch)",
        description="Write the whole forecaster network (neighbour pooling, recurrent encoder, mean, sigma and mode "
                    "heads; dynamic batch) to an ONNX file with its time grid and settings as metadata. "
                    "Forecaster.load('model.onnx') and 'trajpipe run ... forecaster=model.onnx' run it with "
                    "onnxruntime, without torch.",
    )
    ex.add_argument("--forecaster", default="weights/forecaster.pt", help="checkpoint (default weights/forecaster.pt)")
    ex.add_argument("--format", choices=["onnx"], default="onnx")
    ex.add_argument("--out", required=True, help="output .onnx path (written atomically)")
    ex.set_defaults(func=cmd_export)
