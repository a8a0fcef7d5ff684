"""People behind occluders: do they keep their id when they come out, and is it ever someone else's?

    pip install -e '.[bench]'   # motmetrics and Roboflow's trackers (OC-SORT)
    python benchmarks/occlusion.py [--results occlusion_occluders]

Occluders of three shapes are painted onto copies of the concourse (whole) and of market street (its
first 600 frames): a pillar 80 px wide (full height), a band 90 rows high (full width) and a box 120 px
wide, 60 % of the frame high, sliding across the frame over the clip; each where the most tracks of the
clear video cross it (:mod:`occluders`). trajpipe's own detector stage finds the person boxes of every
version once (cached under ``runs/occlusion/``, or ``$TRAJPIPE_OCCLUSION_CACHE``); each tracker then
runs on the same boxes: trajpipe with ``reassociate=true`` (arm "trajpipe"), without it, and OC-SORT (Roboflow's
``trackers``, its lost-track buffer the same 2 s). Truth is the same tracker's run on the clear video.

- **people passing behind**: a clear-run track whose box centre enters the occluder and leaves it while
  tracked. Their painted-run id is the one on their box (the painted box lies >= 70 % inside the clear
  one; the best IoU) on the last frame before they enter where there is one (up to 1 s back: the
  occluder may cut the box); **kept** when they carry that id 1 s after they leave (the last painted box
  on them within that second).
- **wrong merges**: re-associations whose lost person (their last painted box) and new track (its first
  box) are two different clear-run tracks; share of the re-associations both ends of which were found.
- **IDF1** (``motmetrics``) of the painted run's visible boxes against the clear run's (IoU >= 0.5).
- the clear videos with and without re-association: ids per minute, share of boxes with a forecast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from common import write_results  # noqa: E402  (puts trajpipe on the path)
from occluders import PERSON, choose, detections, frames  # noqa: E402
from trajpipe import Pipeline  # noqa: E402
from trajpipe.core.detections import Detections  # noqa: E402
from trajpipe.tracking.tracker import BoxTracker  # noqa: E402

VIDEOS = (("videos/concourse.mp4", None), ("videos/market_street_1906.mp4", 600))
SHAPES = {"pillar": 80, "band": 90, "sliding box": 120}
INSIDE = 0.7  # share of a painted box inside a clear one for the two to be the same person
REFIND_SECONDS = 1.0
# method -> the Reassociator's settings (None: reassociate off). The colour histograms are compared (and
# recorded) in the default arm without refusing anything, so that the cue's worth can be read off the
# wrong and right merges.
METHODS = {"trajpipe": {"looks_gate": 1.0}, "trajpipe, reassociate off": None, "OC-SORT": "OC-SORT"}


class CachedTracker:
    """The pipeline's detector interface over cached boxes, tracked by trajpipe's ByteTrack settings."""

    names = {PERSON: "person"}

    def __init__(self, boxes: list[np.ndarray]):
        self.boxes, self.calls = boxes, 0
        self.box_tracker = BoxTracker("configs/tracker.yaml")

    def __call__(self, image: np.ndarray) -> Detections:
        data, self.calls = self.boxes[self.calls], self.calls + 1
        return self.box_tracker.update(data, image)

    def lost_track_ids(self) -> list[int]:
        return [int(t.track_id) for t in self.box_tracker.tracker.lost_stracks]

    def trackers(self) -> list:
        return [self.box_tracker.tracker]

    def follow_camera(self, warp: np.ndarray) -> None:
        from trajpipe.tracking.kalman_warp import warp_kalman_states

        warp_kalman_states(self.box_tracker.tracker, warp)

    def reset(self) -> None:
        self.box_tracker.reset()


def run_trajpipe(video, max_frames, occluder, boxes, settings: dict | None, forecaster: str):
    """({id: box} of the visible tracks per frame, figures of the run, re-associations). Hidden tracks
    are kept (``keep_hidden_tracks``) to count how many of them come back; the figures: forecast share
    of the visible boxes, seconds, hidden spells and those that ended with the person seen again.
    ``settings``: the Reassociator's attributes to set (None: re-association off)."""
    out, boxed, forecast, hidden_since, spells, back = [], 0, 0, {}, 0, 0
    with Pipeline(detector=CachedTracker(boxes), forecaster=forecaster, reassociate=settings is not None,
                  keep_hidden_tracks=True) as pipe:
        for name, value in (settings or {}).items():
            setattr(pipe._reassociator, name, value)
        for index, timestamp, image in frames(video, max_frames, occluder):
            result = pipe.process(image, timestamp, index)
            visible = [t for t in result.tracks if t.visible]
            out.append({t.id: np.asarray(t.box) for t in visible})
            boxed += len(visible)
            forecast += sum(t.forecast is not None for t in visible)
            hidden = {t.id for t in result.tracks if not t.visible}
            spells += len(hidden - set(hidden_since))
            back += sum(1 for i in hidden_since if i not in hidden and i in out[-1])
            hidden_since = {i: hidden_since.get(i, index) for i in hidden}
        events = [] if pipe._reassociator is None else pipe._reassociator.events
    figures = {"forecast_share": forecast / max(boxed, 1), "seconds": timestamp, "hidden_spells": spells,
               "hidden_seen_again": back}
    return out, figures, events


