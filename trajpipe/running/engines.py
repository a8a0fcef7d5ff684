"""Where a batch's workers run, behind one :class:`Engine` protocol: worker processes on this machine
(:class:`LocalEngine`) or Ray actors on this machine or a cluster (:class:`RayEngine`)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from ..config import Config
from ..errors import TrajpipeError, first_line
from .jobs import VideoJob
from .worker import VideoWorker, WorkerSetupError

RAY_INSTALL_HINT = "--engine ray needs Ray: pip install 'trajpipe[ray]'"
RESOURCE_TRACKER_QUIET = "ignore:resource_tracker:UserWarning"


class Engine(Protocol):
    """Runs :class:`VideoJob` s on workers; the batch driver keeps at most ``workers`` of them running."""

    name: str  # as ``--engine`` spells it
    workers: int  # how many jobs may run at once
    running: dict  # the jobs in flight, by the engine's own handle

    def submit(self, job: VideoJob) -> None:
        """Start ``job`` on a free worker (a new one when none is idle).

        Args:
            job: the video and its outputs.
        """

    def next_done(self) -> tuple[VideoJob, dict | str]:
        """Wait for the next job to finish.

        Returns:
            The job and its ``summary.json`` entry, or the job and why its worker died (a string:
            the driver retries it once).
        """

    def close(self, kill: bool) -> None:
        """Stop the workers.

        Args:
            kill: stop the videos in progress now (Ctrl-C) rather than let them finish.
        """


_worker: VideoWorker | None = None  # the local engine's worker of this process


def _start_local_worker(config: Config) -> None:
    global _worker
    # Ctrl-C and SIGTERM (sent to the whole process group or cgroup by a job scheduler) are the main
    # process's to handle: it writes the summary, then kills the workers (SIGKILL).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _worker = VideoWorker(config)


def _process_locally(job: VideoJob) -> dict:
    return _worker.process(job)


class LocalEngine:
    """Worker processes on this machine ('spawn': no fork of a process that already runs threads)."""

    name = "local"

    def __init__(self, config: Config, workers: int):
        self.config, self.workers = config, workers
        self.pool: ProcessPoolExecutor | None = None
        self.running: dict[Future, tuple[VideoJob, ProcessPoolExecutor]] = {}

    def submit(self, job: VideoJob) -> None:
        if self.pool is None:
            # A worker killed on SIGINT/SIGTERM leaves the locks it made (tqdm's, ...) to multiprocessing's
            # resource tracker, which removes them and says so in a warning of its own at exit: not the
            # user's business after a stop they asked for. The tracker, started with the pool's first
            # queue, takes the -W options of this process's sys.warnoptions.
            if RESOURCE_TRACKER_QUIET not in sys.warnoptions:
                sys.warnoptions.append(RESOURCE_TRACKER_QUIET)
            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_start_local_worker, initargs=(self.config,))
        self.running[self.pool.submit(_process_locally, job)] = (job, self.pool)

    def next_done(self) -> tuple[VideoJob, dict | str]:
        """The next finished job and its entry, or why its worker died."""
        done, _ = wait(self.running, return_when=FIRST_COMPLETED)
        future = next(iter(done))
        job, pool = self.running.pop(future)
        try:
            return job, future.result()
        except BrokenProcessPool as exc:  # every job in flight on this pool lands here; what is left gets a fresh pool
            if pool is self.pool:
                pool.shutdown(wait=False)
                self.pool = None
            return job, first_line(exc)

    def close(self, kill: bool) -> None:
        if self.pool is None:
            return
        if kill:  # SIGINT or SIGTERM: stop the videos in progress now (their outputs stay hidden temporaries)
            if hasattr(self.pool, "kill_workers"):  # Python >= 3.14
                self.pool.kill_workers()
            else:  # SIGKILL: the workers ignore SIGTERM
                for process in list((getattr(self.pool, "_processes", None) or {}).values()):
                    process.kill()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None


def import_ray():
    try:
        import ray
    except ImportError:
        raise TrajpipeError(RAY_INSTALL_HINT) from None
    return ray


def ray_actor_options(gpus_per_worker: float = 0.0) -> dict:
    """The resources each Ray actor asks for: one CPU, and ``gpus_per_worker`` GPUs (fractions let
    several videos share a GPU)."""
    if gpus_per_worker < 0:
        raise TrajpipeError(f"--gpus-per-worker must be >= 0, got {gpus_per_worker}")
    options: dict[str, Any] = {"num_cpus": 1}
    if gpus_per_worker:
        options["num_gpus"] = gpus_per_worker
    return options


class RayEngine:
    """Ray actors, each a :class:`VideoWorker`. Without ``address`` Ray starts on this machine
    (unless already started in this process); ``auto`` or ``ray://host:10001`` joins a cluster."""

    name = "ray"

    def __init__(self, config: Config, workers: int | None, address: str | None, gpus_per_worker: float):
        self.ray = ray = import_ray()
        self.options = ray_actor_options(gpus_per_worker)
        self.idle: list = []
        self.running: dict = {}  # object ref -> (actor, job)
        self.started = not ray.is_initialized()
        if self.started:
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            except Exception as exc:  # Ray raises ConnectionError, ValueError, ... for a bad address
                raise TrajpipeError(f"cannot start or join Ray{f' at {address}' if address else ''}: {first_line(exc)}") from None
        resources = ray.cluster_resources()
        if gpus_per_worker and resources.get("GPU", 0) < gpus_per_worker:
            self.close(kill=True)
            raise TrajpipeError(f"--gpus-per-worker {gpus_per_worker}: the Ray cluster has {resources.get('GPU', 0):g} GPUs")
        self.workers = workers or default_workers(int(resources.get("CPU", 1)))
        self.config = config
        self.actor_class = ray.remote(VideoWorker)

    def submit(self, job: VideoJob) -> None:
        actor = self.idle.pop() if self.idle else self.actor_class.options(**self.options).remote(self.config)
        self.running[actor.process.remote(job)] = (actor, job)

    def next_done(self) -> tuple[VideoJob, dict | str]:
        """The next finished job and its entry, or why its worker died."""
        ray = self.ray
        (ref,), _ = ray.wait(list(self.running), num_returns=1)
        actor, job = self.running.pop(ref)
        try:
            entry = ray.get(ref)
        except ray.exceptions.RayActorError as exc:  # the actor's process died: a new one takes the next job
            return job, first_line(exc)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if isinstance(exc.cause, TrajpipeError) else None
            raise WorkerSetupError(first_line(cause) if cause else first_line(exc)) from None
        self.idle.append(actor)
        return job, entry

    def close(self, kill: bool) -> None:
        for actor in self.idle + [actor for actor, _ in self.running.values()]:
            self.ray.kill(actor)
        self.idle, self.running = [], {}
        if self.started:
            self.ray.shutdown()


def available_cores() -> int:
    """CPU cores this process may use (its affinity, e.g. a container's limit)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers(cores: int | None = None) -> int:
    """One worker per two cores: a worker keeps about two cores busy (the detector on one, and the
    forecasts, overlay and video encoding on threads beside it)."""
    return max(1, (cores or available_cores()) // 2)


