"""A robot's camera and odometry as another program would publish them over DDS, importing nothing of
trajpipe (the types: tests/ros2_subscriber.py). Publishes the frames of a video as
sensor_msgs/CompressedImage (PNG: lossless, so that the listener sees the file's very pixels) on
/camera/image_raw/compressed, stamped BASE + the video's time, and nav_msgs/Odometry on /odom twice a
frame (10 ms before its stamp and 30 ms after) (a robot driving at 0.5 m/s, turning at 0.1 rad/s). After each frame it waits for
trajpipe's result on /trajpipe/objects with that stamp (so that no frame is dropped), then prints
``frame N``. After COUNT frames it prints ``done`` and waits to be killed.

    python tests/ros2_camera.py DOMAIN_ID VIDEO COUNT
"""

import math
import sys
import time

import cv2
from cyclonedds.core import Policy
from cyclonedds.domain import Domain, DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.qos import Qos
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic

from ros2_subscriber import (LOOPBACK, CompressedImage, Header, Point, Pose, PoseWithCovariance, PredictedObjects,
                             Quaternion, Time, Twist, TwistWithCovariance, Vector3)
from cyclonedds.idl import IdlStruct
from dataclasses import dataclass

BASE = 1000.0  # s: the stamps are BASE + the video's timestamps


@dataclass
class Odometry(IdlStruct, typename="nav_msgs::msg::dds_::Odometry_"):
    header: Header
    child_frame_id: str
    pose: PoseWithCovariance
    twist: TwistWithCovariance


def stamp(seconds: float) -> Time:
    nanoseconds = int(round(seconds * 1e9))
    return Time(nanoseconds // 1_000_000_000, nanoseconds % 1_000_000_000)


def robot_pose(t: float) -> tuple[float, float, float]:
    return 0.5 * t, 0.0, 0.1 * t


def odometry(t: float) -> Odometry:
    x, y, yaw = robot_pose(t)
    pose = Pose(Point(x, y, 0.0), Quaternion(0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)))
    zero = Vector3(0.0, 0.0, 0.0)
    return Odometry(Header(stamp(BASE + t), "odom"), "base_link", PoseWithCovariance(pose, [0.0] * 36),
                    TwistWithCovariance(Twist(zero, zero), [0.0] * 36))


def main() -> None:
    domain_id, video, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    domain = Domain(domain_id, LOOPBACK)  # noqa: F841
    node = DomainParticipant(domain_id)
    reliable = Qos(Policy.Reliability.Reliable(0), Policy.History.KeepLast(10))
    camera = DataWriter(node, Topic(node, "rt/camera/image_raw/compressed", CompressedImage), reliable)
    odom = DataWriter(node, Topic(node, "rt/odom", Odometry), reliable)
    results = DataReader(node, Topic(node, "rt/trajpipe/objects", PredictedObjects), reliable)
    while not camera.get_matched_subscriptions() or (len(sys.argv) < 5 and not results.get_matched_publications()):
        time.sleep(0.01)
    capture = cv2.VideoCapture(video)
    for index in range(count):
        ok, image = capture.read()
        t = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        odom.write(odometry(t - 0.01))  # the nearest to the frame's stamp
        odom.write(odometry(t + 0.03))
        png = cv2.imencode(".png", image)[1].tobytes()
        camera.write(CompressedImage(Header(stamp(BASE + t), "camera"), "png", png))
        want, deadline = stamp(BASE + t), time.monotonic() + (60 if len(sys.argv) < 5 else 0)
        while time.monotonic() < deadline:
            if any(s.header.stamp == want for s in results.take(16)):
                break
            time.sleep(0.002)
        print(f"frame {index} {BASE + t:.4f}", flush=True)
    print("done", flush=True)
    time.sleep(3600)


if __name__ == "__main__":
    main()