def run_ocsort(boxes: list[np.ndarray], fps: float, lost_seconds: float) -> list[dict]:
    """{id: box} per frame from Roboflow's OC-SORT on the same boxes, lost tracks kept ``lost_seconds``."""
    import supervision as sv
    from trackers import OCSORTTracker

    tracker = OCSORTTracker(lost_track_buffer=int(round(lost_seconds * fps)), frame_rate=fps)
    out = []
    for data in boxes:
        tracked = tracker.update(sv.Detections(xyxy=data[:, :4].astype(np.float32), confidence=data[:, 4],
                                               class_id=data[:, 5].astype(int)))
        ids = tracked.tracker_id if tracked.tracker_id is not None else []
        out.append({int(i): box for i, box in zip(ids, tracked.xyxy) if i >= 0})
    return out


def overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(IoU, share of ``a`` inside ``b``) of two x1, y1, x2, y2 boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    union = area_a + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return (w * h / union if union > 0 else 0.0), (w * h / area_a if area_a > 0 else 0.0)


def same_person(painted: dict, box: np.ndarray, reverse: bool = False):
    """The id in ``painted`` ({id: box}) of the box on the same person as ``box``: the painted box at least
    INSIDE within the clear one (``reverse``: ``box`` is the painted one, ``painted`` the clear run), best IoU."""
    scored = []
    for track_id, other in painted.items():
        iou, inside = overlap(box, other) if reverse else overlap(other, box)
        if inside >= INSIDE and iou > 0:
            scored.append((iou, track_id))
    return max(scored)[1] if scored else None


def crossings(tracks: list[dict], occluder) -> list[tuple[int, int, int]]:
    """(clear-run id, frame before entering, frame after leaving) of every pass behind ``occluder``."""
    seen: dict[int, list[tuple[int, bool]]] = {}
    for f, frame in enumerate(tracks):
        x0, y0, x1, y1 = occluder.rect(f)
        for track_id, b in frame.items():
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            seen.setdefault(track_id, []).append((f, bool(x0 <= cx < x1 and y0 <= cy < y1)))
    found = []
    for track_id, sightings in seen.items():
        inside = [s for _, s in sightings]
        for k in range(1, len(inside)):
            if inside[k] and not inside[k - 1]:
                end = next((e for e in range(k, len(inside)) if not inside[e]), None)
                if end is not None:
                    found.append((track_id, sightings[k - 1][0], sightings[end][0]))
    return found


def kept(clear: list[dict], painted: list[dict], passes, fps: float) -> tuple[int, int]:
    """(people whose painted id was found before they entered, of them the ones who kept it)."""
    window = int(round(REFIND_SECONDS * fps))
    people = survived = 0
    for track_id, before, after in passes:
        first = next((same_person(painted[f], clear[f][track_id]) for f in range(before, max(before - window, -1), -1)
                      if track_id in clear[f] and same_person(painted[f], clear[f][track_id]) is not None), None)
        if first is None:
            continue
        people += 1
        refound = next((same_person(painted[f], clear[f][track_id]) for f in range(min(after + window, len(clear)) - 1,
                                                                                    after - 1, -1)
                        if track_id in clear[f] and same_person(painted[f], clear[f][track_id]) is not None), None)
        survived += refound == first
    return people, survived


def wrong_merges(clear: list[dict], painted: list[dict], events, timestamps: np.ndarray) -> list[tuple[bool, float]]:
    """(wrong, colour distance) of each re-association whose two ends were both found in the clear run."""
    checked = []
    for event in events:
        f1 = int(np.argmin(np.abs(timestamps - event.timestamp)))
        f0 = next((f for f in range(f1 - 1, -1, -1) if event.track_id in painted[f]), None)
        if f0 is None:
            continue
        lost_person = same_person(clear[f0], painted[f0][event.track_id], reverse=True)
        new_person = same_person(clear[f1], painted[f1][event.track_id], reverse=True)
        if lost_person is None or new_person is None:
            continue
        checked.append((bool(lost_person != new_person), round(event.looks, 3)))
    return checked


