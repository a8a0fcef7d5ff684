"""The ROS 2 message types trajpipe publishes and reads, as Cyclone DDS IDL types, written field for field
from the ROS 2 Jazzy ``.msg`` files (sources in docs/robotics.md#message-definitions):

- ros2/rcl_interfaces jazzy 003987ec (builtin_interfaces 2.0.2): Time, Duration
- ros2/common_interfaces jazzy 5283bd97 (5.3.5): std_msgs, geometry_msgs, sensor_msgs, nav_msgs,
  visualization_msgs
- ros2/unique_identifier_msgs jazzy ced22ce6: UUID
- autowarefoundation/autoware_msgs 1.12.0 (7025d8f7): autoware_perception_msgs

A ROS 2 type ``pkg/msg/T`` is the DDS type ``pkg::msg::dds_::T_`` (rosidl's naming), which is how a
ROS 2 node with rmw_cyclonedds_cpp matches these topics. Constants of the .msg files are not part of
the wire type (they are in :mod:`trajpipe.io.ros2_encode`). trajpipe writes the samples with its own
CDR encoder (:mod:`trajpipe.io.cdr`); these classes give DDS the type, for discovery and type lookup
(``cyclonedds typeof``). Needs ``cyclonedds`` (the ``robotics`` extra).
"""

# no `from __future__ import annotations`: cyclonedds resolves these annotations as objects
from dataclasses import dataclass

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import array, float32, float64, int32, sequence, uint8, uint32

# ---------------------------------------------------------------------------------- builtin_interfaces


@dataclass
class Time(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: int32
    nanosec: uint32


@dataclass
class Duration(IdlStruct, typename="builtin_interfaces::msg::dds_::Duration_"):
    sec: int32
    nanosec: uint32


# ------------------------------------------------------------------------------------------ std_msgs


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


# ------------------------------------------------------------------------------------- geometry_msgs


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


# ------------------------------------------------------------------------------- sensor_msgs, nav_msgs


@dataclass
class CompressedImage(IdlStruct, typename="sensor_msgs::msg::dds_::CompressedImage_"):
    header: Header
    format: str
    data: sequence[uint8]


@dataclass
class Image(IdlStruct, typename="sensor_msgs::msg::dds_::Image_"):
    header: Header
    height: uint32
    width: uint32
    encoding: str
    is_bigendian: uint8
    step: uint32
    data: sequence[uint8]


@dataclass
class Odometry(IdlStruct, typename="nav_msgs::msg::dds_::Odometry_"):
    header: Header
    child_frame_id: str
    pose: PoseWithCovariance
    twist: TwistWithCovariance


# -------------------------------------------------------------------------------- visualization_msgs


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


# -------------------------------------------------------------------- unique_identifier_msgs, autoware


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
