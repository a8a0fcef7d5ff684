"""ROS 2 topics over DDS without ROS: Cyclone DDS (the ``cyclonedds`` wheel) speaks the wire protocol of
``rmw_cyclonedds_cpp``, so a ROS 2 node sees these topics as its own. A ROS 2 topic ``/x`` is the DDS
topic ``rt/x``; samples are the CDR of :mod:`trajpipe.io.ros2_encode`. QoS and network: docs/robotics.md.

Needs the ``robotics`` extra (``cyclonedds``).
"""

from __future__ import annotations

import os
import re
import time

from ..core.results import FrameResult
from ..errors import TrajpipeError
from .frame_scene import FrameScene
from .scene import FRAME_CAMERA, FRAME_GROUND, FRAME_WORLD

INSTALL_HINT = "ROS 2 topics need the robotics extra: pip install 'trajpipe[robotics]'"
TOPIC_NAME = re.compile(r"^(/[A-Za-z_][A-Za-z0-9_]*)+$")  # a fully qualified ROS 2 name, no trailing /
HISTORY_DEPTH = 10  # ROS 2's default profile: reliable, keep last 10, volatile

# Loopback only, no multicast: discovery by unicast to the participant ports of this host. Used unless
# the user gives Cyclone's own configuration (CYCLONEDDS_URI) or asks for the network (ros2_localhost=false).
LOOPBACK_CONFIG = """<CycloneDDS><Domain Id="any"><General>
<Interfaces><NetworkInterface address="127.0.0.1"/></Interfaces><AllowMulticast>false</AllowMulticast>
</General><Discovery><ParticipantIndex>auto</ParticipantIndex><MaxAutoParticipantIndex>120</MaxAutoParticipantIndex>
<Peers><Peer address="127.0.0.1"/></Peers></Discovery></Domain></CycloneDDS>"""


def require_dds() -> None:
    """Check that Cyclone DDS can be imported.

    Raises:
        TrajpipeError: ``cyclonedds`` is not installed (with the command that installs it).
    """
    try:
        import cyclonedds.domain  # noqa: F401
    except ImportError:
        raise TrajpipeError(INSTALL_HINT) from None


def check_topic(name: str, what: str = "topic") -> str:
    """Check a ROS 2 topic name or namespace.

    Args:
        name: an absolute ROS 2 name (``/trajpipe``, ``/robot/markers``).
        what: what ``name`` is, for the message (``"topic"``, ``"namespace"``).

    Returns:
        ``name``.

    Raises:
        TrajpipeError: ``name`` is not absolute, has a trailing ``/`` or characters other than letters,
            digits and ``_``.
    """
    if not TOPIC_NAME.match(name):
        raise TrajpipeError(f"invalid ROS 2 {what} {name!r}: expected an absolute name like /trajpipe "
                            "(letters, digits and _, parts separated by /, no trailing /)")
    return name


_DOMAINS: dict = {}  # domain id -> its loopback-only Domain, for the process's lifetime


def participant(domain_id: int | None = None, localhost: bool = True):
    """A DDS participant on a ROS 2 domain.

    Args:
        domain_id: the ROS 2 domain, 0 to 232 (None: ``$ROS_DOMAIN_ID``, else 0, as ROS 2 nodes).
        localhost: loopback only, discovery by unicast (unless the environment's CYCLONEDDS_URI
            configures Cyclone); False: Cyclone's defaults, the network.

    Returns:
        A ``cyclonedds.domain.DomainParticipant``; free it with :func:`delete`.

    Raises:
        TrajpipeError: ``cyclonedds`` is missing, the domain id is invalid, or DDS refuses the domain.
    """
    require_dds()
    from cyclonedds.core import DDSException
    from cyclonedds.domain import Domain, DomainParticipant

    if domain_id is None:
        text = os.environ.get("ROS_DOMAIN_ID", "").strip() or "0"
        if not text.isdigit():
            raise TrajpipeError(f"invalid ROS_DOMAIN_ID {text!r}: must be a number between 0 and 232")
        domain_id = int(text)

    if not 0 <= int(domain_id) <= 232:  # ROS 2's range: higher ids map to ports beyond 65535
        raise TrajpipeError(f"invalid ROS 2 domain id {domain_id}: must be between 0 and 232")
    try:
        if localhost and not os.environ.get("CYCLONEDDS_URI") and int(domain_id) not in _DOMAINS:
            # a domain is configured once a process (a second Domain of the same id is refused); it lives on
            _DOMAINS[int(domain_id)] = Domain(int(domain_id), LOOPBACK_CONFIG)
        return DomainParticipant(int(domain_id))
    except DDSException as exc:
        raise TrajpipeError(f"DDS refused domain {domain_id}: {exc}") from None


