"""trajpipe's own detector stage: a YOLO network on LiteRT or OpenVINO, chosen by measurement on this
machine (:mod:`~trajpipe.video.runtime_choice`), its boxes tracked by Ultralytics' ByteTrack or BoT-SORT
(:class:`~trajpipe.tracking.tracker.BoxTracker`)."""

from __future__ import annotations

import time

import numpy as np

from ..core.detections import Detections
from ..errors import TrajpipeError, first_line
from ..tracking.kalman_warp import follow_camera_motion
from .network import YoloNetwork, class_ids, model_names, package_version
from ..provenance import cpu_summary
from .runtime_choice import (RuntimeTable, Timing, cache_key, describe_choice, load_average, time_networks,
                             usable_cores)

# detector_runtime values this stage runs (auto chooses among the candidates both give)
STAGE_RUNTIMES = ("auto", "litert", "openvino")


def stage_runtimes(runtime: str, weights: str, imgsz: int | None, device: str | None) -> tuple[list[str], str | None]:
    """The runtimes trajpipe's own detector stage may run ``weights`` on for ``detector_runtime=runtime``,
    and why none can (None when some can)."""
    from .litert import litert_available
    from .network import network_weights
    from .openvino import openvino_available

    if imgsz is not None or device not in (None, "cpu"):
        return [], "imgsz and device are Ultralytics' settings"
    if not network_weights(weights):
        return [], f"trajpipe's own detector stage reads .tflite and .onnx files, not {weights}"
    usable = {"litert": litert_available() and weights.lower().endswith(".tflite"), "openvino": openvino_available()}
    wanted = ["litert", "openvino"] if runtime == "auto" else [runtime]
    found = [r for r in wanted if usable[r]]
    if found:
        return found, None
    if runtime == "litert":
        return [], ("LiteRT runs .tflite files only" if litert_available()
                    else "ai-edge-litert is not installed (pip install 'trajpipe[litert]')")
    if runtime == "openvino":
        return [], "openvino is not installed (pip install openvino)"
    return [], "neither ai-edge-litert nor openvino is installed"


def runtime_versions(runtimes: list[str]) -> dict[str, str]:
    """The installed version of each runtime in ``runtimes`` (part of the cache key), from the packages'
    metadata: nothing is imported."""
    packages = {"litert": "ai-edge-litert", "openvino": "openvino"}
    return {runtime: package_version(packages[runtime]) for runtime in runtimes}


def table_key(weights: str, runtimes: list[str], options: list[tuple[str, int | None, int]]) -> str:
    """The cache key of the timing table of ``options`` (what a run times and ``trajpipe info`` reads)."""
    return cache_key(weights, {**runtime_versions(runtimes), "candidates": str(options)})


