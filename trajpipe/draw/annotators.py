"""Annotators: each draws one thing of a :class:`~trajpipe.core.results.FrameResult` in place on its BGR
frame and returns the frame. Pick, reorder or add your own in an :class:`~trajpipe.draw.overlay.Overlay`.

Forecast layers draw, for each track with a forecast, its most likely future: the most probable mode
when the forecast carries modes, else the forecast itself. Forecasts that leave the view of a robot's
camera (NaN pixels) are not drawn. Hidden tracks (lost by the tracker, ``visible`` False) are drawn
dashed: their box where they are estimated to be, the way there from where they were last seen, and
the rest of their forecast (without alternatives).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Protocol

import cv2
import numpy as np

from ..core.results import FrameResult, TrackState

# Tracks get colours from a fixed palette so an id keeps its colour (BGR).
PALETTE = [(255, 144, 30), (80, 200, 80), (60, 60, 240), (200, 100, 220), (240, 200, 80),
           (100, 180, 250), (180, 230, 120), (150, 100, 255), (230, 230, 230), (70, 140, 200)]
FORECAST_NEAR = np.array([0, 255, 255], np.float32)  # bright yellow: the next few tenths of a second
FORECAST_FAR = np.array([0, 90, 170], np.float32)  # dim orange: the end of the horizon
ALTERNATIVE_COLOUR = tuple(int(c) for c in (FORECAST_NEAR + FORECAST_FAR) / 2)  # less likely modes
SIGMA_RING = (0, 60, 110)  # darker than the path: context, not the headline
FONT = cv2.FONT_HERSHEY_SIMPLEX
# Alternative modes by strength (probability relative to the track's most likely mode): the lowest
# strength of each band, its opacity and line thickness, strongest first. Opacity rather than a darker
# colour, so that a weak mode looks weak on a bright floor as on a dark road.
MODE_BANDS = ((0.6, 0.8, 2), (0.3, 0.55, 1), (0.0, 0.3, 1))
DASH, GAP = 6.0, 5.0  # pixels: the dashes of a hidden track's lines


class Annotator(Protocol):
    """Anything with ``annotate(image, result)``: what an :class:`~trajpipe.draw.Overlay` composes (as
    supervision's annotators are).

    Example:
        >>> class Ids:  # doctest: +SKIP
        ...     def annotate(self, image, result):
        ...         for t in result.tracks:
        ...             cv2.putText(image, str(t.id), tuple(map(int, t.box[:2])), FONT, 0.5, (255, 255, 255))
        ...         return image
        >>> Overlay([Boxes(), Ids()]).draw(result.image, result)  # doctest: +SKIP
    """

    def annotate(self, image: np.ndarray, result: FrameResult) -> np.ndarray:
        """Draw on ``image`` and return it.

        Args:
            image: (H, W, 3) uint8 BGR frame, drawn on in place.
            result: the frame's result (pixel positions).

        Returns:
            ``image``.
        """


def track_colour(track_id: int) -> tuple[int, int, int]:
    """The colour every drawing of a track uses.

    Args:
        track_id: the track's id.

    Returns:
        A BGR colour, 0 to 255 each, the same for the same id.
    """
    return PALETTE[track_id % len(PALETTE)]


def _drawable(tracks: list[TrackState]) -> list[TrackState]:
    """Tracks whose forecast (and modes) lie inside this view: no NaN pixels."""
    return [t for t in tracks if t.forecast is not None and np.isfinite(t.forecast.points).all()
            and (t.forecast.modes is None or np.isfinite(t.forecast.modes.points).all())]


def _most_likely(track: TrackState) -> tuple[np.ndarray, np.ndarray | None]:
    """(T, 2) points and (T, 2) sigma (or None) of the track's most likely future."""
    forecast, modes = track.forecast, track.forecast.modes
    if modes is None or not len(modes.probs):
        return forecast.points, forecast.sigma
    return modes.points[0], None if modes.sigma is None else modes.sigma[0]


def _path(track: TrackState, points: np.ndarray) -> np.ndarray:
    """The path from the track's current point through ``points``."""
    return np.vstack([track.point[None], points])


def _dashed(image: np.ndarray, points: np.ndarray, colour, thickness: int) -> None:
    """A polyline through ``points`` (N, 2) drawn as dashes of ``DASH`` pixels, ``GAP`` apart."""
    points = np.asarray(points, np.float64)
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) < 2:
        return
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    starts = np.arange(0.0, along[-1], DASH + GAP)
    ends = np.minimum(starts + DASH, along[-1])

    def at(distance):
        return np.stack([np.interp(distance, along, points[:, 0]), np.interp(distance, along, points[:, 1])], -1)

    for a, b in zip(np.round(at(starts)).astype(int).tolist(), np.round(at(ends)).astype(int).tolist()):
        cv2.line(image, tuple(a), tuple(b), colour, thickness, cv2.LINE_AA)


