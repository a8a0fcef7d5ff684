"""A ROS 2 subscriber as another program would write it: Cyclone DDS with its own types, written from the
Jazzy .msg files (visualization_msgs/MarkerArray, autoware_perception_msgs/PredictedObjects), importing
nothing of trajpipe. Prints one JSON line per message received on <namespace>/markers and
<namespace>/objects, after a line ``ready``.

    python tests/ros2_subscriber.py DOMAIN_ID COUNT [NAMESPACE] [TIMEOUT_S]

Ends after COUNT messages on each topic, or TIMEOUT_S seconds. Loopback only, no multicast.
"""

import json
import sys
import time
from dataclasses import dataclass

from cyclonedds.core import Policy
from cyclonedds.domain import Domain, DomainParticipant
from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import array, float32, float64, int32, sequence, uint8, uint32
from cyclonedds.qos import Qos
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic

LOOPBACK = """<CycloneDDS><Domain Id="any"><General>
<Interfaces><NetworkInterface address="127.0.0.1"/></Interfaces><AllowMulticast>false</AllowMulticast>
</General><Discovery><ParticipantIndex>auto</ParticipantIndex><MaxAutoParticipantIndex>120</MaxAutoParticipantIndex>
<Peers><Peer address="127.0.0.1"/></Peers></Discovery></Domain></CycloneDDS>"""


