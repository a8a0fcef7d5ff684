"""A robot's control loop consuming trajpipe forecasts.

Each frame goes in with its capture time (and, on a robot, its odometry pose); for every forecast
track the loop finds when and how close its forecast path comes to the robot within the horizon and
warns when that is inside a safety radius.

    .venv/bin/python examples/robot_loop.py                                 # pixels: the robot as an image point
    .venv/bin/python examples/robot_loop.py --robot 427,400 --radius 40 --max-frames 100
    .venv/bin/python examples/robot_loop.py --pose 0,0,0 --radius 1.0 \\
        'homography_points=[[100,470,2,1.5],[750,470,2,-1.5],[300,200,8,1.5],[560,200,8,-1.5]]'

With ``--pose`` (and a homography from image pixels to the robot's base frame: x ahead, y left, in
metres) every frame is handed over with the robot's pose, positions are world metres and the robot
is where its pose says. The bundled video comes from a fixed camera, so the pose here is constant;
on a robot, ``odometry()`` returns the base's pose at each frame's capture time.
"""

from __future__ import annotations

import argparse

import numpy as np

from trajpipe import Pipeline


def parse_numbers(text: str, count: int) -> tuple[float, ...]:
    values = tuple(float(v) for v in text.split(","))
    if len(values) != count:
        raise SystemExit(f"expected {count} comma-separated numbers, got {text!r}")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="videos/concourse.mp4", help="video file, webcam index or stream URL")
    parser.add_argument("--robot", default="427,400", help="without --pose: the robot as an image point x,y (pixels)")
    parser.add_argument("--pose", help="x,y,yaw of the robot base in the world frame (metres, radians); needs a homography")
    parser.add_argument("--radius", type=float, default=40.0, help="safety radius (pixels, or metres with --pose)")
    parser.add_argument("--max-frames", type=int, default=150)
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="trajpipe config keys, e.g. forecaster=cv")
    args = parser.parse_args()

    overrides = dict(pair.split("=", 1) for pair in args.overrides)
    pose = parse_numbers(args.pose, 3) if args.pose else None

    def odometry() -> tuple[float, float, float] | None:
        return pose  # a real robot: its base pose at the frame's capture time

    with Pipeline(classes=["person"], **overrides) as pipe:
        unit = "m" if pose is not None else "px"
        with pipe.open(args.source) as frames:
            for count, frame in enumerate(frames, start=1):
                robot_pose = odometry()
                result = pipe.process(frame.image, frame.timestamp, pose=robot_pose)
                robot = np.array(robot_pose[:2]) if robot_pose is not None else np.array(parse_numbers(args.robot, 2))
                warnings = []
                for track in result.tracks:
                    if track.forecast is None:
                        continue
                    # seconds after the track's last sighting (this frame) and distance, in world
                    # metres with a pose, else pixels
                    when, distance = track.forecast.closest_approach(robot, world=robot_pose is not None)
                    if distance < args.radius:
                        warnings.append(f"track {track.id} closest at t = +{when:.1f} s, {distance:.2f} {unit} away")
                print(f"t = {result.timestamp:6.2f} s: {len(result.tracks)} tracks"
                      + (f"; within {args.radius:g} {unit}: {'; '.join(warnings)}" if warnings else ""))
                if count == args.max_frames:
                    break


if __name__ == "__main__":
    main()
