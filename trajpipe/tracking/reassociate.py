"""A person who comes out from behind something keeps who they were (config key ``reassociate``).

Ultralytics' ByteTrack and BoT-SORT find a lost track again only when a new box overlaps its
constant-velocity Kalman prediction; after 1-3 s behind a pillar a walker is further from that straight
line than their own width, and comes back as a new id (``benchmarks/occlusion.py``). This stage runs
after the tracker, whatever runs it (trajpipe's own detector stages or ``YOLO.track``): a track the
tracker starts on this frame is matched to a lost person when its bottom centre lies inside where the
forecast made at that person's last sighting puts them now (a Mahalanobis gate with the forecast's
sigma at the elapsed time, so it widens the longer they stay hidden), same class, a box of a consistent
height; one to one (``lap``, as the trackers assign). From then on the tracker's new id is an alias of
the old one: the histories, forecasts, hidden tracks and every output carry the old id.

One lifetime for a lost person, in seconds: the tracker keeps a lost track ``lost_track_ttl`` seconds
(its frame count set from the frame interval), as long as the histories do.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..core.detections import Detections
from ..core.results import Forecast

GATE = 9.21  # squared Mahalanobis distance: chi-square, 2 degrees of freedom, 99 %
SIGMA_FLOOR = 0.25  # box heights: the detector's own scatter of a bottom centre, added to the forecast's sigma
HEIGHT_RATIO = 1.5  # a new box at most this much taller or shorter than the lost person's last one
# How long (s) after the tracker started a track it may still be matched to a lost person (its first
# boxes are often cut by the occluder; its samples would join the lost person's history). 0: on its
# first frame only. 1 s let more wrong merges in on the concourse (benchmarks/occlusion.py).
YOUNG_SECONDS = 0.0
TYPICAL_SAMPLES = 50  # the last samples a track's usual box height is read from
WHOLE_SHARE = 0.9  # a box shorter than this share of the usual height is cut (the person half hidden)
WHOLE_WIDTH = 0.75  # or narrower than this share of the usual width
HUE_BINS, SATURATION_BINS = 12, 4  # the colour histogram of a box (appearance cue)


def colour_histogram(image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """The normalised hue-saturation histogram (HUE_BINS x SATURATION_BINS) of the middle of ``box``
    (x1, y1, x2, y2 pixels) in the BGR ``image``: the torso, not the background beside the legs;
    None when it is off the image or empty."""
    import cv2

    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    rows = slice(max(int(y1 + 0.15 * h), 0), max(int(y1 + 0.6 * h), 0))
    columns = slice(max(int(x1 + 0.25 * w), 0), max(int(x2 - 0.25 * w), 0))
    crop = image[rows, columns]
    if crop.size == 0:
        return None
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    histogram = cv2.calcHist([hsv], [0, 1], None, [HUE_BINS, SATURATION_BINS], [0, 180, 0, 256])
    return cv2.normalize(histogram, None, 1.0, 0.0, cv2.NORM_L1)


def looks_apart(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Bhattacharyya distance of two colour histograms, 0 (same) to 1; NaN when either is missing."""
    import cv2

    return float("nan") if a is None or b is None else float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))


def typical_height(samples) -> float:
    """The median box height of a track's last samples (NaN for bare points)."""
    boxes = samples.boxes[-TYPICAL_SAMPLES:]
    return float(np.median(boxes[:, 3] - boxes[:, 1]))


def whole(samples) -> bool:
    """Whether the last box of a track is about as tall and as wide as its recent ones (not cut by
    something in front; widths swing more with the stride, hence their lower share)."""
    boxes = samples.boxes[-TYPICAL_SAMPLES:]
    sizes = boxes[:, 2:] - boxes[:, :2]  # (T, 2) widths, heights
    return not (sizes[-1] < np.array([WHOLE_WIDTH, WHOLE_SHARE]) * np.median(sizes, axis=0)).any()


def forecast_at(forecast: Forecast, elapsed: float) -> tuple[np.ndarray, np.ndarray]:
    """Where ``forecast`` puts its track ``elapsed`` seconds after its origin, and its sigma then:
    ((2,), (2,)) in the forecast's units, read linearly from the start (sigma 0) through its steps,
    held at the horizon. A forecast without sigma gives zeros."""
    times = np.concatenate([[0.0], forecast.times])
    points = np.vstack([forecast.start, forecast.points])
    sigma = np.zeros_like(points) if forecast.sigma is None else np.vstack([[0.0, 0.0], forecast.sigma])
    read = [np.interp(elapsed, times, column) for column in (*points.T, *sigma.T)]
    return np.array(read[:2]), np.array(read[2:])


@dataclass(frozen=True)
class Reassociation:
    """One re-association: at ``timestamp`` the tracker's new ``tracker_id`` became ``track_id``, a person
    lost ``hidden_for`` seconds; ``distance`` is the squared Mahalanobis distance to their forecast,
    ``looks`` the colour histograms' distance (NaN when not compared)."""

    timestamp: float
    tracker_id: int
    track_id: int
    hidden_for: float
    distance: float
    looks: float = float("nan")


