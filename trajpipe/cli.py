"""``trajpipe`` command line: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .config import Config, load_config, parse_overrides
from .errors import TrajpipeError, first_line

CONFIG_HELP = "\n".join(f"  {key} = {getattr(Config(), key)!r}" for key in Config.keys())


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _default_output(source: str, suffix: str) -> str:
    runs = Path("runs")
    runs.mkdir(exist_ok=True)
    return str(runs / f"{Path(str(source)).stem}_trajpipe{suffix}")


def cmd_run(args: argparse.Namespace) -> int:
    from .pipeline import Pipeline
    from .runner import check_outputs, run
    from .sources import is_live, open_source

    overrides = parse_overrides(args.overrides)
    for key in ("model", "forecaster"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    config = load_config(args.config, overrides)
    output_video, output_jsonl = args.output_video, args.output_jsonl
    if output_video is None and output_jsonl is None:
        output_video = _default_output(args.source, ".mp4")
        output_jsonl = _default_output(args.source, ".jsonl")
    none = {"", "none"}
    output_video = None if output_video is None or output_video.lower() in none else output_video
    output_jsonl = None if output_jsonl is None or output_jsonl.lower() in none else output_jsonl
    # Check file sources and outputs before paying for model loading.
    if not is_live(args.source):
        open_source(args.source).close()
    check_outputs(args.source, output_video, output_jsonl)
    with Pipeline(config) as pipeline:
        summary = run(pipeline, args.source, output_video, output_jsonl, args.max_frames, args.show,
                      progress=not args.quiet and sys.stderr.isatty())
    print(summary, file=sys.stderr if output_jsonl == "-" else sys.stdout)
    return 130 if summary.interrupted else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trajpipe",
        description="Detect, track and forecast the trajectories of objects in video.",
    )
    parser.add_argument("--version", action="version", version=f"trajpipe {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run", help="process a video: annotated video + JSON lines of tracks and forecasts",
        description="Run detection, tracking and forecasting over SOURCE and write an annotated video "
                    "and a JSON-lines file (one line per frame). Without --output-* options both go to runs/.",
        epilog=f"Config keys (set with key=value or in a --config YAML; see configs/default.yaml):\n{CONFIG_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("source", help="video file, webcam index (0), device (/dev/video0) or stream URL (rtsp://, http://)")
    run.add_argument("--model", help="detector weights (.tflite, .pt, ...); default weights/yolov8n_int8.tflite, "
                                     "else Ultralytics' yolo26n.pt download")
    run.add_argument("--forecaster", help="lstm (weights/forecaster.pt), cv (constant velocity) or a checkpoint path")
    run.add_argument("--output-video", metavar="PATH", help="annotated video (.mp4, .avi); 'none' to skip")
    run.add_argument("--output-jsonl", metavar="PATH", help="JSON lines, one per frame; '-' for stdout; 'none' to skip")
    run.add_argument("--max-frames", type=_positive_int, metavar="N", help="stop after N frames")
    run.add_argument("--config", metavar="FILE", help="YAML file of config keys (overridden by key=value)")
    run.add_argument("--show", action="store_true", help="show the overlay in a window (q or Esc quits)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    run.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. conf=0.3 tracker=botsort")
    run.set_defaults(func=cmd_run)

    try:
        from .forecast.commands import register
    except ImportError:  # training tools not installed in this build
        pass
    else:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.debug:  # FFmpeg's and OpenCV's own warnings would bury our one-line errors
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    try:
        return args.func(args)
    except TrajpipeError as exc:
        if args.debug:
            raise
        print(f"trajpipe: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("trajpipe: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an unexpected failure still gets one readable line
        if args.debug:
            raise
        print(f"trajpipe: error: {type(exc).__name__}: {first_line(exc)} (rerun with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
