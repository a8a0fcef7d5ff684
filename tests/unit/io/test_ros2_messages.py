"""The CDR of the ROS 2 messages (no DDS traffic): markers and predicted objects read back by rosbags'
Jazzy definitions and by Cyclone DDS's own serialiser; camera and odometry messages decoded; bad input."""

import math

import cv2
import numpy as np
import pytest

from test_mcap_sink import result
from trajpipe.errors import TrajpipeError
from trajpipe.io.cdr import CdrError
from trajpipe.io.ros2_encode import object_uuid
from trajpipe.io.frame_scene import FrameScene

types = pytest.importorskip("trajpipe.io.ros2_types", reason="the robotics extra (cyclonedds) is not installed")
output_types = pytest.importorskip("trajpipe.io.ros2_output_types", reason="the robotics extra (cyclonedds) is not installed")


def test_markers_read_back_with_the_jazzy_definitions():
    from rosbags.typesys import Stores, get_typestore

    data = FrameScene(result(2, pose=(0.1, 0.0, 0.2))).encoded("markers", True, "world")
    markers = get_typestore(Stores.ROS2_JAZZY).deserialize_cdr(data, "visualization_msgs/msg/MarkerArray").markers
    assert [(m.ns, m.id, m.type) for m in markers] == [("", 0, 2), ("positions", 0, 7), ("label", 7, 9), ("forecast", 7, 4),
                                                      ("sigma", 7, 3), ("mode/0", 7, 4), ("mode/1", 7, 4), ("label", 8, 9)]
    assert markers[0].action == 3 and all(m.header.frame_id == "world" for m in markers)
    assert (markers[1].header.stamp.sec, markers[1].header.stamp.nanosec) == (0, 80_000_000)
    assert [(p.x, p.y) for p in markers[1].points] == [(0.5, 2.0), (3.0, 4.0)]
    assert [(p.x, p.y) for p in markers[3].points] == [(0.5, 2.0), (1.0, 2.0), (1.5, 2.0), (2.0, 2.1)]
    assert markers[2].text == "7 person" and markers[5].color.a == pytest.approx(0.7)
    assert data == output_types.MarkerArray.deserialize(data).serialize()  # byte for byte Cyclone's own encoding


def test_predicted_objects_follow_autoware_layout():
    data = FrameScene(result(2)).encoded("objects", True, "ground")
    message = output_types.PredictedObjects.deserialize(data)
    assert data == message.serialize()
    assert message.header.frame_id == "ground" and [bytes(o.object_id.uuid) for o in message.objects] == [object_uuid(7), object_uuid(8)]
    first = message.objects[0]
    assert first.classification[0].label == 7 and first.existence_probability == pytest.approx(0.9)
    kinematics = first.kinematics
    assert (kinematics.initial_pose_with_covariance.pose.position.x, kinematics.initial_pose_with_covariance.pose.position.y) == (0.5, 2.0)
    assert kinematics.initial_twist_with_covariance.twist.linear.x == pytest.approx(0.5 / 0.4)  # 0.5 m in the first 0.4 s
    assert [p.confidence for p in kinematics.predicted_paths] == pytest.approx([0.7, 0.3])
    path = kinematics.predicted_paths[1]
    assert (path.time_step.sec, path.time_step.nanosec) == (0, 400_000_000)
    assert [(p.position.x, p.position.y) for p in path.path] == [(0.5, 2.0), (1.0, 3.0), (1.0, 3.0), (1.0, 3.0)]
    assert message.objects[1].kinematics.predicted_paths == []  # seen, not forecast yet


def test_pixel_frame_without_a_ground_plane():
    frame = result(1)
    for track in frame.tracks:
        object.__setattr__(track, "point_world", None)
    message = output_types.MarkerArray.deserialize(FrameScene(frame).encoded("markers", False, "camera"))
    positions = message.markers[1]
    assert [(p.x, p.y) for p in positions.points] == [(101.0, 201.0), (301.0, 401.0)]  # the boxes' bottom centres
    assert positions.scale.x == pytest.approx(10.0)  # sizes in pixels


def cdr(message) -> bytes:
    return message.serialize()