def qos(depth: int = HISTORY_DEPTH):
    """Reliable, keep last ``depth``, volatile: ROS 2's default. Reliable so that a subscriber on a good
    link gets every frame; keep-last so that a slow or gone subscriber never blocks the pipeline (older
    unacknowledged frames are replaced); volatile as a late subscriber wants the present, not the past.

    Args:
        depth: the samples kept for each subscriber (the history depth).

    Returns:
        A ``cyclonedds.qos.Qos`` (reliable with a 100 ms maximum blocking time).
    """
    from cyclonedds.core import Policy
    from cyclonedds.qos import Qos
    from cyclonedds.util import duration

    return Qos(Policy.Reliability.Reliable(duration(milliseconds=100)), Policy.History.KeepLast(depth),
               Policy.Durability.Volatile)


def topic(node, name: str, data_type):
    """The DDS topic of a ROS 2 topic.

    Args:
        node: the participant (:func:`participant`).
        name: the absolute ROS 2 topic name; the DDS topic is ``rt`` + ``name``.
        data_type: its type, a class of :mod:`trajpipe.io.ros2_types`.

    Returns:
        A ``cyclonedds.topic.Topic``.

    Raises:
        TrajpipeError: ``name`` is invalid or DDS refuses the topic (e.g. another type under that name).
    """
    from cyclonedds.core import DDSException
    from cyclonedds.topic import Topic

    try:
        return Topic(node, "rt" + check_topic(name), data_type)
    except DDSException as exc:
        raise TrajpipeError(f"DDS refused topic {name}: {exc}") from None


def delete(node) -> None:
    """Delete a participant made by :func:`participant` and all it holds, now: cyclonedds keeps every
    entity in a registry until it is deleted explicitly (``__del__`` is that deletion).

    Args:
        node: the participant.
    """
    node.__del__()


def write_cdr(writer, data: bytes) -> None:
    """Write a sample already in CDR, as DataWriter.write would after serialising: the bytes of
    :mod:`trajpipe.io.ros2_encode` are made once for MCAP and DDS.

    Args:
        writer: the ``cyclonedds.pub.DataWriter`` of the sample's topic.
        data: the serialised sample, with its encapsulation header (padded here to 4 bytes).

    Raises:
        TrajpipeError: DDS could not write the sample.
    """
    from cyclonedds.core import DDSException
    from cyclonedds.pub import ddspy_write

    data = data.ljust((len(data) + 3) & ~3, b"\0")  # DDS pads a serialised sample to 4 bytes
    code = ddspy_write(writer._ref, data)
    if code < 0:
        raise TrajpipeError(f"DDS could not write to {writer.topic.name}: {DDSException(code, 'write')}")


