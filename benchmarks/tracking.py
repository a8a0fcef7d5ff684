"""Track continuity: ids per minute and the share of tracked boxes that carry a forecast.

    python benchmarks/tracking.py [--videos videos/concourse.mp4 videos/market_street_1906.mp4]

A track is forecast only once it is ``min_track_age`` old, and a broken track starts over, so
continuity is what gives forecasts. For each video, camera_motion (none, flow) and tracker setting
(detector ``conf`` and the Ultralytics ByteTrack keys ``track_high_thresh``, ``new_track_thresh``,
``track_buffer``), trajpipe runs over the whole video with CV forecasts and reports: track ids per
minute of video (lower: fewer broken tracks), tracked boxes per frame (the people kept: must not
drop), and the share of tracked boxes that carry a forecast. Writes docs/results/tracking.json (--results NAME:
another name; then `python docs/render.py` updates the pages). ``--reassociate on off``: each row with
and without re-association (issue 31).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import yaml

from common import pipeline_parser, write_results  # noqa: E402  (puts trajpipe on the path)
from trajpipe import Pipeline  # noqa: E402

# name -> (detector conf, tracker keys). Ultralytics' stock ByteTrack: track_high_thresh 0.25,
# track_low_thresh 0.1, new_track_thresh 0.25, track_buffer 30 (frames at 30 fps), match_thresh 0.8.
SETTINGS = {
    "stock (conf 0.25)": (0.25, {}),
    "conf 0.1, new 0.4, buffer 60": (0.1, {"new_track_thresh": 0.4, "track_buffer": 60}),
    "conf 0.1, new 0.5, buffer 60": (0.1, {"new_track_thresh": 0.5, "track_buffer": 60}),
    "conf 0.1, new 0.5, buffer 90": (0.1, {"new_track_thresh": 0.5, "track_buffer": 90}),
    "conf 0.1, new 0.6, buffer 60": (0.1, {"new_track_thresh": 0.6, "track_buffer": 60}),
}


def tracker_yaml(keys: dict, folder: Path, name: str) -> str:
    """An Ultralytics ByteTrack YAML with ``keys`` over the stock values."""
    from ultralytics.utils import ROOT

    settings = yaml.safe_load((ROOT / "cfg" / "trackers" / "bytetrack.yaml").read_text())
    settings.update(keys)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return str(path)


def replay_boxes(detector, found: list) -> None:
    """The network's boxes of every frame: recorded into ``found`` when it is empty, else read back from
    it, so that arms that differ after the network (re-association on and off) pay for it once."""
    if found:
        replay = iter(list(found))
        detector.detect = lambda image: next(replay)
    else:
        network = detector.detect
        detector.detect = lambda image: found.append(network(image)) or found[-1]


def measure(video: str, weights: str, conf: float, tracker: str, camera_motion: str, reassociate: bool = True,
            found: list | None = None) -> dict:
    """Ids per minute, tracked boxes per frame and forecast share of one run (``found``: see replay_boxes)."""
    frames = boxes = forecast = 0
    ids = set()
    with Pipeline(model=weights, forecaster="cv", conf=conf, tracker=tracker, camera_motion=camera_motion,
                  reassociate=reassociate) as pipe:
        if found is not None and hasattr(pipe.detector, "detect"):
            replay_boxes(pipe.detector, found)
        for result in pipe.stream(video):
            frames += 1
            boxes += len(result.tracks)
            forecast += sum(t.forecast is not None for t in result.tracks)
            ids.update(t.id for t in result.tracks)
        seconds = result.timestamp
    return {"ids": len(ids), "ids_per_minute": 60 * len(ids) / seconds, "boxes_per_frame": boxes / frames,
            "forecast_share": forecast / max(boxes, 1)}


def measure_jsonl(path: str) -> dict:
    """The same figures from the JSON lines of a run that is already there (``trajpipe run``, or the
    market street run cached by benchmarks/camera_motion.py): no second pass over the video."""
    from trajpipe.core.schema import read_jsonl

    frames = boxes = forecast = 0
    ids = set()
    for record in read_jsonl(path):
        frames += 1
        boxes += len(record["tracks"])
        forecast += sum("forecast" in t for t in record["tracks"])
        ids.update(t["id"] for t in record["tracks"])
        seconds = record["timestamp"]
    return {"ids": len(ids), "ids_per_minute": 60 * len(ids) / seconds, "boxes_per_frame": boxes / frames,
            "forecast_share": forecast / max(boxes, 1)}


def main() -> None:
    parser = pipeline_parser(__doc__, "videos/concourse.mp4")
    parser.add_argument("--videos", nargs="+", default=["videos/concourse.mp4", "videos/market_street_1906.mp4"])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), help="names from SETTINGS")
    parser.add_argument("--camera-motion", nargs="+", default=["none", "flow"])
    parser.add_argument("--reassociate", nargs="+", default=["on"], choices=["on", "off"],
                        help="re-association of new tracks with lost people (issue 31): on, off or both")
    parser.add_argument("--results", help="docs/results/NAME.json to write (default: tracking, or tracking_defaults with "
                        "--jsonl; tracking_none for the --camera-motion none rows)")
    parser.add_argument("--jsonl", nargs="+", help="measure these runs' JSON lines (made at the default settings) "
                        "instead of running the videos")
    args = parser.parse_args()
    if args.jsonl:
        # keyed by video: runs/<video>_trajpipe.jsonl, what `trajpipe run videos/<video>.mp4` writes
        measured = {Path(path).stem.removesuffix("_trajpipe"): measure_jsonl(path) for path in args.jsonl}
        for path, row in measured.items():
            print(json.dumps({"jsonl": path, **row}))
        write_results(args.results or "tracking_defaults", {"runs": measured})
        return

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for i, name in enumerate(args.settings):
            conf, keys = SETTINGS[name]
            tracker = tracker_yaml(keys, Path(folder), f"setting{i}")
            for video in args.videos:
                for camera_motion in args.camera_motion:
                    found = []  # the network's boxes, found once for both re-association arms
                    for reassociate in args.reassociate:
                        row = {"video": Path(video).name, "setting": name, "camera_motion": camera_motion,
                               "reassociate": reassociate,
                               **measure(video, args.weights, conf, tracker, camera_motion, reassociate == "on", found)}
                        rows.append(row)
                        print(json.dumps(row), flush=True)
    print("\n| video | tracker setting | camera_motion | ids per minute | tracked boxes per frame | with a forecast |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['video']} | {r['setting']} | {r['camera_motion']} | {r['ids_per_minute']:.0f} | "
              f"{r['boxes_per_frame']:.1f} | {r['forecast_share']:.0%} |")
    write_results(args.results or "tracking", {"rows": rows})


if __name__ == "__main__":
    main()