def header(nanoseconds: int):
    return types.Header(types.Time(nanoseconds // 10**9, nanoseconds % 10**9), "camera")


def test_camera_messages_decode():
    from trajpipe.io.ros2_source import decode_image

    image = np.random.default_rng(0).integers(0, 255, (6, 8, 3), np.uint8)
    png = cv2.imencode(".png", image)[1].tobytes()
    stamp, decoded = decode_image(cdr(types.CompressedImage(header(1_500_000_000), "png", png)), True)
    assert stamp == 1_500_000_000 and np.array_equal(decoded, image)
    padded = np.zeros((6, 30), np.uint8)  # rows padded beyond width * 3 (step 30)
    padded[:, :24] = image[:, :, ::-1].reshape(6, 24)
    _, rgb = decode_image(cdr(types.Image(header(1), 6, 8, "rgb8", 0, 30, padded.tobytes())), False)
    assert np.array_equal(rgb, image)
    _, mono = decode_image(cdr(types.Image(header(1), 6, 8, "mono8", 0, 8, image[:, :, 0].tobytes())), False)
    assert mono.shape == (6, 8, 3) and np.array_equal(mono[:, :, 2], image[:, :, 0])
    with pytest.raises(CdrError, match="unsupported image encoding 'bayer_rggb8'"):
        decode_image(cdr(types.Image(header(1), 6, 8, "bayer_rggb8", 0, 8, bytes(48))), False)
    with pytest.raises(CdrError, match="truncated"):
        decode_image(cdr(types.Image(header(1), 6, 8, "bgr8", 0, 24, bytes(48)))[:60], False)
    with pytest.raises(CdrError, match="cannot decode"):
        decode_image(cdr(types.CompressedImage(header(1), "jpeg", b"not a jpeg")), True)


def test_odometry_yaw_from_the_quaternion():
    from trajpipe.io.ros2_source import decode_odometry

    yaw = 2.5
    pose = types.Pose(types.Point(1.0, -2.0, 0.0), types.Quaternion(0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)))
    zero = types.Vector3(0.0, 0.0, 0.0)
    odometry = types.Odometry(header(3_000_000_000), "base_link", types.PoseWithCovariance(pose, [0.0] * 36),
                              types.TwistWithCovariance(types.Twist(zero, zero), [0.0] * 36))
    stamp, (x, y, heading) = decode_odometry(cdr(odometry))
    assert stamp == 3_000_000_000 and (x, y) == (1.0, -2.0) and heading == pytest.approx(yaw)


def test_bad_names_and_domains_are_one_line_errors():
    from trajpipe.io.dds import Ros2Publisher, participant

    with pytest.raises(TrajpipeError, match="invalid ROS 2 namespace 'trajpipe/'"):
        Ros2Publisher(domain_id=231, namespace="trajpipe/")
    with pytest.raises(TrajpipeError, match="must be between 0 and 232"):
        participant(400)


def test_a_silent_topic_is_an_outage_then_an_error_and_bad_messages_are_dropped(request):
    """Real DDS on loopback, in one process: unusable messages are dropped with one warning each, the good
    frame comes through, then silence is reported as an outage and ends in a clear error, not a hang."""
    import os
    import threading
    import time

    from cyclonedds.pub import DataWriter
    from trajpipe.io.dds import participant, qos, topic
    from trajpipe.io.ros2_source import Ros2CameraSource

    domain = 100 + os.getpid() % 100
    logged = []
    source = Ros2CameraSource("/cam/image_raw", domain, odometry="/odom", read_timeout=0.3, reconnect_timeout=1.0,
                              log=logged.append)
    request.addfinalizer(source.close)
    node = participant(domain)
    camera = DataWriter(node, topic(node, "/cam/image_raw", types.Image), qos())
    odometry = DataWriter(node, topic(node, "/odom", types.Odometry), qos())
    deadline = time.monotonic() + 10
    while not camera.get_matched_subscriptions() and time.monotonic() < deadline:
        time.sleep(0.01)
    zero, pose = types.Vector3(0.0, 0.0, 0.0), types.Pose(types.Point(1.0, 2.0, 0.0), types.Quaternion(0.0, 0.0, 0.0, 1.0))

    def odometry_at(nanoseconds):
        return types.Odometry(header(nanoseconds), "base_link", types.PoseWithCovariance(pose, [0.0] * 36),
                              types.TwistWithCovariance(types.Twist(zero, zero), [0.0] * 36))

    odometry.write(odometry_at(0))  # no stamp: dropped
    odometry.write(odometry_at(2_000_000_000))
    time.sleep(0.2)
    camera.write(types.Image(header(2_000_000_000), 2, 2, "bayer_rggb8", 0, 2, bytes(4)))
    later = threading.Timer(0.2, camera.write, [types.Image(header(2_010_000_000), 2, 2, "mono8", 0, 2, bytes(4))])
    later.start()  # while the source is waiting, after it has read (and dropped) the Bayer image
    request.addfinalizer(later.cancel)
    frames = []
    with pytest.raises(TrajpipeError, match="silent for 1 s; giving up"):
        for frame in source:
            frames.append(frame)
    assert [(f.timestamp, f.pose) for f in frames] == [(2.01, (1.0, 2.0, 0.0))]
    assert any("without a timestamp" in line for line in logged) and any("bayer_rggb8" in line for line in logged)
    assert any("outage" in line for line in logged) and len(source.outages) == 1


def test_mcap_foxglove_and_dds_encode_a_frame_once(tmp_path):
    from trajpipe.io.dds import Ros2Publisher
    from trajpipe.io.foxglove_live import FoxgloveLive
    from trajpipe.io.mcap import McapSink

    frame = result(1)
    scene = FrameScene(frame)
    with McapSink(tmp_path / "a.mcap", world=True) as sink, FoxgloveLive("127.0.0.1", 0, world=True) as live, \
            Ros2Publisher(domain_id=230, world=True) as ros:
        sink.write(frame, scene=scene)
        live.publish(frame, scene=scene)
        ros.publish(frame, scene=scene)
        assert live.url.startswith("ws://127.0.0.1:") and live.port > 0
    assert len(scene.shared) == 1  # the MCAP's topics, made once for the file and the live server
    assert set(scene._encoded) == {("markers", True, "ground"), ("objects", True, "ground")}  # markers: MCAP and DDS
