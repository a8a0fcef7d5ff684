"""A frame's tracks as ROS 2 messages in CDR, written straight into one buffer (:mod:`trajpipe.io.cdr`):
``visualization_msgs/msg/MarkerArray`` for RViz and Foxglove, and Autoware's
``autoware_perception_msgs/msg/PredictedObjects`` for planners. The same bytes go into an MCAP
recording and onto DDS. Layouts: the Jazzy definitions in :mod:`trajpipe.io.ros2_types`.

Building the messages as Python objects and serialising them (rosbags) cost 13.5 ms a frame of a
crowded scene; here the fixed runs of fields are packed by ``struct`` and the points by numpy.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from .cdr import CdrWriter
from .scene import FORECAST_COLOUR, MIN_MODE_ALPHA, SIGMA_ALPHA, WorldTrack, yaw_quaternion

# visualization_msgs/Marker constants (Jazzy Marker.msg)
SPHERE, CYLINDER, LINE_STRIP, SPHERE_LIST, TEXT_VIEW_FACING = 2, 3, 4, 7, 9
ADD, DELETEALL = 0, 3

TRACK_DIAMETER = 0.4  # m: the sphere marking a track's position on the ground
LINE_WIDTH = 0.06  # m: forecast lines on the ground
LABEL_HEIGHT = 2.0  # m above the ground: the id label, over a standing person's head
TEXT_HEIGHT = 0.3  # m: the label's letters

# Marker namespaces of /trajpipe/markers: per-track markers have the track's id (``mode/<k>``: its k-th most
# probable mode); the positions of all tracks are one SPHERE_LIST (id 0).
MARKER_NAMESPACES = ("positions", "label", "forecast", "sigma", "mode/<k>")

_IDS = struct.Struct("<iii")  # id, type, action
_COLOUR_LIFETIME_LOCKED = struct.Struct("<ffffiI?")  # color, lifetime (0: forever), frame_locked
# texture_resource "", texture (header {0 s, ""}, format "", data []), uv_coordinates []: from 4-aligned
_TEXTURE_FIELDS = b"\1\0\0\0\0\0\0\0" + b"\0" * 8 + b"\1\0\0\0\0\0\0\0" + b"\1\0\0\0\0\0\0\0" + b"\0" * 8
# mesh_resource "", mesh_file (filename "", data []), mesh_use_embedded_materials false: from 4-aligned
_MESH_FIELDS = b"\1\0\0\0\0\0\0\0" + b"\1\0\0\0\0\0\0\0" + b"\0\0\0\0" + b"\0"
_IDENTITY_POSE = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)


def _stamp(timestamp: float) -> int:
    """A timestamp (s) as integer nanoseconds, as builtin_interfaces/Time counts them."""
    return int(round(timestamp * 1e9))


def _header(timestamp: float, frame_id: str) -> bytes:
    """std_msgs/Header (starts 4-aligned, holds nothing wider than 4 bytes: reusable as raw bytes)."""
    w = CdrWriter()
    w.time(_stamp(timestamp))
    w.string(frame_id)
    return w.bytes()[4:]


def _rgba(bgr, alpha: float = 1.0) -> tuple[float, float, float, float]:
    return bgr[2] / 255, bgr[1] / 255, bgr[0] / 255, float(alpha)


def _pose(xy=(0.0, 0.0), yaw: float = 0.0, z: float = 0.0) -> tuple:
    return (float(xy[0]), float(xy[1]), z, *yaw_quaternion(yaw))


def _marker(w: CdrWriter, header: bytes, ns: str, marker_id: int, kind: int, scale, rgba, pose=_IDENTITY_POSE,
            points=None, colours=None, text: str = "", action: int = ADD) -> None:
    """One visualization_msgs/Marker; ``points`` (N, 2) on z = 0, ``colours`` (N, 4) RGBA."""
    w.raw(header, 4)
    w.string(ns)
    w.raw(_IDS.pack(marker_id, kind, action), 4)
    w.f64s(np.array([*pose, *scale], np.float64))
    w.raw(_COLOUR_LIFETIME_LOCKED.pack(*rgba, 0, 0, False), 4)
    if points is None:
        w.u32(0)
    else:
        w.u32(len(points))
        xyz = np.zeros((len(points), 3), np.float64)
        xyz[:, :2] = points
        w.f64s(xyz)
    if colours is None:
        w.u32(0)
    else:
        w.u32(len(colours))
        w.f32s(colours)
    w.raw(_TEXTURE_FIELDS, 4)
    w.string(text)
    w.raw(_MESH_FIELDS, 4)


def marker_array(tracks: list[WorldTrack], timestamp: float, frame_id: str, scale: float = 1.0) -> bytes:
    """visualization_msgs/msg/MarkerArray (CDR) of ``tracks``: a DELETEALL first (tracks that are gone
    disappear); a SPHERE_LIST of every track's position in its colour (``positions``); per track a
    TEXT_VIEW_FACING ``id class`` (``label``), a LINE_STRIP of its forecast from its position
    (``forecast``), a flat CYLINDER for the 1-sigma ellipse at the forecast's end (``sigma``) and a
    LINE_STRIP per mode, alpha by probability (``mode/0``, ``mode/1``, ...).

    Args:
        tracks: the frame's tracks in one plane (:meth:`~trajpipe.io.scene.FrameScene.tracks`).
        timestamp: the header's stamp, in seconds.
        frame_id: the header's frame (``world``, ``ground``, ``camera``).
        scale: marker sizes (spheres, lines, labels) against those in metres; larger for pixels of the
            image frame (:data:`~trajpipe.io.scene.PIXEL_SCALE`).

    Returns:
        The serialised message, with its encapsulation header.
    """
    header = _header(timestamp, frame_id)
    count = 1 + bool(tracks) + sum(1 + (t.forecast is not None) + len(t.ellipses) + len(t.modes) for t in tracks)
    w = CdrWriter()
    w.u32(count)
    _marker(w, header, "", 0, SPHERE, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0), action=DELETEALL)
    if tracks:
        colours = np.array([_rgba(t.bgr) for t in tracks], np.float32)
        _marker(w, header, "positions", 0, SPHERE_LIST, (TRACK_DIAMETER * scale,) * 3, (1.0, 1.0, 1.0, 1.0),
                points=np.stack([t.position for t in tracks]), colours=colours)
    forecast_rgba = _rgba(FORECAST_COLOUR)
    line, half_line = (LINE_WIDTH * scale, 0.0, 0.0), (LINE_WIDTH * scale / 2, 0.0, 0.0)
    for t in tracks:
        _marker(w, header, "label", t.id, TEXT_VIEW_FACING, (0.0, 0.0, TEXT_HEIGHT * scale), _rgba(t.bgr),
                _pose(t.position, z=LABEL_HEIGHT * scale), text=t.label)
        if t.forecast is not None:
            _marker(w, header, "forecast", t.id, LINE_STRIP, line, forecast_rgba, points=t.forecast)
        for centre, diameters, yaw in t.ellipses:
            _marker(w, header, "sigma", t.id, CYLINDER, (float(diameters[0]), float(diameters[1]), 0.01 * scale),
                    _rgba(FORECAST_COLOUR, SIGMA_ALPHA), _pose(centre, yaw))
        for k, (path, p) in enumerate(t.modes):
            _marker(w, header, f"mode/{k}", t.id, LINE_STRIP, half_line,
                    _rgba(FORECAST_COLOUR, max(p, MIN_MODE_ALPHA)), points=path)
    return w.bytes()


# autoware_perception_msgs/ObjectClassification labels of the COCO classes trajpipe tracks (others: UNKNOWN 0)
CLASSIFICATION = {"car": 1, "truck": 2, "bus": 3, "motorcycle": 5, "bicycle": 6, "person": 7, "dog": 8,
                  "horse": 8, "sheep": 8, "cow": 8, "cat": 8, "bird": 8}
UUID_PREFIX = b"trajpipe"  # object_id: these 8 bytes, then the track id as a big-endian uint64


def object_uuid(track_id: int) -> bytes:
    """The unique_identifier_msgs/UUID of a track (stable for the run).

    Args:
        track_id: the track's id, 0 to 2**64 - 1.

    Returns:
        16 bytes: ``trajpipe`` (:data:`UUID_PREFIX`), then the id as a big-endian uint64.
    """
    return UUID_PREFIX + int(track_id).to_bytes(8, "big", signed=False)


def _path_poses(path: np.ndarray) -> np.ndarray:
    """(N, 7) geometry_msgs/Pose of the points of ``path`` (N, 2), each facing the next point (the last as
    the one before it)."""
    steps = np.diff(path, axis=0)
    yaw = np.arctan2(steps[:, 1], steps[:, 0]) if len(steps) else np.zeros(0)
    yaw = np.concatenate([yaw, yaw[-1:]]) if len(yaw) else np.zeros(len(path))
    poses = np.zeros((len(path), 7), np.float64)
    poses[:, :2] = path
    poses[:, 5], poses[:, 6] = np.sin(yaw / 2), np.cos(yaw / 2)
    return poses


def _kinematics(t: WorldTrack) -> np.ndarray:
    """initial pose, twist and acceleration with their covariances (127 float64): the pose at the track's
    position facing its motion, the twist (in that heading's frame, as Autoware) its speed to the first
    forecast step, with the covariance of that step's position over the step's time squared. Orientation,
    acceleration and their covariances are not estimated: zero (identity heading without a forecast)."""
    values = np.zeros(127, np.float64)
    values[:2], values[6] = t.position, 1.0
    if t.forecast is None or len(t.forecast) < 2 or t.times[1] <= 0:
        return values
    step, dt = t.forecast[1] - t.forecast[0], float(t.times[1])
    yaw = math.atan2(step[1], step[0])
    values[5], values[6] = math.sin(yaw / 2), math.cos(yaw / 2)
    twist = values[43:]
    twist[0] = math.hypot(*step) / dt
    if t.covariance is not None:
        rotation = np.array([[math.cos(yaw), -math.sin(yaw)], [math.sin(yaw), math.cos(yaw)]])
        local = rotation.T @ np.asarray(t.covariance[0], np.float64) @ rotation / dt ** 2
        covariance = twist[6:42].reshape(6, 6)
        covariance[:2, :2] = local
    return values


def _predicted_paths(w: CdrWriter, t: WorldTrack) -> None:
    """The modes, each with its probability as confidence, or else the single forecast (confidence 1); the
    first pose is the track's position at time 0, then one per forecast step of ``time_step``."""
    paths = t.modes or ([(t.forecast, 1.0)] if t.forecast is not None else [])
    w.u32(len(paths))
    step = _stamp(float(t.times[1] - t.times[0])) if paths else 0
    for path, confidence in paths:
        w.u32(len(path))
        w.f64s(_path_poses(path))
        w.time(step)
        w.f32(confidence)


def predicted_objects(tracks: list[WorldTrack], timestamp: float, frame_id: str, scale: float = 1.0) -> bytes:
    """autoware_perception_msgs/msg/PredictedObjects (CDR) of ``tracks``: per track its id as a UUID
    (:func:`object_uuid`), its confidence as existence probability and as the probability of its one
    classification, its kinematics (:func:`_kinematics`) and predicted paths (:func:`_predicted_paths`).
    The shape is not measured: a BOUNDING_BOX of zero size.

    Args:
        tracks: the frame's tracks in one plane (:meth:`~trajpipe.io.scene.FrameScene.tracks`); positions
            and paths in its units (metres on the world plane).
        timestamp: the header's stamp, in seconds.
        frame_id: the header's frame (``world``, ``ground``, ``camera``).
        scale: unused (the sizes of markers; here for the signature of :func:`marker_array`).

    Returns:
        The serialised message, with its encapsulation header.
    """
    w = CdrWriter()
    w.raw(_header(timestamp, frame_id), 4)
    w.u32(len(tracks))
    for t in tracks:
        w.raw(object_uuid(t.id))
        w.f32(t.track.confidence)
        w.u32(1)
        w.u8(CLASSIFICATION.get(t.track.class_name, 0))
        w.f32(t.track.confidence)
        w.f64s(_kinematics(t))
        _predicted_paths(w, t)
        w.u8(0)  # shape.type BOUNDING_BOX
        w.u32(0)  # shape.footprint: no points
        w.f64s(np.zeros(3))  # shape.dimensions
    return w.bytes()