@dataclass
class Time(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: int32
    nanosec: uint32


@dataclass
class Duration(IdlStruct, typename="builtin_interfaces::msg::dds_::Duration_"):
    sec: int32
    nanosec: uint32


@dataclass
class Header(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    stamp: Time
    frame_id: str


@dataclass
class ColorRGBA(IdlStruct, typename="std_msgs::msg::dds_::ColorRGBA_"):
    r: float32
    g: float32
    b: float32
    a: float32


@dataclass
class Point(IdlStruct, typename="geometry_msgs::msg::dds_::Point_"):
    x: float64
    y: float64
    z: float64


@dataclass
class Point32(IdlStruct, typename="geometry_msgs::msg::dds_::Point32_"):
    x: float32
    y: float32
    z: float32


@dataclass
class Vector3(IdlStruct, typename="geometry_msgs::msg::dds_::Vector3_"):
    x: float64
    y: float64
    z: float64


@dataclass
class Quaternion(IdlStruct, typename="geometry_msgs::msg::dds_::Quaternion_"):
    x: float64
    y: float64
    z: float64
    w: float64


@dataclass
class Pose(IdlStruct, typename="geometry_msgs::msg::dds_::Pose_"):
    position: Point
    orientation: Quaternion


@dataclass
class PoseWithCovariance(IdlStruct, typename="geometry_msgs::msg::dds_::PoseWithCovariance_"):
    pose: Pose
    covariance: array[float64, 36]


@dataclass
class Twist(IdlStruct, typename="geometry_msgs::msg::dds_::Twist_"):
    linear: Vector3
    angular: Vector3


@dataclass
class TwistWithCovariance(IdlStruct, typename="geometry_msgs::msg::dds_::TwistWithCovariance_"):
    twist: Twist
    covariance: array[float64, 36]


@dataclass
class Accel(IdlStruct, typename="geometry_msgs::msg::dds_::Accel_"):
    linear: Vector3
    angular: Vector3


@dataclass
class AccelWithCovariance(IdlStruct, typename="geometry_msgs::msg::dds_::AccelWithCovariance_"):
    accel: Accel
    covariance: array[float64, 36]


@dataclass
class Polygon(IdlStruct, typename="geometry_msgs::msg::dds_::Polygon_"):
    points: sequence[Point32]


@dataclass
class CompressedImage(IdlStruct, typename="sensor_msgs::msg::dds_::CompressedImage_"):
    header: Header
    format: str
    data: sequence[uint8]


@dataclass
class UVCoordinate(IdlStruct, typename="visualization_msgs::msg::dds_::UVCoordinate_"):
    u: float32
    v: float32


@dataclass
class MeshFile(IdlStruct, typename="visualization_msgs::msg::dds_::MeshFile_"):
    filename: str
    data: sequence[uint8]


@dataclass
class Marker(IdlStruct, typename="visualization_msgs::msg::dds_::Marker_"):
    header: Header
    ns: str
    id: int32
    type: int32
    action: int32
    pose: Pose
    scale: Vector3
    color: ColorRGBA
    lifetime: Duration
    frame_locked: bool
    points: sequence[Point]
    colors: sequence[ColorRGBA]
    texture_resource: str
    texture: CompressedImage
    uv_coordinates: sequence[UVCoordinate]
    text: str
    mesh_resource: str
    mesh_file: MeshFile
    mesh_use_embedded_materials: bool


@dataclass
class MarkerArray(IdlStruct, typename="visualization_msgs::msg::dds_::MarkerArray_"):
    markers: sequence[Marker]


@dataclass
class UUID(IdlStruct, typename="unique_identifier_msgs::msg::dds_::UUID_"):
    uuid: array[uint8, 16]


@dataclass
class ObjectClassification(IdlStruct, typename="autoware_perception_msgs::msg::dds_::ObjectClassification_"):
    label: uint8
    probability: float32


@dataclass
class PredictedPath(IdlStruct, typename="autoware_perception_msgs::msg::dds_::PredictedPath_"):
    path: sequence[Pose]
    time_step: Duration
    confidence: float32


@dataclass
class PredictedObjectKinematics(IdlStruct, typename="autoware_perception_msgs::msg::dds_::PredictedObjectKinematics_"):
    initial_pose_with_covariance: PoseWithCovariance
    initial_twist_with_covariance: TwistWithCovariance
    initial_acceleration_with_covariance: AccelWithCovariance
    predicted_paths: sequence[PredictedPath]


@dataclass
class Shape(IdlStruct, typename="autoware_perception_msgs::msg::dds_::Shape_"):
    type: uint8
    footprint: Polygon
    dimensions: Vector3


@dataclass
class PredictedObject(IdlStruct, typename="autoware_perception_msgs::msg::dds_::PredictedObject_"):
    object_id: UUID
    existence_probability: float32
    classification: sequence[ObjectClassification]
    kinematics: PredictedObjectKinematics
    shape: Shape


@dataclass
class PredictedObjects(IdlStruct, typename="autoware_perception_msgs::msg::dds_::PredictedObjects_"):
    header: Header
    objects: sequence[PredictedObject]


def stamp(header: Header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def markers_line(message: MarkerArray) -> dict:
    markers = message.markers
    return {"topic": "markers", "stamp": stamp(markers[0].header), "frame_id": markers[0].header.frame_id,
            "markers": [{"ns": m.ns, "id": m.id, "type": m.type, "action": m.action,
                         "points": [[p.x, p.y] for p in m.points], "text": m.text} for m in markers]}


def objects_line(message: PredictedObjects) -> dict:
    return {"topic": "objects", "stamp": stamp(message.header), "frame_id": message.header.frame_id,
            "objects": [{"id": int.from_bytes(bytes(o.object_id.uuid[8:]), "big"),
                         "label": o.classification[0].label,
                         "position": [o.kinematics.initial_pose_with_covariance.pose.position.x,
                                      o.kinematics.initial_pose_with_covariance.pose.position.y],
                         "paths": [{"confidence": p.confidence,
                                    "time_step": p.time_step.sec + p.time_step.nanosec / 1e9,
                                    "xy": [[q.position.x, q.position.y] for q in p.path]}
                                   for p in o.kinematics.predicted_paths]}
                        for o in message.objects]}


def main() -> None:
    domain_id, count = int(sys.argv[1]), int(sys.argv[2])
    namespace = sys.argv[3] if len(sys.argv) > 3 else "/trajpipe"
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
    domain = Domain(domain_id, LOOPBACK)  # noqa: F841 (kept alive: the participant's configuration)
    node = DomainParticipant(domain_id)
    qos = Qos(Policy.Reliability.Reliable(0), Policy.History.KeepLast(100), Policy.Durability.Volatile)
    readers = {"markers": (DataReader(node, Topic(node, f"rt{namespace}/markers", MarkerArray), qos), markers_line),
               "objects": (DataReader(node, Topic(node, f"rt{namespace}/objects", PredictedObjects), qos), objects_line)}
    received = {name: 0 for name in readers}
    print("ready", flush=True)
    deadline = time.monotonic() + timeout
    while min(received.values()) < count and time.monotonic() < deadline:
        for name, (reader, line) in readers.items():
            for sample in reader.take(32):
                received[name] += 1
                print(json.dumps(line(sample)), flush=True)
        time.sleep(0.005)


if __name__ == "__main__":
    main()
