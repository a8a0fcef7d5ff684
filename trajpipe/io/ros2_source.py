"""A robot's camera as a frame source: ``ros2:/camera/image_raw/compressed`` subscribes to a ROS 2 image
topic over DDS (no ROS installation: Cyclone DDS, :mod:`trajpipe.io.dds`), each frame stamped with its
header stamp, optionally with the robot's pose from a ``nav_msgs/Odometry`` topic. Like a stream
(:class:`~trajpipe.video.sources.LiveSource`): the consumer always gets the freshest frame, and a
silent topic is an outage, reported and given up on after ``reconnect_timeout``, never a hang.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from typing import Callable, Iterator

import cv2
import numpy as np

from ..errors import TrajpipeError
from .cdr import CdrError, CdrReader
from ..video.sources import Frame, Outage, log_line

SCHEME = "ros2:"
ENCODINGS = {"bgr8": (3, None), "rgb8": (3, cv2.COLOR_RGB2BGR), "mono8": (1, cv2.COLOR_GRAY2BGR)}
ODOMETRY_KEPT = 400  # poses kept to match frames to (several seconds of a 50-100 Hz odometry)


def decode_image(data: bytes | memoryview, compressed: bool) -> tuple[int, np.ndarray]:
    """Decode a sensor_msgs/CompressedImage or Image in CDR.

    Args:
        data: the serialised message, with its encapsulation header.
        compressed: a CompressedImage (JPEG, PNG, anything OpenCV decodes); False: an Image in bgr8, rgb8
            or mono8.

    Returns:
        (header stamp in integer nanoseconds, (H, W, 3) uint8 BGR image).

    Raises:
        CdrError: a ValueError saying why the message is not usable (an unsupported encoding, a truncated
            message, image data OpenCV cannot decode).
    """
    reader = CdrReader(data)
    stamp, _ = reader.time(), reader.string()
    if compressed:
        reader.string()  # format: "jpeg", "png", "bgr8; jpeg compressed bgr8" ...: the bytes say what they are
        image = cv2.imdecode(np.frombuffer(reader.u8s(), np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise CdrError("image data that OpenCV cannot decode")
        return stamp, image
    height, width, encoding = reader.u32(), reader.u32(), reader.string()
    reader.u8()  # is_bigendian: no meaning for 8-bit channels
    step, pixels = reader.u32(), reader.u8s()
    if encoding not in ENCODINGS:
        raise CdrError(f"unsupported image encoding {encoding!r} (supported: {', '.join(ENCODINGS)})")
    channels, conversion = ENCODINGS[encoding]
    if step < width * channels or len(pixels) < step * height:
        raise CdrError(f"{encoding} image of {width}x{height} with step {step} and {len(pixels)} bytes")
    rows = np.frombuffer(pixels, np.uint8)[:step * height].reshape(height, step)[:, :width * channels]
    image = rows.reshape(height, width, channels)
    return stamp, cv2.cvtColor(image, conversion) if conversion is not None else image.copy()


def decode_odometry(data: bytes | memoryview) -> tuple[int, tuple[float, float, float]]:
    """Decode the pose of a nav_msgs/Odometry in CDR.

    Args:
        data: the serialised message, with its encapsulation header.

    Returns:
        (header stamp in integer nanoseconds, (x, y, yaw)): the pose's position (metres, in the header's
        frame) and the yaw of its quaternion in radians (rotation about z; roll and pitch ignored).

    Raises:
        CdrError: the message is truncated or not little-endian CDR.
    """
    reader = CdrReader(data)
    stamp, _, _ = reader.time(), reader.string(), reader.string()  # header, child_frame_id
    x, y, _, qx, qy, qz, qw = reader.f64s(7).tolist()
    yaw = math.atan2(2 * (qw * qz + qx * qy), 1 - 2 * (qy * qy + qz * qz))
    return stamp, (x, y, yaw)


class _Odometry:
    """The recent poses of an odometry topic, by stamp; the one nearest a frame's time."""

    def __init__(self):
        self.stamps: list[int] = []
        self.poses: list[tuple[float, float, float]] = []

    def add(self, stamp: int, pose) -> None:
        at = bisect.bisect(self.stamps, stamp)
        self.stamps.insert(at, stamp)
        self.poses.insert(at, pose)
        if len(self.stamps) > ODOMETRY_KEPT:
            del self.stamps[0], self.poses[0]

    def nearest(self, stamp: int):
        if not self.stamps:
            return None
        at = bisect.bisect(self.stamps, stamp)
        candidates = [i for i in (at - 1, at) if 0 <= i < len(self.stamps)]
        return self.poses[min(candidates, key=lambda i: abs(self.stamps[i] - stamp))]


