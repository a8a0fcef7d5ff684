"""The worker of a batch: one pipeline, built on its first video, run over whole videos (in a worker
process or a Ray actor)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..config import Config
from ..errors import TrajpipeError, first_line
from ..registry import forecaster_checkpoint
from ..video.detector import resolve_weights
from .jobs import VideoJob


def with_absolute_paths(config: Config) -> Config:
    """``config`` with its files checked now (one error, not one per worker) and given as absolute
    paths, so that workers with another working directory (Ray's) load the same files."""
    def absolute(spec: str | None) -> str | None:
        return str(Path(spec).resolve()) if spec is not None and Path(spec).exists() else spec

    model = resolve_weights(config.model)
    checkpoint = forecaster_checkpoint(config)
    forecaster = config.forecaster if checkpoint is None or config.forecaster == "lstm" else str(checkpoint.resolve())
    forecaster_weights = str(checkpoint.resolve()) if config.forecaster == "lstm" else config.forecaster_weights
    return dataclasses.replace(config, model=absolute(model), forecaster=forecaster, forecaster_weights=forecaster_weights,
                               homography=absolute(config.homography), tracker=absolute(config.tracker))



class WorkerSetupError(TrajpipeError):
    """A worker could not build its pipeline (bad weights, ...): every video would fail alike."""


class VideoWorker:
    """Runs whole videos through one :class:`~trajpipe.pipeline.Pipeline`, built on the first video
    and reset between videos (track ids restart per video). One per worker process or Ray actor."""

    def __init__(self, config: Config):
        self.config = config
        self.pipeline = None
        import cv2
        import torch

        # Parallelism comes from the workers: one thread each for torch (the forecaster) and OpenCV.
        torch.set_num_threads(1)
        cv2.setNumThreads(1)

    def process(self, job: VideoJob) -> dict:
        """Run ``job``; its summary entry. Errors of the video are ``failed`` entries; only a pipeline
        that cannot be built raises (:class:`WorkerSetupError`)."""
        from ..pipeline import Pipeline
        from .loop import run

        if self.pipeline is None:
            try:
                self.pipeline = Pipeline(self.config)
            except Exception as exc:
                raise WorkerSetupError(first_line(exc)) from None
        self.pipeline.reset()
        try:
            summary = run(self.pipeline, job.path, job.video, job.jsonl, progress=False,
                          handle_signals=False, keep_incomplete=False, output_mcap=job.mcap)
        except Exception as exc:  # noqa: BLE001 - any failure of one video is that video's, not the batch's
            reason = first_line(exc) if isinstance(exc, TrajpipeError) else f"{type(exc).__name__}: {first_line(exc)}"
            return job.entry("failed", error=reason)
        return job.entry("ok", summary.frames, summary.seconds, summary.track_ids)