class Boxes:
    """Boxes with track id and class, in the track's colour."""

    def annotate(self, image: np.ndarray, result: FrameResult) -> np.ndarray:
        """Draw the boxes with their labels onto ``image``.

        Args:
            image: (H, W, 3) uint8 BGR frame, drawn on in place.
            result: the frame's result (pixel positions).

        Returns:
            ``image``.
        """
        for track in result.tracks:
            colour = track_colour(track.id)
            if not np.isfinite(track.box).all():  # a hidden track estimated behind a robot's camera
                continue
            x1, y1, x2, y2 = (int(v) for v in track.box)
            if track.visible:
                cv2.rectangle(image, (x1, y1), (x2, y2), colour, 1, cv2.LINE_AA)
            else:
                _dashed(image, np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]), colour, 1)
            label = f"{track.id} {track.class_name}"
            (w, h), _ = cv2.getTextSize(label, FONT, 0.4, 1)
            top = max(y1 - h - 4, 0)
            cv2.rectangle(image, (x1, top), (x1 + w + 4, top + h + 4), colour, -1)
            cv2.putText(image, label, (x1 + 2, top + h + 1), FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        return image


class Trails:
    """The past ``seconds`` of each track as a line in its colour.

    Args:
        seconds: how much of each track's past is drawn.
    """

    def __init__(self, seconds: float = 2.0):
        self.seconds = seconds

    def annotate(self, image: np.ndarray, result: FrameResult) -> np.ndarray:
        """Draw the trails onto ``image``.

        Args:
            image: (H, W, 3) uint8 BGR frame, drawn on in place.
            result: the frame's result (pixel positions).

        Returns:
            ``image``.
        """
        for track in result.tracks:
            recent = track.history[track.history_times >= result.timestamp - self.seconds]
            recent = recent[np.isfinite(recent).all(axis=1)]  # a robot's past points behind its camera are NaN
            if len(recent) >= 2:
                cv2.polylines(image, [np.round(recent).astype(np.int32)], False, track_colour(track.id), 2, cv2.LINE_AA)
            if not track.visible:  # from where it was last seen to where it is estimated now
                _dashed(image, np.vstack([track.history[-1:], track.point[None]]), track_colour(track.id), 2)
        return image


class ModePaths:
    """The alternative futures (every mode but the most likely) as translucent whole paths, fainter and
    thinner the less probable they are relative to the most likely one."""

    def annotate(self, image: np.ndarray, result: FrameResult) -> np.ndarray:
        """Draw the alternative futures onto ``image``.

        Args:
            image: (H, W, 3) uint8 BGR frame, drawn on in place.
            result: the frame's result (pixel positions).

        Returns:
            ``image``.
        """
        bands: list[list[np.ndarray]] = [[] for _ in MODE_BANDS]
        for track in _drawable(result.tracks):
            modes = track.forecast.modes
            if modes is None or not len(modes.probs) or not track.visible:
                continue
            for points, p in zip(modes.points[1:], modes.probs[1:]):
                band = next(i for i, (floor, _, _) in enumerate(MODE_BANDS) if p / modes.probs[0] >= floor)
                bands[band].append(_path(track, points))
        for band, paths in reversed(list(enumerate(bands))):  # weakest first, under the stronger ones
            if paths:
                _, opacity, thickness = MODE_BANDS[band]
                _draw_translucent(image, np.round(np.stack(paths)).astype(np.int32), opacity, thickness)
        return image


class Forecasts:
    """The most likely future of each track, bright and thick now, dim and thin at the horizon, with a
    dot where it ends."""

    def annotate(self, image: np.ndarray, result: FrameResult) -> np.ndarray:
        """Draw the most likely futures onto ``image``.

        Args:
            image: (H, W, 3) uint8 BGR frame, drawn on in place.
            result: the frame's result (pixel positions).

        Returns:
            ``image``.
        """
        drawable = _drawable(result.tracks)
        for track in drawable:
            if not track.visible:
                _dashed(image, _path(track, _most_likely(track)[0]), ALTERNATIVE_COLOUR, 2)
        tracks = [t for t in drawable if t.visible]
        if not tracks:
            return image
        paths = np.round(np.stack([_path(t, _most_likely(t)[0]) for t in tracks])).astype(np.int32)
        # one step at a time for all tracks together, so the cost does not grow with Python calls per track
        for k, (colour, thickness) in enumerate(_forecast_styles(paths.shape[1] - 1)):
            cv2.polylines(image, list(paths[:, k:k + 2]), False, colour, thickness, cv2.LINE_AA)
        end_colour = tuple(int(c) for c in FORECAST_FAR)
        for end in paths[:, -1].tolist():
            cv2.circle(image, tuple(end), 4, end_colour, -1, cv2.LINE_AA)
            cv2.circle(image, tuple(end), 4, (0, 0, 0), 1, cv2.LINE_AA)
        return image


class SigmaRings:
    """A ring of one standard deviation around the end of each most likely future, where the
    forecaster gives one."""

    def annotate(self, image: np.ndarray, result: FrameResult) -> np.ndarray:
        """Draw the rings onto ``image``.

        Args:
            image: (H, W, 3) uint8 BGR frame, drawn on in place.
            result: the frame's result (pixel positions).

        Returns:
            ``image``.
        """
        for track in _drawable(result.tracks):
            points, sigma = _most_likely(track)
            if sigma is None:
                continue
            end = tuple(np.round(points[-1]).astype(np.int32).tolist())
            axes = tuple(max(1, int(round(float(s)))) for s in sigma[-1])
            cv2.ellipse(image, end, axes, 0, 0, 360, SIGMA_RING, 1, cv2.LINE_AA)
        return image


class Hud:
    """Text lines on a translucent dark panel in the top-left corner.

    Args:
        lines: the text of a result, one string a line (default: frame, time and track count); the
            run loop adds its FPS and latency.
    """

    def __init__(self, lines: Callable[[FrameResult], list[str]] | None = None):
        self.lines = lines or default_hud_lines

    def annotate(self, image: np.ndarray, result: FrameResult) -> np.ndarray:
        """Draw the text panel onto ``image``.

        Args:
            image: (H, W, 3) uint8 BGR frame, drawn on in place.
            result: the frame's result (pixel positions).

        Returns:
            ``image``.
        """
        lines = self.lines(result)
        if not lines:
            return image
        line_height = 18
        width = max(cv2.getTextSize(line, FONT, 0.5, 1)[0][0] for line in lines) + 12
        height = line_height * len(lines) + 8
        panel = image[:height, :width]
        panel[:] = (panel * 0.35).astype(np.uint8)
        for i, line in enumerate(lines):
            cv2.putText(image, line, (6, 18 + i * line_height), FONT, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        return image


def default_hud_lines(result: FrameResult) -> list[str]:
    return [f"frame {result.frame_index}  t={result.timestamp:.2f}s", track_count(result)] + adaptation_line(result)


def adaptation_line(result: FrameResult) -> list[str]:
    """The scene adaptation's state, when it is on: nothing otherwise."""
    state = result.adaptation
    if state is None:
        return []
    if not state.adapted:
        return [f"scene: adapting ({state.windows} forecasts scored)"]
    return [f"scene: adapted on {state.windows} (CV shrink {state.shrink[-1]:.2f}, sigma x{state.sigma_scale[-1]:.2f})"]


def track_count(result: FrameResult) -> str:
    """``N tracks``, and how many of them are hidden when some are."""
    hidden = sum(not t.visible for t in result.tracks)
    return f"{len(result.tracks)} tracks" + (f" ({hidden} hidden)" if hidden else "")


@lru_cache(maxsize=32)
def _forecast_styles(steps: int) -> list[tuple[tuple[int, int, int], int]]:
    """(colour, thickness) of each forecast segment: bright and thick now, dim and thin at the horizon."""
    styles = []
    for k in range(steps):
        fade = k / max(steps - 1, 1)
        colour = tuple(int(c) for c in (1 - fade) * FORECAST_NEAR + fade * FORECAST_FAR)
        styles.append((colour, 3 if fade < 0.34 else 2 if fade < 0.67 else 1))
    return styles


def _draw_translucent(image: np.ndarray, paths: np.ndarray, opacity: float, thickness: int) -> None:
    """Paths in one colour (the middle of the forecast's fade), blended over the image with
    ``opacity``. Whole paths in one call and only their bounding box blended: alternatives are many
    (every track's), and drawing them step by step cost four times as much."""
    height, width = image.shape[:2]
    x0, y0 = np.clip(paths.reshape(-1, 2).min(0) - 4, 0, None)
    x1, y1 = np.minimum(paths.reshape(-1, 2).max(0) + 5, [width, height])
    if x1 <= x0 or y1 <= y0:
        return
    roi = image[y0:y1, x0:x1]
    layer = roi.copy()
    cv2.polylines(layer, list(paths - np.array([x0, y0], np.int32)), False, ALTERNATIVE_COLOUR, thickness, cv2.LINE_AA)
    cv2.addWeighted(layer, opacity, roi, 1 - opacity, 0, dst=roi)
