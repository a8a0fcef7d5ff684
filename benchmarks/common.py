"""What the pipeline benchmarks share: trajpipe importable from a checkout, and their common options."""

from __future__ import annotations

import argparse
import sys
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
