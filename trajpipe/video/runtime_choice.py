"""Which runtime runs the detector network fastest on this machine, measured here once and remembered.

The fastest runtime and thread count differ from one CPU of the same kind to the next (AVX2 only,
AVX-512, VNNI, BF16: docs/benchmarks.md), so ``detector_runtime=auto`` does not guess. The first time a
weights file runs on a machine, every candidate (LiteRT at 1 .. cores threads, OpenVINO where it is
installed) runs a few times on a real frame (the packaged ``cfg/calibration_frame.jpg``); its wall and
CPU time a frame go into a cache file in the user's cache directory, keyed by the CPU model and flags,
the core count, the runtimes' versions and the weights file's hash (FFTW's "wisdom", cuDNN's benchmark
mode). Later runs read the table and choose without timing anything.

The choice depends on what the run needs (:func:`choose`): a video file wants the most frames a second
with the rest of the pipeline beside the network on the same cores; a live source or push mode wants
the lowest latency.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..provenance import cpu_identity

CACHE_VERSION = 1
CALIBRATION_RUNS = 2  # timed runs per candidate, after one untimed warm-up (the first run sets the runtime up)
# The CPU a frame of everything but the network (tracker, histories, forecasts, drawing, encoding) as a
# share of the network's single-thread CPU, until a run on this machine has measured it (then
# record_rest_cpu keeps the measured figure): the default pipeline's profile on an AVX2 machine.
FIRST_GUESS_REST_SHARE = 0.5


@dataclass(frozen=True)
class Timing:
    """One candidate's measured cost on this machine.

    Attributes:
        runtime: ``litert`` or ``openvino``.
        threads: the runtime's thread count (None: the runtime's own choice).
        wall_ms: wall-clock milliseconds a frame (letterbox, network, NMS); with several frames at once,
            the time of a round over the frames in it (one frame's latency is longer).
        cpu_ms: CPU milliseconds a frame, summed over the process's threads.
        copies: frames the network runs at once, one thread each (video files only: a live source
            takes the freshest frame, one at a time).
    """

    runtime: str
    threads: int | None
    wall_ms: float
    cpu_ms: float
    copies: int = 1

    @property
    def name(self) -> str:
        """``litert:2``, ``litert:1x2`` (two frames at once, one thread each), ``openvino``: the candidate
        as :func:`describe_choice` names it."""
        name = self.runtime if self.threads is None else f"{self.runtime}:{self.threads}"
        return name if self.copies == 1 else f"{name}x{self.copies}"


def frame_ms(timing: Timing, cores: int, rest_cpu_ms: float) -> float:
    """Milliseconds a frame of a video file with this network beside the rest of the pipeline
    (``rest_cpu_ms`` of CPU a frame) on ``cores``. Several frames at once: the longer of the network's
    time a frame and the whole pipeline's CPU spread over the cores. One frame at a time: the network's
    wall time plus the rest's share of the cores, since they take turns for part of each frame (on 2
    AVX2 cores, whole process on the concourse: one LiteRT thread 245 ms a frame against 137 ms of
    network, where the spread-CPU bound said 137; this rule ranks all four candidates as measured)."""
    cores = max(1, cores)
    if timing.copies > 1:
        return max(timing.wall_ms, (timing.cpu_ms + rest_cpu_ms) / cores)
    return timing.wall_ms + rest_cpu_ms / cores


def choose(timings: list[Timing], live: bool, cores: int, rest_cpu_ms: float) -> Timing:
    """The candidate to run.

    Args:
        timings: the measured candidates (at least one).
        live: True for a live source or push mode (lowest latency), False for a video file (most frames
            a second with the rest of the pipeline, ``rest_cpu_ms`` a frame, on the same ``cores``).
        cores: the CPU cores this process may use.
        rest_cpu_ms: CPU milliseconds a frame of everything but the network.

    Returns:
        The chosen :class:`Timing`; ties go to the lower CPU time, then the fewer threads.
    """
    if live:  # one frame at a time: the freshest
        timings = [t for t in timings if t.copies == 1]
    if not timings:
        raise ValueError("no candidate to choose from")

    def cost(t: Timing):
        return (t.wall_ms if live else frame_ms(t, cores, rest_cpu_ms), t.cpu_ms, t.threads or cores)

    return min(timings, key=cost)


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity, where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def file_hash(path: str) -> str:
    """sha256 of a file (the weights' identity: a retrained file of the same name is timed anew)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_path() -> Path:
    """The cache file: ``$TRAJPIPE_CACHE_DIR`` or ``$XDG_CACHE_HOME/trajpipe`` or ``~/.cache/trajpipe``,
    then ``detector_runtime.json``."""
    base = os.environ.get("TRAJPIPE_CACHE_DIR")
    if not base:
        base = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "trajpipe")
    return Path(base) / "detector_runtime.json"