def idf1(clear: list[dict], painted: list[dict]) -> float:
    """IDF1 (motmetrics) of the painted run's boxes against the clear run's, matched at IoU >= 0.5."""
    import motmetrics as mm

    accumulator = mm.MOTAccumulator(auto_id=True)
    for truth, hypothesis in zip(clear, painted):
        # motmetrics' own iou_matrix calls np.asfarray, gone in numpy 2: the same distances (1 - IoU, NaN
        # beyond the threshold) from the boxes as they are
        distances = np.array([[1.0 - overlap(a, b)[0] for b in hypothesis.values()] for a in truth.values()])
        distances = distances.reshape(len(truth), len(hypothesis))
        distances[distances > 0.5] = np.nan
        accumulator.update(list(truth), list(hypothesis), distances)
    return float(mm.metrics.create().compute(accumulator, metrics=["idf1"])["idf1"].iloc[0])


def measure_video(video: str, max_frames: int | None, weights: str, forecaster: str) -> list[dict]:
    """One row per occluder and method on this video, and one per method for the clear video itself."""
    clear_boxes = detections(video, max_frames, None, weights)
    _, timestamps, first = zip(*((i, t, img if i == 0 else None) for i, t, img in frames(video, max_frames)))
    timestamps, shape = np.array(timestamps), first[0].shape
    fps = (len(timestamps) - 1) / (timestamps[-1] - timestamps[0])
    truth, rows, longest = {}, [], None
    for method in METHODS:
        if method == "OC-SORT":
            truth[method] = run_ocsort(clear_boxes, fps, 2.0)
            continue
        tracks, figures, _ = run_trajpipe(video, max_frames, None, clear_boxes, METHODS[method], forecaster)
        truth[method] = tracks
        ids = {i for frame in tracks for i in frame}
        rows.append({"video": Path(video).name, "occluder": "none", "method": method,
                     "ids_per_minute": round(60 * len(ids) / figures["seconds"], 2),
                     "forecast_share": round(figures["forecast_share"], 4), "hidden_spells": figures["hidden_spells"],
                     "hidden_seen_again": figures["hidden_seen_again"]})
        print(json.dumps(rows[-1]), flush=True)
    for kind, size in SHAPES.items():
        occluder = choose(kind, size, clear_boxes, shape)
        boxes = detections(video, max_frames, occluder, weights)
        for method in METHODS:
            events, figures = [], {}
            if method == "OC-SORT":
                painted = run_ocsort(boxes, fps, 2.0)
            else:
                painted, figures, events = run_trajpipe(video, max_frames, occluder, boxes, METHODS[method],
                                                        forecaster)
                figures = {k: figures[k] for k in ("hidden_spells", "hidden_seen_again")}
            if kind == "pillar" and events and method == "trajpipe":
                longest = (occluder, boxes, max(events, key=lambda e: e.hidden_for))
            people, survived = kept(truth[method], painted, crossings(truth[method], occluder), fps)
            checked = wrong_merges(truth[method], painted, events, timestamps)
            rows.append({"video": Path(video).name, "occluder": kind, "rect_first": list(occluder.start),
                         "rect_last": list(occluder.end), "method": method, "people": people, "kept": survived,
                         "reassociations": len(events), "reassociations_checked": len(checked),
                         "wrong_merges": sum(w for w, _ in checked),
                         "colour_distance_wrong": [d for w, d in checked if w],
                         "colour_distance_right": [d for w, d in checked if not w],
                         "idf1": round(idf1(truth[method], painted), 4), **figures})
            print(json.dumps(rows[-1]), flush=True)
    return rows, longest


