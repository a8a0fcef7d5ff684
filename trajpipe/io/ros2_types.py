"""The ROS 2 message types trajpipe reads and builds its output messages from, as Cyclone DDS IDL types, written field for field
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
(``cyclonedds typeof``). The output topics' own types (MarkerArray, PredictedObjects) are in
:mod:`trajpipe.io.ros2_output_types`. Needs ``cyclonedds`` (the ``robotics`` extra).
"""

# no `from __future__ import annotations`: cyclonedds resolves these annotations as objects
from dataclasses import dataclass

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import array, float32, float64, int32, sequence, uint8, uint32

# ---------------------------------------------------------------------------------- builtin_interfaces


@dataclass
class Time(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    """builtin_interfaces/Time: a point in time (ROS time, since the Unix epoch unless simulated).

    Attributes:
        sec: whole seconds.
        nanosec: nanoseconds past ``sec``, 0 to 999999999.
    """

    sec: int32
    nanosec: uint32


@dataclass
class Duration(IdlStruct, typename="builtin_interfaces::msg::dds_::Duration_"):
    """builtin_interfaces/Duration: a length of time (0: forever for a marker's lifetime).

    Attributes:
        sec: whole seconds.
        nanosec: nanoseconds past ``sec``, 0 to 999999999.
    """

    sec: int32
    nanosec: uint32


# ------------------------------------------------------------------------------------------ std_msgs


@dataclass
class Header(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    """std_msgs/Header: when and in which coordinate frame a message's data is.

    Attributes:
        stamp: the data's time.
        frame_id: the coordinate frame (``world``, ``ground``, ``camera``).
    """

    stamp: Time
    frame_id: str


@dataclass
class ColorRGBA(IdlStruct, typename="std_msgs::msg::dds_::ColorRGBA_"):
    """std_msgs/ColorRGBA: a colour.

    Attributes:
        r: red, 0 to 1.
        g: green, 0 to 1.
        b: blue, 0 to 1.
        a: alpha (opacity), 0 to 1.
    """

    r: float32
    g: float32
    b: float32
    a: float32


# ------------------------------------------------------------------------------------- geometry_msgs


@dataclass
class Point(IdlStruct, typename="geometry_msgs::msg::dds_::Point_"):
    """geometry_msgs/Point: a position (metres, or the frame's units).

    Attributes:
        x: x.
        y: y.
        z: z (0 on the ground plane).
    """

    x: float64
    y: float64
    z: float64


@dataclass
class Point32(IdlStruct, typename="geometry_msgs::msg::dds_::Point32_"):
    """geometry_msgs/Point32: a position in single precision (metres).

    Attributes:
        x: x.
        y: y.
        z: z.
    """

    x: float32
    y: float32
    z: float32


@dataclass
class Vector3(IdlStruct, typename="geometry_msgs::msg::dds_::Vector3_"):
    """geometry_msgs/Vector3: a direction and magnitude (units by use: m/s, m/s^2, rad/s, a marker's size in
    metres).

    Attributes:
        x: x component.
        y: y component.
        z: z component.
    """

    x: float64
    y: float64
    z: float64


@dataclass
class Quaternion(IdlStruct, typename="geometry_msgs::msg::dds_::Quaternion_"):
    """geometry_msgs/Quaternion: an orientation (unit quaternion; a yaw ``a`` about z is (0, 0, sin a/2, cos
    a/2)).

    Attributes:
        x: x.
        y: y.
        z: z.
        w: w (1 for no rotation).
    """

    x: float64
    y: float64
    z: float64
    w: float64


@dataclass
class Pose(IdlStruct, typename="geometry_msgs::msg::dds_::Pose_"):
    """geometry_msgs/Pose: a position and orientation in the header's frame.

    Attributes:
        position: the position (metres).
        orientation: the orientation.
    """

    position: Point
    orientation: Quaternion


@dataclass
class PoseWithCovariance(IdlStruct, typename="geometry_msgs::msg::dds_::PoseWithCovariance_"):
    """geometry_msgs/PoseWithCovariance: a pose with its uncertainty.

    Attributes:
        pose: the pose.
        covariance: (36,) row-major 6x6 covariance of (x, y, z, rotation about x, y, z); m^2, rad^2.
    """

    pose: Pose
    covariance: array[float64, 36]


@dataclass
class Twist(IdlStruct, typename="geometry_msgs::msg::dds_::Twist_"):
    """geometry_msgs/Twist: a velocity.

    Attributes:
        linear: linear velocity (m/s).
        angular: angular velocity about x, y, z (rad/s).
    """

    linear: Vector3
    angular: Vector3


@dataclass
class TwistWithCovariance(IdlStruct, typename="geometry_msgs::msg::dds_::TwistWithCovariance_"):
    """geometry_msgs/TwistWithCovariance: a velocity with its uncertainty.

    Attributes:
        twist: the velocity.
        covariance: (36,) row-major 6x6 covariance of (x, y, z, rotation about x, y, z); (m/s)^2, (rad/s)^2.
    """

    twist: Twist
    covariance: array[float64, 36]


@dataclass
class Accel(IdlStruct, typename="geometry_msgs::msg::dds_::Accel_"):
    """geometry_msgs/Accel: an acceleration.

    Attributes:
        linear: linear acceleration (m/s^2).
        angular: angular acceleration about x, y, z (rad/s^2).
    """

    linear: Vector3
    angular: Vector3


@dataclass
class AccelWithCovariance(IdlStruct, typename="geometry_msgs::msg::dds_::AccelWithCovariance_"):
    """geometry_msgs/AccelWithCovariance: an acceleration with its uncertainty.

    Attributes:
        accel: the acceleration.
        covariance: (36,) row-major 6x6 covariance of (x, y, z, rotation about x, y, z); (m/s^2)^2,
            (rad/s^2)^2.
    """

    accel: Accel
    covariance: array[float64, 36]


@dataclass
class Polygon(IdlStruct, typename="geometry_msgs::msg::dds_::Polygon_"):
    """geometry_msgs/Polygon: a closed polygon.

    Attributes:
        points: its vertices, in order (metres).
    """

    points: sequence[Point32]


# ------------------------------------------------------------------------------- sensor_msgs, nav_msgs


@dataclass
class CompressedImage(IdlStruct, typename="sensor_msgs::msg::dds_::CompressedImage_"):
    """sensor_msgs/CompressedImage: an encoded image.

    Attributes:
        header: the capture time and the camera's optical frame.
        format: the encoding (``jpeg``, ``png``, ``bgr8; jpeg compressed bgr8``).
        data: the encoded bytes.
    """

    header: Header
    format: str
    data: sequence[uint8]


@dataclass
class Image(IdlStruct, typename="sensor_msgs::msg::dds_::Image_"):
    """sensor_msgs/Image: an uncompressed image.

    Attributes:
        header: the capture time and the camera's optical frame.
        height: rows (pixels).
        width: columns (pixels).
        encoding: the pixel layout (``bgr8``, ``rgb8``, ``mono8``, ...).
        is_bigendian: 1 if multi-byte channels are big endian.
        step: bytes of one row (with any padding).
        data: ``step * height`` bytes, row after row.
    """

    header: Header
    height: uint32
    width: uint32
    encoding: str
    is_bigendian: uint8
    step: uint32
    data: sequence[uint8]


@dataclass
class Odometry(IdlStruct, typename="nav_msgs::msg::dds_::Odometry_"):
    """nav_msgs/Odometry: a robot's estimated pose and velocity.

    Attributes:
        header: the time and the frame of the pose (``odom``, ``world``).
        child_frame_id: the robot's frame (``base_link``), the frame of the twist.
        pose: the robot's pose in the header's frame.
        twist: its velocity in ``child_frame_id``.
    """

    header: Header
    child_frame_id: str
    pose: PoseWithCovariance
    twist: TwistWithCovariance
