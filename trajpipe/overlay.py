"""Drawing: boxes with id and class, past trails, fading forecast paths and a small HUD.

Each annotator draws in place on a BGR frame; ``Overlay`` composes them (as ``supervision`` does).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .results import FrameResult, TrackState

# Tracks get colours from a fixed palette so an id keeps its colour (BGR).
PALETTE = [(255, 144, 30), (80, 200, 80), (60, 60, 240), (200, 100, 220), (240, 200, 80),
           (100, 180, 250), (180, 230, 120), (150, 100, 255), (230, 230, 230), (70, 140, 200)]
FORECAST_NEAR = np.array([0, 255, 255], np.float32)  # bright yellow: the next few tenths of a second
FORECAST_FAR = np.array([0, 90, 170], np.float32)  # dim orange: the end of the horizon
ALTERNATIVE_COLOUR = tuple(int(c) for c in (FORECAST_NEAR + FORECAST_FAR) / 2)  # less likely modes
SIGMA_RING = (0, 60, 110)  # darker than the path: context, not the headline
FONT = cv2.FONT_HERSHEY_SIMPLEX


def track_colour(track_id: int) -> tuple[int, int, int]:
    return PALETTE[track_id % len(PALETTE)]


def draw_boxes(image: np.ndarray, tracks: list[TrackState]) -> None:
    for track in tracks:
        colour = track_colour(track.id)
        x1, y1, x2, y2 = (int(v) for v in track.box)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, 1, cv2.LINE_AA)
        label = f"{track.id} {track.class_name}"
        (w, h), _ = cv2.getTextSize(label, FONT, 0.4, 1)
        top = max(y1 - h - 4, 0)
        cv2.rectangle(image, (x1, top), (x1 + w + 4, top + h + 4), colour, -1)
        cv2.putText(image, label, (x1 + 2, top + h + 1), FONT, 0.4, (0, 0, 0), 1, cv2.LINE_AA)


def draw_trails(image: np.ndarray, tracks: list[TrackState], now: float, seconds: float) -> None:
    for track in tracks:
        recent = track.history[track.history_times >= now - seconds]
        recent = recent[np.isfinite(recent).all(axis=1)]  # a robot's past points behind its camera are NaN
        if len(recent) >= 2:
            cv2.polylines(image, [np.round(recent).astype(np.int32)], False, track_colour(track.id), 2, cv2.LINE_AA)


# Alternative modes by strength (probability relative to the track's most likely mode): the lowest
# strength of each band, its opacity and line thickness, strongest first. Opacity rather than a darker
# colour, so that a weak mode looks weak on a bright floor as on a dark road.
MODE_BANDS = ((0.6, 0.8, 2), (0.3, 0.55, 1), (0.0, 0.3, 1))


@lru_cache(maxsize=32)
def _forecast_styles(steps: int, thickness: int | None = None) -> list[tuple[tuple[int, int, int], int]]:
    """(colour, thickness) of each forecast segment: bright and thick now, dim and thin at the horizon
    (or all ``thickness`` thick)."""
    styles = []
    for k in range(steps):
        fade = k / max(steps - 1, 1)
        colour = tuple(int(c) for c in (1 - fade) * FORECAST_NEAR + fade * FORECAST_FAR)
        styles.append((colour, thickness or (3 if fade < 0.34 else 2 if fade < 0.67 else 1)))
    return styles


def _draw_paths(image: np.ndarray, paths: np.ndarray, styles) -> None:
    """(tracks, steps + 1, 2) int paths, drawn one step at a time for all tracks together, so the cost
    does not grow with Python calls per track."""
    for k, (colour, thickness) in enumerate(styles):
        cv2.polylines(image, list(paths[:, k:k + 2]), False, colour, thickness, cv2.LINE_AA)


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


def _path(track: TrackState, points: np.ndarray) -> np.ndarray:
    return np.vstack([track.history[-1:], points])


def draw_forecasts(image: np.ndarray, tracks: list[TrackState], uncertainty: bool = True) -> None:
    """Forecast paths fading over the horizon, an end marker, and (``uncertainty``) a ring of one
    standard deviation around the end point when the forecaster gives one. Forecasts with modes draw
    the most likely mode this way and the others thinner and dimmer the less probable they are.
    Forecasts that leave the view of a robot's camera (NaN pixels) are not drawn."""
    forecast_tracks = [t for t in tracks if t.forecast is not None and np.isfinite(t.forecast.points).all()
                       and (t.forecast.modes is None or np.isfinite(t.forecast.modes.points).all())]
    if not forecast_tracks:
        return
    alternatives: list[list[np.ndarray]] = [[] for _ in MODE_BANDS]
    main, ends, rings = [], [], []
    for track in forecast_tracks:
        forecast, modes = track.forecast, track.forecast.modes
        if modes is None or not len(modes.probs):
            main.append(_path(track, forecast.points))
            rings.append(forecast.sigma)
            continue
        main.append(_path(track, modes.points[0]))
        rings.append(None if modes.sigma is None else modes.sigma[0])
        for points, p in zip(modes.points[1:], modes.probs[1:]):
            band = next(i for i, (floor, _, _) in enumerate(MODE_BANDS) if p / modes.probs[0] >= floor)
            alternatives[band].append(_path(track, points))
    for band, paths in reversed(list(enumerate(alternatives))):  # weakest first, under the stronger ones
        if paths:
            _, opacity, thickness = MODE_BANDS[band]
            _draw_translucent(image, np.round(np.stack(paths)).astype(np.int32), opacity, thickness)
    paths = np.round(np.stack(main)).astype(np.int32)
    _draw_paths(image, paths, _forecast_styles(paths.shape[1] - 1))
    end_colour = tuple(int(c) for c in FORECAST_FAR)
    for path, sigma in zip(paths, rings):
        end = tuple(path[-1].tolist())
        if uncertainty and sigma is not None:
            axes = tuple(max(1, int(round(float(s)))) for s in sigma[-1])
            cv2.ellipse(image, end, axes, 0, 0, 360, SIGMA_RING, 1, cv2.LINE_AA)
        cv2.circle(image, end, 4, end_colour, -1, cv2.LINE_AA)
        cv2.circle(image, end, 4, (0, 0, 0), 1, cv2.LINE_AA)


def draw_hud(image: np.ndarray, lines: list[str]) -> None:
    """Text lines on a translucent dark panel in the top-left corner."""
    line_height = 18
    width = max(cv2.getTextSize(line, FONT, 0.5, 1)[0][0] for line in lines) + 12
    height = line_height * len(lines) + 8
    panel = image[:height, :width]
    panel[:] = (panel * 0.35).astype(np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(image, line, (6, 18 + i * line_height), FONT, 0.5, (255, 255, 255), 1, cv2.LINE_AA)


class Overlay:
    """Draws a ``FrameResult`` onto its frame; which layers are drawn is configurable."""

    def __init__(self, trail_seconds: float = 2.0, boxes: bool = True, hud: bool = True, uncertainty: bool = True):
        self.trail_seconds = trail_seconds
        self.boxes = boxes
        self.hud = hud
        self.uncertainty = uncertainty

    def draw(self, image: np.ndarray, result: FrameResult, hud_lines: list[str] | None = None) -> np.ndarray:
        if self.trail_seconds > 0:
            draw_trails(image, result.tracks, result.timestamp, self.trail_seconds)
        draw_forecasts(image, result.tracks, self.uncertainty)
        if self.boxes:
            draw_boxes(image, result.tracks)
        if self.hud and hud_lines:
            draw_hud(image, hud_lines)
        return image
