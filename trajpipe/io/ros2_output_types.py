"""The ROS 2 message types of trajpipe's output topics, as Cyclone DDS IDL types: visualization_msgs
(MarkerArray) and autoware_perception_msgs (PredictedObjects), written field for field from ROS 2 Jazzy
and Autoware (sources and naming: :mod:`trajpipe.io.ros2_types`, which holds the types they are made of).
Needs ``cyclonedds`` (the ``robotics`` extra).
"""

# no `from __future__ import annotations`: cyclonedds resolves these annotations as objects
from dataclasses import dataclass

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import array, float32, int32, sequence, uint8

from .ros2_types import (AccelWithCovariance, ColorRGBA, CompressedImage, Duration, Header, Point, Polygon, Pose,
                         PoseWithCovariance, TwistWithCovariance, Vector3)


# -------------------------------------------------------------------------------- visualization_msgs


@dataclass
class UVCoordinate(IdlStruct, typename="visualization_msgs::msg::dds_::UVCoordinate_"):
    """visualization_msgs/UVCoordinate: a texture coordinate.

    Attributes:
        u: horizontal, 0 to 1.
        v: vertical, 0 to 1.
    """

    u: float32
    v: float32


@dataclass
class MeshFile(IdlStruct, typename="visualization_msgs::msg::dds_::MeshFile_"):
    """visualization_msgs/MeshFile: a mesh sent with a marker.

    Attributes:
        filename: its name (the extension gives its format).
        data: the file's bytes.
    """

    filename: str
    data: sequence[uint8]


@dataclass
class Marker(IdlStruct, typename="visualization_msgs::msg::dds_::Marker_"):
    """visualization_msgs/Marker: one shape for RViz and Foxglove (constants in
    :mod:`trajpipe.io.ros2_encode`).

    Attributes:
        header: the time and frame of the marker.
        ns: the namespace (``positions``, ``label``, ``forecast``, ...).
        id: the id within ``ns`` (a track's id).
        type: the shape (SPHERE, CYLINDER, LINE_STRIP, SPHERE_LIST, TEXT_VIEW_FACING, ...).
        action: ADD 0 (or modify), DELETE 2, DELETEALL 3.
        pose: the shape's pose in the header's frame.
        scale: the size in metres (by type: diameters, line width in x, text height in z).
        color: the colour (of all points unless ``colors``).
        lifetime: how long it shows (0: until replaced or deleted).
        frame_locked: move with its frame over time.
        points: the points of lists and strips (metres).
        colors: one colour per point, or empty.
        texture_resource: a texture's URI (empty: none).
        texture: an embedded texture.
        uv_coordinates: texture coordinates, one per point.
        text: the text of TEXT_VIEW_FACING.
        mesh_resource: a mesh's URI (MESH_RESOURCE).
        mesh_file: an embedded mesh.
        mesh_use_embedded_materials: use the mesh's own materials.
    """

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
    """visualization_msgs/MarkerArray: the markers of one frame.

    Attributes:
        markers: the markers, in order (a DELETEALL first clears the previous frame's).
    """

    markers: sequence[Marker]


# -------------------------------------------------------------------- unique_identifier_msgs, autoware


@dataclass
class UUID(IdlStruct, typename="unique_identifier_msgs::msg::dds_::UUID_"):
    """unique_identifier_msgs/UUID: an object's identifier.

    Attributes:
        uuid: (16,) bytes (trajpipe: ``trajpipe`` then the track id,
            :func:`~trajpipe.io.ros2_encode.object_uuid`).
    """

    uuid: array[uint8, 16]


@dataclass
class ObjectClassification(IdlStruct, typename="autoware_perception_msgs::msg::dds_::ObjectClassification_"):
    """autoware_perception_msgs/ObjectClassification: one class of an object and its probability.

    Attributes:
        label: the class (UNKNOWN 0, CAR 1, ..., PEDESTRIAN 7;
            :data:`~trajpipe.io.ros2_encode.CLASSIFICATION`).
        probability: its probability, 0 to 1.
    """

    label: uint8
    probability: float32


@dataclass
class PredictedPath(IdlStruct, typename="autoware_perception_msgs::msg::dds_::PredictedPath_"):
    """autoware_perception_msgs/PredictedPath: one predicted future of an object.

    Attributes:
        path: poses at equal time steps, the first at the present (metres).
        time_step: the time between consecutive poses.
        confidence: the path's probability, 0 to 1.
    """

    path: sequence[Pose]
    time_step: Duration
    confidence: float32


@dataclass
class PredictedObjectKinematics(IdlStruct, typename="autoware_perception_msgs::msg::dds_::PredictedObjectKinematics_"):
    """autoware_perception_msgs/PredictedObjectKinematics: an object's present motion and its predicted paths.

    Attributes:
        initial_pose_with_covariance: its present pose.
        initial_twist_with_covariance: its present velocity, in its heading's frame.
        initial_acceleration_with_covariance: its present acceleration.
        predicted_paths: its possible futures.
    """

    initial_pose_with_covariance: PoseWithCovariance
    initial_twist_with_covariance: TwistWithCovariance
    initial_acceleration_with_covariance: AccelWithCovariance
    predicted_paths: sequence[PredictedPath]


@dataclass
class Shape(IdlStruct, typename="autoware_perception_msgs::msg::dds_::Shape_"):
    """autoware_perception_msgs/Shape: an object's extent.

    Attributes:
        type: BOUNDING_BOX 0, CYLINDER 1 or POLYGON 2.
        footprint: the outline of POLYGON (metres).
        dimensions: length x, width y, height z (metres).
    """

    type: uint8
    footprint: Polygon
    dimensions: Vector3


@dataclass
class PredictedObject(IdlStruct, typename="autoware_perception_msgs::msg::dds_::PredictedObject_"):
    """autoware_perception_msgs/PredictedObject: one tracked object and its predicted paths.

    Attributes:
        object_id: a stable id of the object.
        existence_probability: how likely the object is real, 0 to 1.
        classification: its classes with their probabilities.
        kinematics: its pose, motion and predicted paths.
        shape: its extent.
    """

    object_id: UUID
    existence_probability: float32
    classification: sequence[ObjectClassification]
    kinematics: PredictedObjectKinematics
    shape: Shape


@dataclass
class PredictedObjects(IdlStruct, typename="autoware_perception_msgs::msg::dds_::PredictedObjects_"):
    """autoware_perception_msgs/PredictedObjects: the objects of one frame.

    Attributes:
        header: the frame's time and coordinate frame.
        objects: the objects.
    """

    header: Header
    objects: sequence[PredictedObject]
