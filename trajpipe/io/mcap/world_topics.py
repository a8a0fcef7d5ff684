"""The world topics of a frame: the foxglove.SceneUpdate of its tracks on the ground / world plane and the
robot's foxglove.FrameTransform (the ROS 2 markers: :mod:`trajpipe.io.ros2_encode`)."""

from __future__ import annotations

from ..ros2_encode import LABEL_HEIGHT, LINE_WIDTH, TRACK_DIAMETER
from ..scene import FORECAST_COLOUR, FRAME_BASE, FRAME_WORLD, MIN_MODE_ALPHA, SIGMA_ALPHA, WorldTrack, yaw_quaternion
from .schemas import colour as _colour


def scene_update(tracks: list[WorldTrack], stamp, frame_id: str):
    """foxglove.SceneUpdate: the last frame's entities deleted, then one entity ``track/<id>`` per track: a
    sphere at its position, its label, the forecast line, each mode's line (alpha by probability) and
    a flat 1-sigma ellipsoid at the forecast's end."""
    import foxglove.messages as fm

    def pose(xy, yaw=0.0, z=0.0):
        qx, qy, qz, qw = yaw_quaternion(yaw)
        return fm.Pose(position=fm.Vector3(x=float(xy[0]), y=float(xy[1]), z=z),
                       orientation=fm.Quaternion(x=qx, y=qy, z=qz, w=qw))

    def line(path, colour):
        return fm.LinePrimitive(type=fm.LinePrimitiveLineType.LineStrip, pose=pose((0, 0)), thickness=LINE_WIDTH,
                                points=[fm.Point3(x=x, y=y, z=0.0) for x, y in path.tolist()], color=colour)

    forecast_colour = _colour(FORECAST_COLOUR)
    entities = []
    for t in tracks:
        colour = _colour(t.bgr)
        lines = [] if t.forecast is None else [line(t.forecast, forecast_colour)]
        lines += [line(path, _colour(FORECAST_COLOUR, max(p, MIN_MODE_ALPHA))) for path, p in t.modes]
        spheres = [fm.SpherePrimitive(pose=pose(t.position), color=colour,
                                      size=fm.Vector3(x=TRACK_DIAMETER, y=TRACK_DIAMETER, z=TRACK_DIAMETER))]
        spheres += [fm.SpherePrimitive(pose=pose(centre, yaw), size=fm.Vector3(x=float(d[0]), y=float(d[1]), z=0.01),
                                       color=_colour(FORECAST_COLOUR, SIGMA_ALPHA)) for centre, d, yaw in t.ellipses]
        label = fm.TextPrimitive(pose=pose(t.position, z=LABEL_HEIGHT), billboard=True, font_size=14.0,
                                 scale_invariant=True, color=colour, text=t.label)
        entities.append(fm.SceneEntity(timestamp=stamp, frame_id=frame_id, id=f"track/{t.id}", spheres=spheres,
                                       lines=lines, texts=[label]))
    # "ALL" at this frame's time deletes the entities of earlier frames: tracks that are gone disappear
    deletion = fm.SceneEntityDeletion(timestamp=stamp, type=fm.SceneEntityDeletionType.All)
    return fm.SceneUpdate(deletions=[deletion], entities=entities)


def base_transform(pose, stamp):
    """foxglove.FrameTransform world -> base_link of a robot pose ``(x, y, yaw)`` (metres, radians)."""
    import foxglove.messages as fm

    x, y, yaw = (float(v) for v in pose)
    qx, qy, qz, qw = yaw_quaternion(yaw)
    return fm.FrameTransform(timestamp=stamp, parent_frame_id=FRAME_WORLD, child_frame_id=FRAME_BASE,
                             translation=fm.Vector3(x=x, y=y, z=0.0), rotation=fm.Quaternion(x=qx, y=qy, z=qz, w=qw))