class Ros2CameraSource:
    """Frames of the ROS 2 image topic ``topic`` (``.../compressed``: sensor_msgs/CompressedImage, any other
    name: sensor_msgs/Image in bgr8, rgb8 or mono8) on DDS domain ``domain_id``, with the pose from
    ``odometry`` (a nav_msgs/Odometry topic) when given. Messages that cannot be used (another encoding, no
    stamp, a stamp not after the last frame's, no odometry yet) are dropped with a warning (once per kind).

    The topic silent for ``read_timeout`` s is an outage (logged; kept in :attr:`outages`); silent for
    ``reconnect_timeout`` s the source gives up with a clear error. :meth:`interrupt` ends the iteration
    at once (Ctrl-C while waiting for a frame).

    Args:
        topic: the absolute ROS 2 image topic (``/camera/image_raw/compressed``).
        domain_id: the ROS 2 domain, 0 to 232 (None: ``$ROS_DOMAIN_ID``, else 0).
        odometry: the absolute nav_msgs/Odometry topic of the robot's pose, or None (no pose).
        localhost: DDS on the loopback interface only (see :func:`~trajpipe.io.dds.participant`).
        read_timeout: seconds of silence before an outage is logged.
        reconnect_timeout: seconds of silence before the source gives up.
        log: where warnings and outages are reported, one line each.

    Attributes:
        live: True: a live source (the freshest frame, never a backlog).
        spec: ``topic``.
        compressed: the topic is a CompressedImage (its name ends in ``compressed``).
        node: the DDS participant (None once closed).
        odometry: the recent poses received, by stamp.
        fps: 0.0: not known for a topic.
        frame_count: 0: not known for a topic.
        captured: image messages received.
        dropped: image messages not used (older than a fresher one, or not usable).
        outages: the outages so far (start since the source opened and duration, in seconds).

    Raises:
        TrajpipeError: ``cyclonedds`` is missing, or a topic name or the domain is invalid or refused.
    """

    live = True

    def __init__(self, topic: str, domain_id: int | None = None, odometry: str | None = None, localhost: bool = True,
                 read_timeout: float = 5.0, reconnect_timeout: float = 30.0, log: Callable[[str], None] = log_line):
        from . import ros2_types as types
        from .dds import participant, topic as dds_topic

        self.spec, self.read_timeout, self.reconnect_timeout, self._log = topic, read_timeout, reconnect_timeout, log
        self.compressed = topic.rstrip("/").endswith("compressed")
        self.node = participant(domain_id, localhost)
        image_type = types.CompressedImage if self.compressed else types.Image
        self._image_reader = self._reader(dds_topic(self.node, topic, image_type), 1)  # the freshest frame only
        self._odometry_reader = (None if odometry is None
                                 else self._reader(dds_topic(self.node, odometry, types.Odometry), ODOMETRY_KEPT))
        self.odometry = _Odometry()
        self.fps, self.frame_count = 0.0, 0
        self.captured = self.dropped = 0
        self.outages: list[Outage] = []
        self._warned: set[str] = set()
        self._stop = threading.Event()
        self._last_stamp: int | None = None
        self._t0 = time.monotonic()

    @classmethod
    def from_config(cls, source: str, config) -> "Ros2CameraSource":
        """The source of a ``ros2:`` input, set up by the config.

        Args:
            source: the input, ``ros2:`` then the image topic (``ros2:/camera/image_raw/compressed``).
            config: a :class:`~trajpipe.config.Config`: ``ros2_domain_id``, ``ros2_odometry``,
                ``ros2_localhost``, ``read_timeout`` and ``reconnect_timeout``.

        Returns:
            The subscribed source.
        """
        return cls(source[len(SCHEME):], config.ros2_domain_id, config.ros2_odometry, config.ros2_localhost,
                   config.read_timeout, config.reconnect_timeout)

    def _reader(self, dds_topic, depth: int):
        """A best-effort reader: it matches reliable and best-effort publishers (cameras often publish with
        ROS 2's sensor-data QoS, best effort), and a lost frame is better than a late one."""
        from cyclonedds.core import Policy
        from cyclonedds.qos import Qos
        from cyclonedds.sub import DataReader

        return DataReader(self.node, dds_topic, Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(depth)))

    def _take(self, reader) -> list[bytes]:
        """The serialised samples waiting in ``reader`` (decoded here, without cyclonedds' Python objects:
        a frame's pixels as a list of ints would cost more than detecting on it)."""
        from cyclonedds.core import InstanceState, SampleState, ViewState
        from cyclonedds.sub import ddspy_take

        samples = ddspy_take(reader._ref, SampleState.Any | ViewState.Any | InstanceState.Any, 64)
        return [] if isinstance(samples, int) else [data for data, info in samples if info.valid_data]

    def _warn(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            self._log(f"{message}; dropped (warned once)")

    def _poll_odometry(self) -> None:
        if self._odometry_reader is None:
            return
        for data in self._take(self._odometry_reader):
            try:
                stamp, pose = decode_odometry(data)
            except CdrError as exc:
                self._warn("odometry", f"odometry message not readable: {exc}")
                continue
            if stamp <= 0:
                self._warn("odometry-stamp", "odometry message without a timestamp (header.stamp 0)")
                continue
            self.odometry.add(stamp, pose)

    def _next(self) -> tuple[int, np.ndarray, tuple | None] | None:
        """The freshest usable frame waiting (older ones counted as dropped), or None."""
        self._poll_odometry()
        frames = self._take(self._image_reader)
        self.captured += len(frames)
        for data in reversed(frames):
            try:
                stamp, image = decode_image(data, self.compressed)
            except CdrError as exc:
                self._warn(f"image:{exc}", f"image on {self.spec} not usable: {exc}")
                continue
            if stamp <= 0 or (self._last_stamp is not None and stamp <= self._last_stamp):
                self._warn("stamp", f"image on {self.spec} without a timestamp, or not after the last frame's")
                continue
            pose = None
            if self._odometry_reader is not None:
                pose = self.odometry.nearest(stamp)
                if pose is None:
                    self._warn("no-odometry", f"image on {self.spec} before any odometry")
                    continue
            self.dropped += frames.index(data)  # the older frames of this batch
            return stamp, image, pose
        self.dropped += len(frames)
        return None

    def __iter__(self) -> Iterator[Frame]:
        index, silent_since, lost_at, outage = 0, time.monotonic(), None, 0.0
        while not self._stop.is_set():
            item = self._next()
            now = time.monotonic()
            if item is None:
                if lost_at is None and now - silent_since >= self.read_timeout:
                    lost_at = silent_since
                    self._log(f"ROS 2 topic {self.spec} silent since t={lost_at - self._t0:.1f}s: outage; waiting")
                if now - silent_since >= self.reconnect_timeout:
                    self._end_outage(lost_at, now)
                    raise TrajpipeError(f"ROS 2 topic {self.spec} silent for {self.reconnect_timeout:g} s; giving up")
                self._stop.wait(0.002)
                continue
            if lost_at is not None:
                outage = self._end_outage(lost_at, now)
                self._log(f"ROS 2 topic {self.spec} back after {outage:.1f} s")
                lost_at = None
            stamp, image, pose = item
            self._last_stamp, silent_since = stamp, now
            yield Frame(index, stamp / 1e9, image, now, outage, pose)
            index, outage = index + 1, 0.0
        if lost_at is not None:  # interrupted during an outage: it counts, up to now
            self._end_outage(lost_at, time.monotonic())

    def _end_outage(self, lost_at: float | None, now: float) -> float:
        if lost_at is None:
            return 0.0
        self.outages.append(Outage(lost_at - self._t0, now - lost_at, 0))
        return now - lost_at

    def interrupt(self) -> None:
        """End the iteration now (from a signal handler or another thread)."""
        self._stop.set()

    def close(self) -> None:
        """End any iteration and leave the DDS domain; closing twice is harmless."""
        from .dds import delete

        self._stop.set()
        if self.node is not None:
            node, self.node = self.node, None
            delete(node)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