def cache_key(weights: str, versions: dict[str, str]) -> str:
    """What a timing table depends on: CPU model and flags, cores, runtime versions, the weights' hash."""
    parts = [cpu_identity(), str(usable_cores()), json.dumps(versions, sort_keys=True), file_hash(weights)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _read_cache(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("version") == CACHE_VERSION else {}


def _write_cache(path: Path, data: dict) -> None:
    """Replace the cache file atomically (two runs starting at once must not leave half a file)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)
    except OSError:  # a read-only home: the choice is measured again next time, nothing else changes
        pass


@dataclass
class RuntimeTable:
    """The timing table of one weights file on this machine, as cached.

    Attributes:
        key: the cache key (:func:`cache_key`).
        timings: the measured candidates.
        calibrated_at: when they were timed (Unix time).
        calibration_s: how long timing them took, loading included.
        rest_cpu_ms: the measured CPU a frame of the rest of the pipeline (None until a run measured it).
        cpu: the CPU as :func:`cpu_summary` gives it.
        machine_load: the 1-minute load average when they were timed (a busy machine times them less reliably).
        from_cache: whether this run read the table instead of timing.
    """

    key: str
    timings: list[Timing]
    calibrated_at: float
    calibration_s: float
    rest_cpu_ms: float | None = None
    cpu: str = ""
    machine_load: float | None = None
    from_cache: bool = False

    def rest_estimate(self) -> float:
        """The rest of the pipeline's CPU a frame: measured, or a first guess from the network's."""
        if self.rest_cpu_ms is not None:
            return self.rest_cpu_ms
        single = [t.cpu_ms for t in self.timings if t.threads == 1] or [t.cpu_ms for t in self.timings]
        return FIRST_GUESS_REST_SHARE * min(single)

    def choose(self, live: bool) -> Timing:
        """The candidate for a live source / push mode (``live``) or a video file."""
        return choose(self.timings, live, usable_cores(), self.rest_estimate())

    @classmethod
    def load(cls, key: str, path: Path | None = None) -> "RuntimeTable | None":
        """The cached table for ``key``, or None."""
        entry = _read_cache(path or cache_path()).get("tables", {}).get(key)
        if not isinstance(entry, dict):
            return None
        try:
            timings = [Timing(**t) for t in entry["timings"]]
            return cls(key, timings, float(entry["calibrated_at"]), float(entry["calibration_s"]),
                       entry.get("rest_cpu_ms"), entry.get("cpu", ""), entry.get("load"), from_cache=True)
        except (KeyError, TypeError, ValueError):
            return None

    def save(self, path: Path | None = None) -> None:
        """Write (or replace) this table in the cache file."""
        path = path or cache_path()
        data = _read_cache(path) or {"version": CACHE_VERSION, "tables": {}}
        entry = {"timings": [asdict(t) for t in self.timings], "calibrated_at": self.calibrated_at,
                 "calibration_s": self.calibration_s, "rest_cpu_ms": self.rest_cpu_ms, "cpu": self.cpu,
                 "load": self.machine_load}
        data.setdefault("tables", {})[self.key] = entry
        _write_cache(path, data)

    def record_rest_cpu(self, rest_cpu_ms: float, path: Path | None = None) -> None:
        """Keep a run's measured CPU a frame of the rest of the pipeline (a running mean with the last),
        so the next choice weighs the network against what the pipeline really spends beside it."""
        if not np.isfinite(rest_cpu_ms) or rest_cpu_ms < 0:
            return
        self.rest_cpu_ms = rest_cpu_ms if self.rest_cpu_ms is None else 0.5 * (self.rest_cpu_ms + rest_cpu_ms)
        self.save(path)


def time_networks(networks: list, frame: np.ndarray, copies: list[int], rounds: int = CALIBRATION_RUNS) -> list[tuple[float, float]]:
    """(wall ms, CPU ms) a frame of each network's ``detect`` on ``frame``, ``copies[i]`` frames at once
    (threads of their own, kept for all rounds, as the pipeline keeps them): one untimed warm-up round
    each (it sets the runtime up), then ``rounds`` rounds taking the networks in turn, so that a change
    in the machine's load during the timing falls on every candidate alike."""
    from concurrent.futures import ThreadPoolExecutor

    pools = [ThreadPoolExecutor(n) if n > 1 else None for n in copies]

    def one_round(i: int) -> None:
        if pools[i] is None:
            networks[i].detect(frame)
        else:
            for future in [pools[i].submit(networks[i].detect, frame) for _ in range(copies[i])]:
                future.result()

    try:
        for i in range(len(networks)):
            one_round(i)
        wall, cpu = [0.0] * len(networks), [0.0] * len(networks)
        for _ in range(rounds):
            for i, n in enumerate(copies):
                w, c = time.perf_counter(), time.process_time()
                one_round(i)
                wall[i] += (time.perf_counter() - w) / n
                cpu[i] += (time.process_time() - c) / n
    finally:
        for pool in pools:
            if pool is not None:
                pool.shutdown()
    return [(w * 1000 / rounds, c * 1000 / rounds) for w, c in zip(wall, cpu)]


def load_average() -> float | None:
    """The 1-minute load average (None where the system has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def describe_choice(table: RuntimeTable, chosen: Timing, live: bool) -> str:
    """One line: what runs, why, and the figures behind it (for the run's first line and ``trajpipe info``)."""
    figures = ", ".join(f"{t.name} {t.wall_ms:.0f} ms wall / {t.cpu_ms:.0f} ms CPU" for t in table.timings)
    when = time.strftime("%Y-%m-%d", time.localtime(table.calibrated_at))
    load = "" if table.machine_load is None else f" at load average {table.machine_load:.2f}"
    how = (f"measured {when}{load}, read from {cache_path()}" if table.from_cache
           else f"measured now in {table.calibration_s:.1f} s{load}, kept in {cache_path()}")
    goal = "lowest latency" if live else "most frames a second"
    return f"{chosen.name} for the {goal} on {table.cpu} ({figures}; {how})"