class Ros2Publisher:
    """Publishes each result on ``<namespace>/markers`` (visualization_msgs/MarkerArray) and
    ``<namespace>/objects`` (autoware_perception_msgs/PredictedObjects), header stamps the results'
    timestamps.

    For a robot's own loop: ``publisher.publish(pipeline.process(frame, t, pose))``; :meth:`from_config`
    takes the settings from the config keys ``ros2_*``.

    Args:
        domain_id: the ROS 2 domain, 0 to 232 (None: ``$ROS_DOMAIN_ID``, else 0).
        namespace: the absolute ROS 2 namespace of the two topics.
        frame_id: the headers' frame (None: ``world`` with a pose, ``ground`` with a homography only,
            ``camera`` in pixels).
        world: True: geometry on the ground / world plane (needs a homography; metres, or the
            homography's units); False: in pixels in the image frame; None: decided by the first result.
        localhost: DDS on the loopback interface only (see :func:`participant`).

    Attributes:
        node: the DDS participant (None once closed).
        markers: the DataWriter of ``<namespace>/markers``.
        objects: the DataWriter of ``<namespace>/objects``.
        frames: results published so far.
        wait: seconds :meth:`ready` waits for subscribers (0: none).

    Raises:
        TrajpipeError: ``cyclonedds`` is missing, the namespace or domain is invalid, or DDS refuses them.
    """

    def __init__(self, domain_id: int | None = None, namespace: str = "/trajpipe", frame_id: str | None = None,
                 world: bool | None = None, localhost: bool = True):
        from . import ros2_output_types as types
        from cyclonedds.pub import DataWriter

        check_topic(namespace, "namespace")
        self.domain_id, self.namespace, self.frame_id, self.world = domain_id, namespace, frame_id, world
        self.node = participant(domain_id, localhost)
        profile = qos()
        self.markers = DataWriter(self.node, topic(self.node, f"{namespace}/markers", types.MarkerArray), profile)
        self.objects = DataWriter(self.node, topic(self.node, f"{namespace}/objects", types.PredictedObjects), profile)
        self.frames, self.wait = 0, 0.0

    @classmethod
    def from_config(cls, config) -> "Ros2Publisher":
        """A publisher set up by the config keys ``ros2_*``.

        Args:
            config: a :class:`~trajpipe.config.Config` (``ros2_domain_id``, ``ros2_namespace``,
                ``ros2_frame_id``, ``ros2_localhost``, ``ros2_wait``).

        Returns:
            The publisher, plane decided by :meth:`ready` or the first result.
        """
        publisher = cls(config.ros2_domain_id, config.ros2_namespace, config.ros2_frame_id, None, config.ros2_localhost)
        publisher.wait = config.ros2_wait
        return publisher

    def ready(self, pipeline) -> None:
        """Before the first frame: the ground / world plane when the pipeline has a homography, and up to
        ``ros2_wait`` seconds (:attr:`wait`) for subscribers.

        Args:
            pipeline: the :class:`~trajpipe.Pipeline` whose results will be published.
        """
        self.world = pipeline.ground is not None
        if self.wait > 0:
            self.wait_for_subscribers(self.wait)

    def wait_for_subscribers(self, timeout: float, count: int = 1) -> bool:
        """Wait until subscribers match both topics (discovery takes a few milliseconds on one host,
        longer over a network).

        Args:
            timeout: the longest wait, in seconds.
            count: the subscribers each topic needs.

        Returns:
            Whether both topics had ``count`` subscribers before ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if min(len(w.get_matched_subscriptions()) for w in (self.markers, self.objects)) >= count:
                return True
            time.sleep(0.01)
        return False

    def publish(self, result: FrameResult, record: dict | None = None, scene: FrameScene | None = None,
                image=None) -> None:
        """Publish one result on both topics, stamped with its timestamp.

        Args:
            result: the frame's result.
            record: not used (the call is that of every live output of ``trajpipe run``).
            scene: the frame's geometry and messages, when another output made them (else made here).
            image: not used.

        Raises:
            TrajpipeError: DDS could not write a sample.
        """
        if self.world is None:
            self.world = result.pose is not None or any(t.point_world is not None for t in result.tracks)
        frame_id = self.frame_id or (FRAME_CAMERA if not self.world else FRAME_GROUND if result.pose is None
                                     else FRAME_WORLD)
        scene = scene or FrameScene(result)
        write_cdr(self.markers, scene.encoded("markers", self.world, frame_id))
        write_cdr(self.objects, scene.encoded("objects", self.world, frame_id))
        self.frames += 1

    def close(self) -> None:
        """Leave the domain (subscribers see the writers go)."""
        if self.node is not None:
            node, self.node, self.markers, self.objects = self.node, None, None, None
            delete(node)

    def __enter__(self) -> "Ros2Publisher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