def picture(path: Path, video: str, max_frames, occluder, boxes, forecaster: str, event) -> None:
    """Two frames side by side, drawn by the default overlay: a person half-way through their time behind
    ``occluder`` (dashed: where their forecast puts them) and just after they come out (``event``: their
    re-association), the same id on both."""
    import cv2
    from trajpipe.draw.overlay import Overlay

    wanted = (event.timestamp - event.hidden_for / 2, event.timestamp + 0.2)
    panels = []
    with Pipeline(detector=CachedTracker(boxes), forecaster=forecaster, keep_hidden_tracks=True, reassociate=True,
                  draw_hud=False) as pipe:
        overlay = Overlay.from_config(pipe.config)
        for index, timestamp, image in frames(video, max_frames, occluder):
            result = pipe.process(image, timestamp, index)
            if len(panels) < 2 and timestamp >= wanted[len(panels)]:
                mine = [t for t in result.tracks if t.id == event.track_id]
                drawn = overlay.draw(image.copy(), result)
                label = ("hidden %.1f s: dashed, where its forecast puts it" % mine[0].hidden_for if mine and not
                         mine[0].visible else f"out again: still id {event.track_id}")
                cv2.putText(drawn, label, (10, drawn.shape[0] - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
                panels.append(drawn)
    cv2.imwrite(str(path), np.hstack(panels))


def totals(rows: list[dict]) -> dict:
    """Per method over every video and occluder: people, kept (and share), wrong merges, mean IDF1."""
    out = {}
    for method in METHODS:
        mine = [r for r in rows if r["method"] == method and r["occluder"] != "none"]
        people, survived = sum(r["people"] for r in mine), sum(r["kept"] for r in mine)
        checked, wrong = sum(r["reassociations_checked"] for r in mine), sum(r["wrong_merges"] for r in mine)
        out[method] = {"people": people, "kept": survived, "kept_share": round(survived / max(people, 1), 3),
                       "reassociations": sum(r["reassociations"] for r in mine), "reassociations_checked": checked,
                       "wrong_merges": wrong, "wrong_share": round(wrong / checked, 3) if checked else None,
                       "idf1_mean": round(float(np.mean([r["idf1"] for r in mine])), 4)}
        clear = [r for r in rows if r["method"] == method and r["occluder"] == "none"]
        if clear and "hidden_spells" in clear[0]:  # how many of the hidden tracks on the clear videos are people seen again
            spells, back = sum(r["hidden_spells"] for r in clear), sum(r["hidden_seen_again"] for r in clear)
            out[method].update(clear_hidden_spells=spells, clear_hidden_seen_again=back,
                               clear_hidden_seen_again_share=round(back / max(spells, 1), 3))
    # what a colour gate would have refused among the default arm's checked re-associations
    wrong = [d for r in rows if r["method"] == "trajpipe" for d in r.get("colour_distance_wrong", [])]
    right = [d for r in rows if r["method"] == "trajpipe" for d in r.get("colour_distance_right", [])]
    out["colour gate"] = {str(gate): {"wrong_refused": sum(d > gate for d in wrong), "wrong": len(wrong),
                                      "right_refused": sum(d > gate for d in right), "right": len(right)}
                          for gate in (0.3, 0.4, 0.5, 0.6, 0.7)}
    return out


def table(rows: list[dict], summary: dict) -> list[list[str]]:
    """The pages' table: per video and occluder, then in all, each method's ids kept, wrong merges, IDF1."""
    header = ["video", "occluder"] + [f"{what}: {m}" for what in ("ids kept", "IDF1") for m in METHODS]
    header.insert(2 + len(METHODS), "wrong merges: trajpipe")
    out = [header]
    places = [(r["video"], r["occluder"]) for r in rows if r["method"] == "trajpipe" and r["occluder"] != "none"]
    for video, occluder in places + [("all", "all")]:
        if video == "all":
            cells = {m: {**summary[m], "idf1": summary[m]["idf1_mean"]} for m in METHODS}
        else:
            cells = {r["method"]: r for r in rows if r["video"] == video and r["occluder"] == occluder}
        kept_cells = [f"{cells[m]['kept']} of {cells[m]['people']}" for m in METHODS]
        wrong = cells["trajpipe"]
        line = [video, occluder, *kept_cells, f"{wrong['wrong_merges']} of {wrong['reassociations_checked']}",
                *[f"{cells[m]['idf1']:.3f}" for m in METHODS]]
        out.append(line)
    return out


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default="weights/yolov8n_int8.tflite")
    parser.add_argument("--forecaster", default="lstm")
    parser.add_argument("--results", default="occlusion_occluders", help="docs/results/NAME.json to write")
    parser.add_argument("--picture", default="docs/occlusion.png",
                        help="where to draw the concourse's longest re-association behind the pillar")
    args = parser.parse_args()
    rows = []
    for video, max_frames in VIDEOS:  # the results file is written after each video: a partial run still counts
        video_rows, longest = measure_video(video, max_frames, args.weights, args.forecaster)
        rows += video_rows
        summary = totals(rows)
        write_results(args.results, {"videos": sorted({r["video"] for r in rows}), "rows": rows, "totals": summary,
                                     "shapes_px": SHAPES, "table": table(rows, summary)})
        if args.picture and longest is not None and video == VIDEOS[0][0]:
            occluder, boxes, event = longest
            picture(Path(args.picture), video, max_frames, occluder, boxes, args.forecaster, event)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