def candidates(runtimes: list[str], cores: int, threads: int | None = None) -> list[tuple[str, int | None, int]]:
    """(runtime, threads, frames at once) to time: LiteRT at 1 .. ``cores`` threads on one frame at a
    time, and on as many frames at once as its threads fit into the cores (``litert:1x2``: two frames,
    one thread each); OpenVINO with its own thread count (two inferences at once on one compiled network
    hung: openvino 2026.4). Only ``threads`` threads where that is given (``detector_threads``)."""
    found: list[tuple[str, int | None, int]] = []
    if "litert" in runtimes:
        counts = [threads] if threads else range(1, cores + 1)
        found += [("litert", n, 1) for n in counts]
        found += [("litert", n, cores // n) for n in counts if cores // n > 1]
    if "openvino" in runtimes:
        found.append(("openvino", threads, 1))
    return found


def build_network(runtime: str, threads: int | None, copies: int, weights: str, conf: float, iou: float,
                  ids: list[int] | None) -> YoloNetwork:
    """One candidate network, ready to detect (OpenVINO compiles it in the background)."""
    if runtime == "litert":
        from .litert import LiteRtNetwork

        return LiteRtNetwork(weights, conf, iou, ids, threads=threads or 1, copies=copies)
    from .openvino import OpenVinoNetwork

    return OpenVinoNetwork(weights, conf, iou, ids, threads=threads)


def calibration_frame() -> np.ndarray:
    """The packaged real frame the candidates are timed on (a street of 1906, 640 x 360)."""
    import cv2

    from ..resources import packaged_file

    return cv2.imread(str(packaged_file("calibration_frame.jpg")))


def calibrate(options: list[tuple[str, int | None, int]], weights: str, conf: float, iou: float, ids: list[int] | None,
              key: str) -> tuple[RuntimeTable, dict[str, YoloNetwork]]:
    """Time every candidate on the calibration frame; return the table and the loaded networks (the
    chosen one is used as it is, not loaded again)."""
    started, load = time.perf_counter(), load_average()
    built = [(option, build_network(*option, weights, conf, iou, ids)) for option in options]
    measured = time_networks([network for _, network in built], calibration_frame(), [o[2] for o, _ in built])
    timings = [Timing(runtime, threads, round(wall_ms, 2), round(cpu_ms, 2), copies)
               for ((runtime, threads, copies), _), (wall_ms, cpu_ms) in zip(built, measured)]
    table = RuntimeTable(key, timings, time.time(), round(time.perf_counter() - started, 3), cpu=cpu_summary(),
                         machine_load=load)
    table.save()
    return table, {timing.name: network for timing, (_, network) in zip(timings, built)}


class NetworkTracker:
    """A YOLO network on the runtime measured fastest here, its boxes tracked by an Ultralytics tracker.

    Calling it detects and tracks one frame. For video files, :meth:`detect` may run ahead on the next
    frames in another thread while :meth:`track` follows the frames in order.

    Args:
        weights: an Ultralytics ``.tflite`` export (LiteRT or OpenVINO) or ``.onnx`` export (OpenVINO).
        tracker: ``bytetrack``, ``botsort`` or a tracker YAML.
        conf: confidence threshold.
        iou: NMS IoU threshold.
        classes: class names to keep (None: all).
        runtimes: the runtimes to choose among (``litert``, ``openvino``): more than one candidate is
            timed the first time these weights run on this machine.
        threads: the runtimes' thread count (None: LiteRT's is measured, OpenVINO chooses its own).
        copies: frames the network runs at once (None: measured with the rest).
    """

    def __init__(self, weights: str, tracker: str = "bytetrack", conf: float = 0.25, iou: float = 0.7,
                 classes: list[str] | None = None, runtimes: tuple[str, ...] = ("litert", "openvino"),
                 threads: int | None = None, copies: int | None = None):
        from ..tracking.tracker import BoxTracker, resolve_tracker

        self.weights, self.conf, self.iou = weights, conf, iou
        self.names = model_names(weights)
        self.class_ids = class_ids(self.names, classes)  # an unknown class fails before anything is timed
        self.tracker = resolve_tracker(tracker)  # the settings' path, as YoloTracker.tracker
        self.box_tracker = BoxTracker(self.tracker)
        self.network: YoloNetwork | None = None
        self.live: bool | None = None  # what the network was chosen for (None: not yet)
        self._spare: dict[str, YoloNetwork] = {}  # calibrated candidates not (yet) used
        options = candidates(list(runtimes), usable_cores(), threads)
        if copies is not None:  # one candidate named in full (detector_runtime=litert:1x2)
            options = [o for o in options if o[2] == copies] or [(runtimes[0], threads, copies)]
        if len(options) == 1:  # nothing to choose: no timing, no cache
            self.table = None
            runtime, threads, copies = options[0]
            self._use(Timing(runtime, threads, float("nan"), float("nan"), copies))
            return
        key = table_key(weights, list(runtimes), options)
        self.table = RuntimeTable.load(key)
        if self.table is None:
            self.table, self._spare = calibrate(options, weights, conf, iou, self.class_ids, key)
        if self.table.choose(live=True) == self.table.choose(live=False):
            self.prefer(live=True)  # both uses agree: load it now, before the first frame

    @property
    def runtime(self) -> str:
        """The runtime running the network now (``LiteRT``, ``OpenVINO``)."""
        return self._network().runtime

    def prefer(self, live: bool) -> None:
        """Run the network on the candidate measured best for a live source or push mode (``live``: the
        lowest latency) or for a video file (the most frames a second beside the rest of the pipeline)."""
        if self.table is None or self.live == live:
            return
        chosen = self.table.choose(live)
        if self.network is None or self._running() != (chosen.runtime, chosen.threads, chosen.copies):
            self._use(chosen)
        self.live = live

    def _running(self) -> tuple[str, int | None, int]:
        """(runtime, threads, frames at once) of the network running now."""
        return self.network.runtime.lower(), self.network.threads, getattr(self.network, "copies", 1)

    @property
    def parallel(self) -> int:
        """How many frames the pipeline may hand :meth:`detect` at once, each from a thread of its own."""
        return getattr(self._network(), "copies", 1)

    def _use(self, timing: Timing) -> None:
        """Run ``timing``'s candidate from now on; the other calibrated networks are released."""
        network = self._spare.pop(timing.name, None)
        if network is None:
            network = build_network(timing.runtime, timing.threads, timing.copies, self.weights, self.conf, self.iou,
                                    self.class_ids)
        for spare in self._spare.values():
            spare.close()
        self._spare.clear()
        if self.network is not None:
            self.network.close()
        self.network = network

    def _network(self) -> YoloNetwork:
        if self.network is None:  # the uses disagreed and no stream said which: push mode wants latency
            self.prefer(live=True)
        return self.network

    def describe(self) -> str:
        """The weights and what runs them, for the run's first line."""
        return f"{self.weights} ({self._network().describe()})"

    def choice(self) -> str | None:
        """How the runtime was chosen, with the measured figures (None where nothing was to choose)."""
        if self.table is None:
            return None
        live = True if self.live is None else self.live
        return describe_choice(self.table, self.table.choose(live), live)

    def detect(self, frame_bgr: np.ndarray) -> np.ndarray:
        """(N, 6) boxes of one frame, untracked (one thread at a time)."""
        try:
            return self._network().detect(frame_bgr)
        except TrajpipeError:
            raise
        except Exception as exc:
            raise TrajpipeError(f"detector failed on a frame of shape {frame_bgr.shape}: {first_line(exc)}") from exc

    def track(self, boxes: np.ndarray, frame_bgr: np.ndarray) -> Detections:
        """Track the boxes :meth:`detect` found in ``frame_bgr`` (frames in order)."""
        return self.box_tracker.update(boxes, frame_bgr)

    def __call__(self, frame_bgr: np.ndarray) -> Detections:
        return self.track(self.detect(frame_bgr), frame_bgr)

    def follow_camera(self, warp: np.ndarray) -> None:
        """As :meth:`~trajpipe.video.detector.YoloTracker.follow_camera`."""
        follow_camera_motion([self.box_tracker.tracker], warp)

    def lost_track_ids(self) -> list[int]:
        """Ids of the tracks the tracker has lost but still looks for (its ``lost_stracks``)."""
        return [int(t.track_id) for t in self.box_tracker.tracker.lost_stracks]

    def trackers(self) -> list:
        """The Ultralytics tracker behind the ids (for :mod:`trajpipe.tracking.reassociate`)."""
        return [self.box_tracker.tracker]

    def reset(self) -> None:
        """Start tracking afresh: new tracker state and ids."""
        self.box_tracker.reset()

    def close(self) -> None:
        """Release the networks."""
        for network in [self.network, *self._spare.values()]:
            if network is not None:
                network.close()
        self._spare.clear()

    def record_rest_cpu(self, process_cpu_s: float, frames: int) -> None:
        """After a video file's run: keep the CPU a frame the rest of the pipeline spent beside the
        network (the process's CPU less the network's measured share), for the next choice."""
        if self.table is None or frames < 30 or self.network is None:
            return
        network = next((t for t in self.table.timings if (t.runtime, t.threads, t.copies) == self._running()), None)
        if network is not None:
            self.table.record_rest_cpu(process_cpu_s * 1000 / frames - network.cpu_ms)


def runtime_report(weights: str) -> list[str]:
    """The weights, and what ``detector_runtime=auto`` runs them on here with the figures behind it, from
    the cache (nothing is timed): lines for ``trajpipe info``."""
    runtimes, reason = stage_runtimes("auto", weights, None, None)
    if not runtimes:
        return [f"detector weights: {weights}", f"detector runtime: Ultralytics ({reason})"]
    options = candidates(runtimes, usable_cores())
    if len(options) == 1:
        return [f"detector weights: {weights}", f"detector runtime: {options[0][0]} (the only candidate here)"]
    table = RuntimeTable.load(table_key(weights, runtimes, options))
    if table is None:
        names = ", ".join(Timing(r, t, 0, 0, c).name for r, t, c in options)
        return [f"detector weights: {weights}", f"detector runtime: not measured on this machine yet; the first run "
                f"times {names} (a few seconds) and keeps the fastest"]
    return [f"detector weights: {weights}"] + [f"detector runtime ({use}): {describe_choice(table, table.choose(live), live)}"
                                              for use, live in (("video files", False), ("live sources and push mode", True))]
