"""A robot's control loop consuming trajpipe forecasts.

For every forecast track, find when and how close it will pass a fixed robot position within the
forecast horizon, and warn when it comes within a safety radius.

    .venv/bin/python examples/robot_loop.py                      # the bundled concourse video
    .venv/bin/python examples/robot_loop.py --source 0           # a webcam
    .venv/bin/python examples/robot_loop.py --robot 427,400 --radius 40 --max-frames 100

Positions are pixels (the robot as an image point); configure a homography (``homography=...`` or
``homography_points=...``) to work in metres on the ground plane instead.
"""

from __future__ import annotations

import argparse

import numpy as np

from trajpipe import Forecast, Pipeline


def closest_approach(forecast: Forecast, start: np.ndarray, robot: np.ndarray, world: bool) -> tuple[float, float]:
    """(seconds from now, distance) of the forecast path's closest point to ``robot``; the path runs from
    the track's current position through the forecast points, linearly between them."""
    points = forecast.points_world if world else forecast.points
    times = np.concatenate([[0.0], forecast.times])
    path = np.vstack([start, points])
    dense = np.linspace(0.0, times[-1], 10 * len(times))  # 10 samples per forecast step
    xy = np.stack([np.interp(dense, times, path[:, 0]), np.interp(dense, times, path[:, 1])], axis=1)
    distances = np.linalg.norm(xy - robot, axis=1)
    best = int(np.argmin(distances))
    return float(dense[best]), float(distances[best])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="videos/concourse.mp4", help="video file, webcam index or stream URL")
    parser.add_argument("--robot", default="427,400", help="robot position x,y (pixels, or metres with a homography)")
    parser.add_argument("--radius", type=float, default=40.0, help="safety radius, same units as --robot")
    parser.add_argument("--max-frames", type=int, default=150)
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="trajpipe config keys, e.g. forecaster=cv")
    args = parser.parse_args()

    robot = np.array([float(v) for v in args.robot.split(",")])
    overrides = dict(pair.split("=", 1) for pair in args.overrides)
    with Pipeline(classes=["person"], **overrides) as pipe:
        world = pipe.ground is not None
        for result in pipe.stream(args.source, max_frames=args.max_frames):
            warnings = []
            for track in result.tracks:
                if track.forecast is None:
                    continue
                start = track.point_world if world else track.history[-1]
                when, distance = closest_approach(track.forecast, start, robot, world)
                if distance < args.radius:
                    warnings.append(f"track {track.id} passes {distance:.0f} from the robot in {when:.1f} s")
            age = f", {result.latency * 1000:.0f} ms old" if result.latency is not None else ""
            print(f"t={result.timestamp:6.2f}s{age}: {len(result.tracks)} tracks" + (f"; WARNING {'; '.join(warnings)}" if warnings else ""))


if __name__ == "__main__":
    main()