class Reassociator:
    """The alias map from the tracker's ids to the ids trajpipe reports, and the matching that grows it.
    One per pipeline; :meth:`apply` is called once per frame, in order, between the tracker and the
    histories; :meth:`remember` with each frame's forecasts (may run one frame behind, in another thread).

    Args:
        lost_track_ttl: seconds a lost person is looked for (the histories' lifetime too).
        looks_gate: compare the boxes' colour histograms and match only below this Bhattacharyya
            distance (None: colour is not looked at; 1.0: compared and recorded, never refused).
        young_seconds: tracks the tracker started at most this long ago may still be matched (0: on
            their first frame only).
        unambiguous: match only a new track with one lost person in its gate, who has no other new
            track in theirs (else the one-to-one assignment decides).
    """

    def __init__(self, lost_track_ttl: float, looks_gate: float | None = None, young_seconds: float = YOUNG_SECONDS,
                 unambiguous: bool = True):
        self.lost_track_ttl, self.looks_gate, self.young_seconds = lost_track_ttl, looks_gate, young_seconds
        self.unambiguous = unambiguous
        self._looks: dict[int, np.ndarray | None] = {}  # reported id -> colour histogram of its last sighting
        self.alias: dict[int, int] = {}  # tracker id -> reported id, for the re-associated tracks only
        self.events: deque[Reassociation] = deque(maxlen=1000)  # the last ones, for benchmarks and logs
        self._forecasts: dict[int, Forecast] = {}  # reported id -> forecast of its last forecast frame
        self._lock = threading.Lock()  # remember() may run in the forecast thread while apply() runs
        self._intervals: deque[float] = deque(maxlen=31)  # the last frame intervals (s)
        self._last_time: float | None = None

    def remember(self, tracks, forecasts) -> None:
        """This frame's forecasts (history coordinates; None for tracks too young) of ``tracks``, (track id,
        class id, :class:`~trajpipe.tracking.history.Samples`) each. A forecast made while the box is
        cut short (the person half behind something: its bottom centre stops while they walk on) does
        not replace the one made when they were last seen whole."""
        with self._lock:
            for (track_id, _, samples), forecast in zip(tracks, forecasts):
                if forecast is not None and whole(samples):
                    self._forecasts[track_id] = forecast

    def reported(self, tracker_ids) -> list[int]:
        """The ids trajpipe reports for these tracker ids."""
        return [self.alias.get(int(i), int(i)) for i in tracker_ids]

    def apply(self, detections: Detections, timestamp: float, histories, to_history, trackers=(),
              image: np.ndarray | None = None) -> Detections:
        """This frame's tracked boxes under the reported ids, new tracks matched to lost people first.

        Args:
            detections: the tracker's boxes of this frame (its ids).
            timestamp: the frame's time (s).
            histories: the pipeline's :class:`~trajpipe.tracking.history.TrackHistories` before this
                frame is added (reported ids; lost people are the ones not seen on this frame).
            to_history: maps (N, 2) pixels to history coordinates (the frame's ``pixels_to_history``).
            trackers: the Ultralytics trackers behind the ids (their lost lifetime is set, and a lost
                track taken over by a new one is dropped so that the tracker cannot bring it back too).
            image: the BGR frame (read only with ``looks_gate``).

        Returns:
            ``detections`` with ``tracker_id`` replaced by the reported ids.
        """
        self._set_lifetime(timestamp, trackers)
        ids = self._unique_ids(detections.tracker_id)
        looks = None
        if self.looks_gate is not None and image is not None:
            looks = [colour_histogram(image, box) for box in detections.xyxy]
        new = [k for k, i in enumerate(ids) if self._young(int(i), histories, timestamp)]
        if new:
            seen = set(ids.tolist())
            lost = [h for track_id, h in histories.tracks.items() if track_id not in seen]
            for row, history, distance in self._match(detections, new, lost, timestamp, to_history, looks, histories):
                tracker_id, young = int(detections.tracker_id[row]), int(ids[row])
                if young in histories.tracks:  # seen on earlier frames under the new id: one history now
                    histories.merge(young, history.track_id)
                self.alias = {i: history.track_id if r == young else r for i, r in self.alias.items()}
                self.alias[tracker_id] = ids[row] = history.track_id
                self._forget_in_trackers(trackers, history.track_id)
                apart = looks_apart(looks[row], self._looks.get(history.track_id)) if looks else float("nan")
                self.events.append(Reassociation(timestamp, tracker_id, history.track_id,
                                                 timestamp - history.last_seen, distance, apart))
        if looks is not None:
            self._looks.update(zip(ids.tolist(), looks))
        # what the histories have forgotten (lost over lost_track_ttl), the tracker has dropped as well
        kept = set(histories.tracks) | set(ids.tolist())
        self.alias = {i: reported for i, reported in self.alias.items() if reported in kept}
        with self._lock:
            self._forecasts = {i: f for i, f in self._forecasts.items() if i in kept}
        self._looks = {i: h for i, h in self._looks.items() if i in kept}
        return Detections(detections.xyxy, detections.confidence, detections.class_id, ids)

    def _unique_ids(self, tracker_ids: np.ndarray) -> np.ndarray:
        """The reported ids of this frame's tracks. Where the tracker found the lost track itself while
        its person goes on as another track (a detector without ``trackers()``: the lost one could not
        be dropped), that track reverts to its own id: one id is never two people."""
        ids = np.array(self.reported(tracker_ids), np.int64)
        if len(np.unique(ids)) < len(ids):
            found_again = set(ids[ids == tracker_ids].tolist())
            for k, (tracker_id, reported) in enumerate(zip(tracker_ids.tolist(), ids.tolist())):
                if tracker_id != reported and reported in found_again:
                    ids[k] = tracker_id
                    self.alias.pop(tracker_id, None)
        return ids

    def _young(self, track_id: int, histories, timestamp: float) -> bool:
        """Whether ``track_id`` may still be someone lost: new on this frame, or started at most
        ``young_seconds`` ago and never re-associated."""
        history = histories.tracks.get(track_id)
        if history is None:
            return True
        return history.first_seen >= timestamp - self.young_seconds and track_id not in self.alias.values()

    def _match(self, detections: Detections, rows: list[int], lost: list, timestamp: float, to_history, looks=None,
               histories=None):
        """(detection row, lost history, squared distance) of the one-to-one matches within the gates: a
        lost person last seen before the new track's first sighting."""
        from ultralytics.trackers.utils.matching import linear_assignment

        with self._lock:
            forecasts = {h.track_id: self._forecasts[h.track_id] for h in lost if h.track_id in self._forecasts}
        lost = [h for h in lost if h.track_id in forecasts]
        if not lost:
            return []
        anchors = to_history(detections.anchors[rows])
        boxes = to_history(detections.xyxy[rows].reshape(-1, 2, 2)).reshape(-1, 4)
        heights = boxes[:, 3] - boxes[:, 1]
        cost = np.full((len(rows), len(lost)), np.inf)
        for j, history in enumerate(lost):
            forecast = forecasts[history.track_id]
            position, sigma = forecast_at(forecast, timestamp - forecast.origin)
            last_height = typical_height(history.samples())
            floor = SIGMA_FLOOR * last_height if np.isfinite(last_height) else 0.0
            distance = (((anchors - position) / np.sqrt(sigma ** 2 + floor ** 2 + 1e-12)) ** 2).sum(axis=1)
            ratio = heights / last_height if np.isfinite(last_height) else np.ones(len(rows))
            same = (detections.class_id[rows] == history.class_id) & (np.abs(np.log(ratio)) <= np.log(HEIGHT_RATIO))
            if looks is not None:  # colour too different: someone else
                same &= np.array([not looks_apart(looks[k], self._looks.get(history.track_id)) > self.looks_gate
                                  for k in rows])
            started = np.array([self._first_seen(detections.tracker_id[k], histories, timestamp) for k in rows])
            same &= started > history.last_seen  # never two people seen at once
            cost[same, j] = distance[same]
        if self.unambiguous:  # in a crowd, two candidates in one gate are as likely to be a swap as not
            gated = cost <= GATE
            cost[~(gated & (gated.sum(axis=1, keepdims=True) == 1) & (gated.sum(axis=0, keepdims=True) == 1))] = np.inf
        matches, _, _ = linear_assignment(np.where(np.isfinite(cost), cost, GATE + 1.0), GATE)
        return [(rows[k], lost[j], float(cost[k, j])) for k, j in matches]

    def _first_seen(self, tracker_id: int, histories, timestamp: float) -> float:
        """When the track reported for ``tracker_id`` was first seen (now for a new one)."""
        history = histories.tracks.get(self.alias.get(int(tracker_id), int(tracker_id)))
        return timestamp if history is None else history.first_seen

    def _set_lifetime(self, timestamp: float, trackers) -> None:
        """The trackers keep a lost track ``lost_track_ttl`` seconds at the median of the last frame
        intervals (robust to one long gap; follows a live source's changing rate)."""
        if self._last_time is not None and timestamp > self._last_time:
            self._intervals.append(timestamp - self._last_time)
        self._last_time = timestamp
        if self._intervals:
            frames_lost = max(1, int(round(self.lost_track_ttl / float(np.median(self._intervals)))))
            for tracker in trackers:
                tracker.max_frames_lost = frames_lost

    def _forget_in_trackers(self, trackers, track_id: int) -> None:
        """Drop the lost tracker track that carried ``track_id``: its person is the new track now."""
        tracker_ids = {i for i, reported in self.alias.items() if reported == track_id} | {track_id}
        for tracker in trackers:
            for track in [t for t in tracker.lost_stracks if int(t.track_id) in tracker_ids]:
                track.mark_removed()
                tracker.lost_stracks.remove(track)

    def reset(self) -> None:
        """Forget every alias and forecast (the tracker restarts its ids)."""
        self.__init__(self.lost_track_ttl, self.looks_gate, self.young_seconds, self.unambiguous)
