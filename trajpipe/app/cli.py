"""``trajpipe`` command line: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import traceback
import warnings
from contextlib import ExitStack
from dataclasses import fields
from pathlib import Path

import yaml

from ..version import __version__
from ..config import Config, load_config, parse_overrides
from ..errors import Interrupted, TrajpipeError, TrajpipeWarning, first_line
from ..resources import resolve


def config_help() -> str:
    """Every config key with its default, what it means and the values it takes (from the Config fields)."""
    lines = ["Config keys (set with key=value or in a --config YAML; see configs/default.yaml):"]
    for key in fields(Config):
        default = getattr(Config(), key.name)
        shown = yaml.safe_dump(default, default_flow_style=True).removesuffix("\n...\n").strip()  # as YAML spells it
        lines.append(f"  {key.name}={shown}")
        lines.append(f"      {key.metadata['meaning']}; values: {key.metadata['allowed']}")
    return "\n".join(lines)


CONFIG_EPILOG = config_help()
OVERRIDE = re.compile(r"^[A-Za-z_]\w*=")  # key=value: a config override wherever it is on the line


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


DEFAULT_CHECKPOINT = "weights/forecaster.pt"
DEFAULT_OUTPUT_DIR = Path("runs")  # created when a run is about to write there, never before
def _default_output(source: str, suffix: str) -> str:
    return str(DEFAULT_OUTPUT_DIR / f"{Path(str(source)).stem}_trajpipe{suffix}")


def describe_detector(detector) -> str:
    """One line naming the detector weights a run uses and what runs them (the detector's ``describe()``;
    a detector of the caller's own without one: its class name)."""
    return detector.describe() if callable(getattr(detector, "describe", None)) else type(detector).__name__


def announce_detector(detector, live: bool) -> None:
    """The run's first lines: the detector weights and what runs them, on the runtime measured best for
    this kind of source (``live``), and the figures behind that choice where one was made."""
    if callable(getattr(detector, "prefer", None)):
        detector.prefer(live=live)
    print(f"trajpipe: detector {describe_detector(detector)}", file=sys.stderr, flush=True)
    choice = detector.choice() if callable(getattr(detector, "choice", None)) else None
    if choice:
        print(f"trajpipe: detector runtime {choice}", file=sys.stderr, flush=True)


def _config(args: argparse.Namespace) -> Config:
    """The config of ``run`` and ``batch``: defaults, --config, key=value, --model, --forecaster."""
    overrides = parse_overrides(args.overrides)
    for key in ("model", "forecaster", "serve", "foxglove"):
        if getattr(args, key, None) is not None:
            overrides[key] = getattr(args, key)
    if getattr(args, "ros2", False):
        overrides["ros2"] = True
    return load_config(args.config, overrides)


def cmd_run(args: argparse.Namespace) -> int:
    from ..pipeline import Pipeline
    from ..video.device import check_device
    from ..video.sources import check_camera, is_live, open_source
    from ..running.loop import check_outputs, run
    from .display import Display

    config = _config(args)
    output_video, output_jsonl, output_mcap = args.output_video, args.output_jsonl, args.output_mcap
    to_default_dir = output_video is None and output_jsonl is None and output_mcap is None
    if to_default_dir:
        output_video = _default_output(args.source, ".mp4")
        output_jsonl = _default_output(args.source, ".jsonl")
    output_video, output_jsonl, output_mcap = (None if path is None or path.lower() in ("", "none") else path
                                               for path in (output_video, output_jsonl, output_mcap))
    # Check file sources, cameras, the device and outputs before paying for model loading.
    if not is_live(args.source):
        open_source(args.source).close()
    check_camera(args.source)
    check_device(config.device)
    if not to_default_dir or DEFAULT_OUTPUT_DIR.is_dir():  # run() checks the default ones once runs/ exists
        check_outputs(args.source, output_video, output_jsonl, output_mcap)
    with ExitStack() as stack:
        live = None
        if config.serve is not None:  # bound before the models load: a busy port fails at once
            from ..serve import LiveServer

            live = stack.enter_context(LiveServer.from_config(config))
            print(f"trajpipe: live view at {live.url}", file=sys.stderr, flush=True)
        publishers = _publishers(config, stack)  # bound before the models load, as the live view
        pipeline = stack.enter_context(Pipeline(config))
        announce_detector(pipeline.detector, live=is_live(args.source))
        if to_default_dir:
            DEFAULT_OUTPUT_DIR.mkdir(exist_ok=True)
        if live is not None and pipeline.ground is not None:
            live.ground = pipeline.ground.matrix
        for publisher in publishers:
            publisher.ready(pipeline)
        display = stack.enter_context(Display(args.show))
        summary = run(pipeline, args.source, output_video, output_jsonl, args.max_frames,
                      display.show if display.enabled else None,
                      progress=not args.quiet and sys.stderr.isatty(), output_mcap=output_mcap, live=live,
                      publishers=publishers)
    print(summary, file=sys.stderr if output_jsonl == "-" else sys.stdout)
    return 130 if summary.interrupted else 0


def _publishers(config: Config, stack: ExitStack) -> list:
    """The live robotics outputs the config asks for: ROS 2 topics, a Foxglove server (docs/robotics.md)."""
    publishers = []
    if config.ros2:
        from ..io.dds import Ros2Publisher

        publishers.append(stack.enter_context(Ros2Publisher.from_config(config)))
    if config.foxglove is not None:
        from ..io.foxglove_live import FoxgloveLive

        publishers.append(stack.enter_context(FoxgloveLive.from_config(config)))
        print(f"trajpipe: Foxglove live at {publishers[-1].url}", file=sys.stderr, flush=True)
    return publishers


def cmd_batch(args: argparse.Namespace) -> int:
    from ..running.batch import format_summary, run_batch

    summary = run_batch(args.inputs, args.out, engine=args.engine, address=args.address, workers=args.workers,
                        video=not args.no_video, mcap=args.output_mcap, force=args.force, config=_config(args),
                        gpus_per_worker=args.gpus_per_worker, progress=not args.quiet and sys.stderr.isatty())
    print(format_summary(summary))
    return 1 if summary["totals"]["failed"] else 0


def cmd_info(args: argparse.Namespace) -> int:
    from ..forecast.info import checkpoint_info

    info = checkpoint_info(args.checkpoint)
    print(f"file: {resolve(args.checkpoint)}")  # outside the repository: the packaged checkpoint's path
    for key, value in info.items():
        print(f"{key}: {value}")
    if args.model is not None or args.checkpoint == DEFAULT_CHECKPOINT:  # the detector of a default run, too
        from ..video.detector import resolve_weights
        from ..video.network_tracker import runtime_report

        print("\n".join(runtime_report(resolve_weights(args.model))))
    return 0


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="detector weights (.tflite, .pt, ...); default weights/yolov8n_int8.tflite, "
                                        "else Ultralytics' yolo26n.pt download")
    parser.add_argument("--forecaster", help="lstm (weights/forecaster.pt), cv (constant velocity) or a checkpoint path (.pt, or .onnx from trajpipe export)")
    parser.add_argument("--config", metavar="FILE", help="YAML file of config keys (overridden by key=value)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _nonnegative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``trajpipe`` command line: ``run``, ``batch``, ``info`` and, where torch is installed, the
    training commands (:func:`trajpipe.training.commands.register`)."""
    parser = argparse.ArgumentParser(
        prog="trajpipe",
        description="Detect, track and forecast the trajectories of objects in video.",
    )
    parser.add_argument("--version", action="version", version=f"trajpipe {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(sub)
    _add_batch(sub)
    _add_info(sub)
    try:
        from ..training.commands import register
    except ImportError:  # training tools not installed in this build
        pass
    else:
        register(sub)
    return parser


def _add_run(sub) -> None:
    """The ``run`` sub-command: one source."""
    run = sub.add_parser(
        "run", help="process a video: annotated video + JSON lines of tracks and forecasts",
        usage="trajpipe run SOURCE [--output-video PATH] [--output-jsonl PATH] [--output-mcap PATH] "
              "[--max-frames N] [--show] [--serve [HOST:]PORT] [options] [key=value ...]",
        description="Run detection, tracking and forecasting over SOURCE and write an annotated video "
                    "and a JSON-lines file (one line per frame). Without --output-* options both go to runs/.",
        epilog=CONFIG_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("source", nargs="?", help="video file, webcam index (0), device (/dev/video0) or stream URL (rtsp://, http://)")
    _add_config_options(run)
    run.add_argument("--output-video", metavar="PATH", help="annotated video (.mp4, .avi); 'none' to skip")
    run.add_argument("--output-jsonl", metavar="PATH", help="JSON lines, one per frame; '-' for stdout; 'none' to skip")
    run.add_argument("--output-mcap", metavar="PATH",
                     help="MCAP recording for Foxglove and ROS 2 tools (docs/mcap.md; pip install 'trajpipe[robotics]')")
    run.add_argument("--max-frames", type=_positive_int, metavar="N", help="stop after N frames")
    run.add_argument("--show", action="store_true", help="show the overlay in a window (q or Esc quits)")
    run.add_argument("--serve", metavar="[HOST:]PORT",
                     help="live view in the browser while the run goes on (host default 127.0.0.1; other hosts "
                          "need a token); needs pip install 'trajpipe[serve]'")
    run.add_argument("--ros2", action="store_true", help="publish markers and predicted objects as ROS 2 topics "
                     "over DDS (config keys ros2_*; docs/robotics.md; pip install 'trajpipe[robotics]')")
    run.add_argument("--foxglove", metavar="[HOST:]PORT", help="Foxglove WebSocket server with the MCAP's topics "
                     "live (host default 127.0.0.1; docs/robotics.md)")
    run.add_argument("overrides", nargs="*", metavar="key=value",
                     help="config overrides anywhere on the line, e.g. conf=0.3 tracker=botsort")
    run.set_defaults(func=cmd_run)


def _add_batch(sub) -> None:
    """The ``batch`` sub-command: many videos."""
    batch = sub.add_parser(
        "batch", help="process many videos: per-video outputs, tracks.parquet and summary.json",
        usage="trajpipe batch INPUT... --out DIR [--engine local|ray] [--address ADDR] [--workers N] "
              "[--gpus-per-worker G] [--no-video] [--output-mcap] [--force] [options] [key=value ...]",
        description="Run every INPUT video through the pipeline on a pool of worker processes (--engine local)\n"
                    "or Ray (--engine ray). Writes DIR/<name>.jsonl and DIR/<name>.mp4 per video,\n"
                    "DIR/tracks.parquet (every track of every frame) and DIR/summary.json. A rerun skips\n"
                    "videos whose outputs exist. Exit code 1 when any video failed.",
        epilog=CONFIG_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument("inputs", nargs="+", metavar="INPUT",
                       help="video files, directories (searched recursively) or glob patterns; and key=value config "
                            "overrides, anywhere on the line")
    batch.add_argument("--out", required=True, metavar="DIR", help="output directory (on a Ray cluster: a path every node can write)")
    batch.add_argument("--engine", choices=["local", "ray"], default="local",
                       help="local: worker processes on this machine (default); ray: Ray actors (pip install 'trajpipe[ray]')")
    batch.add_argument("--address", metavar="ADDR", help="Ray cluster to join: auto or ray://host:10001 (default: start Ray here)")
    batch.add_argument("--workers", type=_positive_int, metavar="N", help="videos processed at once (default: one per two cores)")
    batch.add_argument("--gpus-per-worker", type=_nonnegative_float, default=0.0, metavar="G",
                       help="Ray: GPUs each worker asks for; fractions share a GPU between workers (e.g. 0.25)")
    batch.add_argument("--no-video", action="store_true", help="JSON lines only, no annotated videos")
    batch.add_argument("--output-mcap", action="store_true",
                       help="also DIR/<name>.mcap per video, for Foxglove and ROS 2 tools (pip install 'trajpipe[robotics]')")
    batch.add_argument("--force", action="store_true", help="process again videos whose outputs exist")
    _add_config_options(batch)
    batch.set_defaults(func=cmd_batch, overrides=[])


def _add_info(sub) -> None:
    """The ``info`` sub-command: what a forecaster file is."""
    info = sub.add_parser(
        "info", help="what a forecaster checkpoint (.pt) or ONNX export (.onnx) is and how it was trained",
        description="Print a forecaster file's format, architecture, time grid, modes and neighbours, and the "
                    "trajpipe version, training data and date it was trained with.",
    )
    info.add_argument("checkpoint", nargs="?", default=DEFAULT_CHECKPOINT,
                      help="a .pt checkpoint or .onnx export (default: weights/forecaster.pt, the one the package "
                           "ships; then the default detector's runtime on this machine is shown too)")
    info.add_argument("--model", help="detector weights whose runtime choice on this machine to show (from the "
                                      "cache: nothing is timed)")
    info.set_defaults(func=cmd_info)


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parser.parse_args``, with ``key=value`` accepted anywhere on the line (as Ultralytics' CLI
    does): argparse alone takes them only between the positionals and the first option."""
    args, extras = parser.parse_known_args(argv)
    unknown = [a for a in extras if not OVERRIDE.match(a)]
    if unknown or (extras and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(unknown or extras)}")
    if not hasattr(args, "overrides"):
        return args
    positional = "source" if args.command == "run" else "inputs"
    given = getattr(args, positional)
    tokens = ([] if given is None else [given] if isinstance(given, str) else list(given)) + args.overrides + extras
    # A path that exists is an input even when it looks like key=value.
    is_override = [bool(OVERRIDE.match(t)) and not os.path.exists(t) for t in tokens]
    args.overrides = [t for t, o in zip(tokens, is_override) if o]
    inputs = [t for t, o in zip(tokens, is_override) if not o]
    if positional == "source":
        if not inputs:
            parser.error("run needs a SOURCE: a video file, a webcam index (0), a device or a stream URL, "
                         "e.g. trajpipe run videos/concourse.mp4")
        if len(inputs) != 1:
            parser.error(f"run takes one SOURCE, got {len(inputs)}: {' '.join(inputs)}")
        args.source = inputs[0]
    else:
        if not inputs:
            parser.error("batch needs at least one INPUT")
        args.inputs = inputs
    return args


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """Our warnings as one line, as our errors are (other libraries' keep Python's form)."""
    if issubclass(category, TrajpipeWarning):
        return f"trajpipe: warning: {message}\n"
    return _python_format_warning(message, category, filename, lineno, line)


_python_format_warning = warnings.formatwarning


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = _format_warning
    parser = build_parser()
    args = parse_args(parser, argv)
    if not args.debug:  # FFmpeg's and OpenCV's own warnings would bury our one-line errors
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    try:
        return args.func(args)
    except TrajpipeError as exc:
        if args.debug:  # the traceback, and the same exit code as without --debug
            traceback.print_exc()
        print(f"trajpipe: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # a second Ctrl-C, or a stopped batch: outputs settled on the way here
        print(f"trajpipe: {exc if isinstance(exc, Interrupted) else 'interrupted'}", file=sys.stderr)
        code = 128 + getattr(exc, "signum", signal.SIGINT)  # as a shell reports it: 130 (SIGINT), 143 (SIGTERM)
        if argv is None and not isinstance(exc, Interrupted):  # the program itself, a second Ctrl-C: leave now, as
            sys.stdout.flush(), sys.stderr.flush()  # asked; the interpreter's teardown could meet a native
            os._exit(code)  # (OpenVINO) thread winding down and abort. A batch's workers are gone: a normal exit
        return code
    except Exception as exc:  # an unexpected failure still gets one readable line
        if args.debug:
            traceback.print_exc()
            return 1
        print(f"trajpipe: error: {type(exc).__name__}: {first_line(exc)} (rerun with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
