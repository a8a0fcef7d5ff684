"""What the pipeline benchmarks share: trajpipe importable from a checkout, and their common options."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def pipeline_parser(doc: str, video: str) -> argparse.ArgumentParser:
    """A parser with the options every pipeline benchmark takes: --video, --weights, --forecaster."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", default=video)
    parser.add_argument("--weights", default="weights/yolov8n_int8.tflite")
    parser.add_argument("--forecaster", default="lstm")
    return parser


def timed(owner, name: str, seconds: list) -> None:
    """Wrap ``owner.name`` so that every call adds its duration to ``seconds``."""
    method = getattr(owner, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - started)

    setattr(owner, name, wrapper)
