"""People behind a pillar: do their ids survive, and how far off is where trajpipe says they are?

    python benchmarks/occlusion.py           # writes docs/results/occlusion.json and docs/occlusion.png

For each video (concourse, whole; market street, its first 600 frames) a grey pillar is painted over
every frame, full height, ``--width`` pixels wide, where most people cross it (the band that the most
tracks of the clear run cross from one side to the other). Both the clear and the painted video run
through the pipeline at its defaults with ``keep_hidden_tracks=true``. The detector runs once per frame
and video version (its boxes cached under runs/occlusion/); the tracker and all that follows run on
the cached boxes, so variants of the tracking cost no detector time.

A person passes behind the pillar when the centre of their clear-run box enters the band and leaves
it again while tracked. Their painted-run track is the one whose box overlaps the clear box most
(IoU >= 0.3) on the last frame before they enter on which one does (searching back up to 1 s: the
pillar may already cut the box); the id survives when, on the first frame after they leave on which a
painted-run box overlaps theirs, that box has the same id (none within 1 s: lost).
While the painted run keeps them hidden (``visible`` false), its position is compared with the clear
run's point, and so are two simpler guesses made from the same history: holding the last seen
position, and constant velocity (trajpipe's ``cv`` forecaster, read at the elapsed time).

A third run of the painted video looks for lost people where their continued forecast is
(:mod:`trajpipe.tracking.reassociate`: the tracker's Kalman state of each lost track is moved there
before each frame is tracked) and reports the share of ids that survive with it.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from common import write_results  # noqa: E402
from trajpipe import Forecaster, Pipeline  # noqa: E402
from trajpipe.core.detections import Detections  # noqa: E402
from trajpipe.forecast.hidden import continue_forecast  # noqa: E402
from trajpipe.forecast.stage import forecast_histories  # noqa: E402
from trajpipe.tracking.history import Samples  # noqa: E402
from trajpipe.tracking.reassociate import steer_lost_tracks, targets_at  # noqa: E402
from trajpipe.video.detector import resolve_tracker  # noqa: E402
from trajpipe.video.sources import open_source  # noqa: E402

VIDEOS = (("videos/concourse.mp4", None), ("videos/market_street_1906.mp4", 600))
PILLAR_GREY = (128, 128, 128)
MATCH_IOU = 0.3
REFIND_SECONDS = 1.0
CACHE = REPO / "runs" / "occlusion"
PERSON = 0  # COCO class id


def detections_cache(video: str, max_frames: int | None, band: tuple[int, int] | None, weights: str) -> list[np.ndarray]:
    """(N, 6) ``[x1, y1, x2, y2, conf, class]`` person boxes of every frame (the pipeline's conf and NMS
    settings), from the cache or from one detector pass."""
    name = f"{Path(video).stem}_{max_frames or 'all'}_{'clear' if band is None else f'pillar{band[0]}-{band[1]}'}.npz"
    path = CACHE / name
    if path.is_file():
        with np.load(path) as saved:
            return [saved[f"f{i}"] for i in range(len(saved.files))]
    from ultralytics import YOLO

    tmp = tempfile.mkdtemp()
    try:  # Ultralytics deletes a weights file it fails to load: it only sees a copy
        model = YOLO(shutil.copy(weights, tmp), task="detect")
        boxes = [model.predict(image, conf=0.1, iou=0.7, classes=[PERSON], verbose=False)[0].boxes.data.cpu().numpy()
                 for _, _, image in frames(video, max_frames, band)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{f"f{i}": b for i, b in enumerate(boxes)})
    return boxes


def frames(video: str, max_frames: int | None, band: tuple[int, int] | None):
    """(index, timestamp, BGR image) of the video, the pillar painted over ``band`` (x0, x1)."""
    with open_source(video) as source:
        for frame in source:
            if max_frames is not None and frame.index >= max_frames:
                break
            image = frame.image.copy()
            if band is not None:
                image[:, band[0]:band[1]] = PILLAR_GREY
            yield frame.index, frame.timestamp, image


class CachedTracker:
    """The pipeline's detector interface over cached boxes: Ultralytics' tracker, as ``YOLO.track`` runs it."""

    names = {PERSON: "person"}

    def __init__(self, boxes: list[np.ndarray], tracker: str = "configs/tracker.yaml"):
        from ultralytics.trackers.track import TRACKER_MAP
        from ultralytics.utils import YAML, IterableSimpleNamespace

        self.boxes, self.calls = boxes, 0
        self.targets: dict[int, np.ndarray] = {}  # where lost tracks are looked for on the next frame
        settings = IterableSimpleNamespace(**YAML.load(resolve_tracker(tracker)))
        self.tracker = TRACKER_MAP[settings.tracker_type](args=settings)

    def __call__(self, image: np.ndarray) -> Detections:
        from ultralytics.engine.results import Boxes

        data, self.calls = self.boxes[self.calls], self.calls + 1
        if self.targets:
            steer_lost_tracks(self.tracker, self.targets)
            self.targets = {}
        tracks = self.tracker.update(Boxes(data, image.shape[:2]), image)
        if not len(tracks):
            return Detections.empty()
        return Detections(tracks[:, :4].astype(np.float32), tracks[:, 5].astype(np.float32),
                          tracks[:, 6].astype(np.int64), tracks[:, 4].astype(np.int64))

    def lost_track_ids(self) -> list[int]:
        return [int(t.track_id) for t in self.tracker.lost_stracks]

    def follow_camera(self, warp: np.ndarray) -> None:
        from trajpipe.video.camera_motion import warp_kalman_states

        warp_kalman_states(self.tracker, warp)

    def reset(self) -> None:
        self.tracker.reset()


def run(video: str, max_frames: int | None, band: tuple[int, int] | None, boxes: list[np.ndarray],
        forecaster: str, steer: bool = False, picture: Path | None = None) -> list[tuple[float, dict]]:
    """(timestamp, {track id: TrackState}) of every frame, the pipeline at its defaults on the cached boxes.
    ``steer``: lost tracks are looked for where their continued forecast is (trajpipe.tracking.reassociate).
    ``picture``: where to save the frame with the most hidden tracks, drawn by the default overlay."""
    out, detector, previous, best = [], CachedTracker(boxes), None, (0, None)
    with Pipeline(detector=detector, forecaster=forecaster, keep_hidden_tracks=True) as pipe:
        for index, timestamp, image in frames(video, max_frames, band):
            if steer and previous is not None:
                detector.targets = targets_at(previous.tracks, timestamp, previous.timestamp)
            previous = pipe.process(image, timestamp, index)
            out.append((timestamp, {t.id: t for t in previous.tracks}))
            hidden = sum(not t.visible and t.forecast is not None for t in previous.tracks)
            if picture is not None and hidden > best[0]:
                best = (hidden, previous)
        if best[1] is not None:
            import cv2
            from trajpipe.draw.overlay import Overlay

            cv2.imwrite(str(picture), Overlay.from_config(pipe.config).draw(best[1].image.copy(), best[1]))
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return float(w * h / union) if union > 0 else 0.0


def crossings(clear: list[tuple[float, dict]], band: tuple[int, int]) -> list[tuple[int, int, int]]:
    """(clear-run id, frame before entering the band, frame after leaving it) of every crossing: the
    box centre inside the band on consecutive sightings, a sighting outside just before and after."""
    seen: dict[int, list[tuple[int, bool]]] = {}
    for f, (_, tracks) in enumerate(clear):
        for track_id, t in tracks.items():
            if t.visible:
                centre = (t.box[0] + t.box[2]) / 2
                seen.setdefault(track_id, []).append((f, band[0] <= centre < band[1]))
    found = []
    for track_id, sightings in seen.items():
        k = 1
        while k < len(sightings):
            if sightings[k][1] and not sightings[k - 1][1]:
                end = k
                while end < len(sightings) and sightings[end][1]:
                    end += 1
                if end < len(sightings):
                    found.append((track_id, sightings[k - 1][0], sightings[end][0]))
                k = end
            k += 1
    return found


def best_band(clear: list[tuple[float, dict]], width: int, image_width: int) -> tuple[int, int]:
    """The band of ``width`` pixels that the most clear-run tracks cross."""
    bands = [(x, x + width) for x in range(0, image_width - width + 1, 10)]
    return max(bands, key=lambda band: len(crossings(clear, band)))


def match(tracks: dict, box: np.ndarray):
    """The visible track of ``tracks`` whose box overlaps ``box`` most (IoU >= MATCH_IOU), or None."""
    scored = [(iou(t.box, box), t) for t in tracks.values() if t.visible]
    scored = [(score, t) for score, t in scored if score >= MATCH_IOU]
    return max(scored, key=lambda pair: pair[0])[1] if scored else None


def guesses(hidden, cv: Forecaster) -> dict[str, np.ndarray]:
    """Where each method puts a hidden track now (pixels): the pipeline's continued forecast, the
    last seen position, constant velocity from the same history read at the same elapsed time."""
    rows = np.column_stack([hidden.history_times, hidden.history, np.full((len(hidden.history), 4), np.nan)])
    forecast = forecast_histories(cv, [Samples(rows)], 0.8)[0]
    last = hidden.history[-1]
    return {"continued forecast": hidden.point, "hold last": last,
            "cv": last if forecast is None else continue_forecast(forecast, hidden.hidden_for)[0]}


def episode(clear, painted, fps: float, track_id: int, before: int, after: int, cv: Forecaster) -> dict | None:
    """One person's pass behind the pillar: whether the id survived, and per hidden frame each guess's
    error (pixels and box heights) against the clear run. None when no painted track matches before."""
    first = None
    for f in range(before, max(before - int(round(REFIND_SECONDS * fps)), -1), -1):  # the pillar may cut the box
        truth = clear[f][1].get(track_id)
        first = None if truth is None else match(painted[f][1], truth.box)
        if first is not None:
            break
    if first is None:
        return None
    errors: dict[str, list[tuple[float, float]]] = {}
    refound = None
    for f in range(before + 1, min(len(clear), after + int(round(REFIND_SECONDS * fps)) + 1)):
        truth = clear[f][1].get(track_id)
        if f >= after and truth is not None and truth.visible:
            refound = match(painted[f][1], truth.box)
            if refound is not None:
                break
        hidden = painted[f][1].get(first.id)
        if truth is None or hidden is None or hidden.visible:
            continue
        height = float(truth.box[3] - truth.box[1])
        for method, point in guesses(hidden, cv).items():
            distance = float(np.linalg.norm(np.asarray(point) - truth.point))
            errors.setdefault(method, []).append((distance, distance / height))
    return {"survived": refound is not None and refound.id == first.id, "errors": errors}


def summary(episodes: list[dict]) -> dict:
    """Share of ids that survive; mean error over all hidden frames per method, and its ratios."""
    frames: dict[str, list[tuple[float, float]]] = {}
    for e in episodes:
        for method, values in e["errors"].items():
            frames.setdefault(method, []).extend(values)
    out = {"people": len(episodes), "ids_survived": sum(e["survived"] for e in episodes),
           "hidden_frames": len(frames.get("continued forecast", []))}
    out["share_survived"] = round(out["ids_survived"] / max(out["people"], 1), 3)
    for method, values in frames.items():
        pixels, heights = np.array(values).T
        out[method] = {"mean_px": round(float(pixels.mean()), 2), "mean_heights": round(float(heights.mean()), 4)}
    if frames:
        ours = out["continued forecast"]["mean_heights"]
        out["continued / hold last"] = round(ours / out["hold last"]["mean_heights"], 3)
        out["continued / cv"] = round(ours / out["cv"]["mean_heights"], 3)
    return out


def measure(video: str, max_frames: int | None, width: int, weights: str, forecaster: str,
            picture: Path | None = None) -> tuple[dict, list]:
    clear = run(video, max_frames, None, detections_cache(video, max_frames, None, weights), forecaster)
    image_width = next(frames(video, 1, None))[2].shape[1]
    band = best_band(clear, width, image_width)
    boxes = detections_cache(video, max_frames, band, weights)
    painted = run(video, max_frames, band, boxes, forecaster, picture=picture)
    steered = run(video, max_frames, band, boxes, forecaster, steer=True)
    duration = clear[-1][0] - clear[0][0]
    fps = (len(clear) - 1) / duration
    cv = Forecaster.load("cv")
    found = crossings(clear, band)
    plain = [episode(clear, painted, fps, *c, cv) for c in found]
    steered = [episode(clear, steered, fps, *c, cv) for c in found]
    episodes = [e for e in plain if e is not None]
    both = [(a, b) for a, b in zip(plain, steered) if a is not None and b is not None]  # the same people
    result = {"video": video, "frames": len(clear), "pillar_x": list(band), "crossings": len(found),
              **summary(episodes), "ids, the people matched in both runs": survival(both)}
    return result, (episodes, both)


def survival(pairs: list[tuple[dict, dict]]) -> dict:
    """Ids surviving among the same people without and with the forecast in re-association."""
    return {"people": len(pairs), "survived without": sum(a["survived"] for a, _ in pairs),
            "survived with the forecast in re-association": sum(b["survived"] for _, b in pairs)}


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=80, help="pillar width (pixels)")
    parser.add_argument("--weights", default="weights/yolov8n_int8.tflite")
    parser.add_argument("--forecaster", default="lstm")
    parser.add_argument("--picture", default="docs/occlusion.png", help="the concourse frame with the most hidden people")
    args = parser.parse_args()
    videos, everyone, everyone_steered = [], [], []
    for video, max_frames in VIDEOS:
        picture = Path(args.picture) if args.picture and video == VIDEOS[0][0] else None
        result, (episodes, steered) = measure(video, max_frames, args.width, args.weights, args.forecaster, picture)
        print(json.dumps(result), flush=True)
        videos.append(result)
        everyone += episodes
        everyone_steered += steered
    everything = {**summary(everyone), "ids, the people matched in both runs": survival(everyone_steered)}
    print(json.dumps(everything))
    write_results("occlusion", {"pillar_width_px": args.width, "forecaster": args.forecaster, "videos": videos,
                                "all": everything})


if __name__ == "__main__":
    main()
