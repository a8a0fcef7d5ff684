"""Views of a video moved by known transforms (the camera-motion benchmark's clips), and the detector's
boxes of their frames cached on disk (the network's boxes do not depend on ``camera_motion``, so every
arm of a clip, and every rerun, tracks the same boxes without running the network again).

A clip is a function of time (seconds) -> (3, 3) scene -> view transform of the ``VIEW``-sized view of
the concourse video (``SCENE``). ``STILL_OF`` names, for a clip, clips of views held still: its own first
view, the middle of the scene, and (the easing pan) its far end.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import cv2
import numpy as np

VIEW = (640, 360)  # width, height of the moving views
SCENE = (854, 480)  # the concourse video's frame
PERIOD = 13.6  # seconds: the concourse video's length, one zoom / roll / expansion cycle


def _rise_and_fall(t: float) -> float:
    """0 -> 1 -> 0 over PERIOD seconds."""
    return (1 - math.cos(2 * math.pi * t / PERIOD)) / 2


def _translate(x: float, y: float) -> np.ndarray:
    return np.array([[1, 0, x], [0, 1, y], [0, 0, 1.0]])


def view_of(centre, scale: float = 1.0, roll_deg: float = 0.0) -> np.ndarray:
    """(3, 3) scene -> view transform: the view's centre shows the scene point ``centre``, zoomed by
    ``scale`` (above 1: things look bigger) and rolled by ``roll_deg``."""
    c, s = math.cos(math.radians(roll_deg)) * scale, math.sin(math.radians(roll_deg)) * scale
    return _translate(VIEW[0] / 2, VIEW[1] / 2) @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]]) @ _translate(-centre[0], -centre[1])


def pan(t: float) -> np.ndarray:
    """Integer offsets (exact crops): two sines of different periods, so the window pans both ways and
    diagonally; speed at most ~48 px/s."""
    room_x, room_y = SCENE[0] - VIEW[0], SCENE[1] - VIEW[1]
    x = room_x / 2 + 0.47 * room_x * math.sin(2 * math.pi * t / 16.0)
    y = room_y / 2 + 0.42 * room_y * math.sin(2 * math.pi * t / 11.0)
    return _translate(-round(x), -round(y))


EASE_SPEED, EASE_SECONDS, EASE_REST = 50.0, 3.0, 1.0  # px/s (2 px a frame at 25 FPS); seconds to reach it; rest


def _eased_distance(t: float, length: float) -> float:
    """Pixels travelled ``t`` seconds into a move of ``length`` px from rest to rest: the speed creeps in
    (sin^2 over EASE_SECONDS up to EASE_SPEED), holds, and eases out the same way."""
    hold = (length - EASE_SPEED * EASE_SECONDS) / EASE_SPEED

    def eased_in(u: float) -> float:  # distance covered u seconds into the ramp up
        return EASE_SPEED * (u / 2 - EASE_SECONDS / (2 * math.pi) * math.sin(math.pi * u / EASE_SECONDS))

    if t <= 0:
        return 0.0
    if t < EASE_SECONDS:
        return eased_in(t)
    if t < EASE_SECONDS + hold:
        return eased_in(EASE_SECONDS) + EASE_SPEED * (t - EASE_SECONDS)
    return length - eased_in(max(0.0, 2 * EASE_SECONDS + hold - t))


def easing_pan(t: float) -> np.ndarray:
    """Whole-pixel crop offsets of a pan that starts from rest: still for EASE_REST seconds, then
    diagonally across the whole room (creeping below 0.3 px a frame for its first 0.8 s, ~2 px a frame
    at full speed), still again for EASE_REST, and back the same way."""
    room = np.array([SCENE[0] - VIEW[0], SCENE[1] - VIEW[1]], np.float64)
    length = float(np.linalg.norm(room))
    move = 2 * EASE_SECONDS + (length - EASE_SPEED * EASE_SECONDS) / EASE_SPEED  # seconds one way
    travelled = _eased_distance(t - EASE_REST, length) - _eased_distance(t - 2 * EASE_REST - move, length)
    x, y = room / length * travelled
    return _translate(-round(x), -round(y))


def zoom(t: float) -> np.ndarray:
    return view_of((427, 240), 1 + 0.4 * _rise_and_fall(t))


def roll(t: float) -> np.ndarray:
    return view_of((427, 240), 1.0, 8 * math.sin(2 * math.pi * t / PERIOD))


def combined(t: float) -> np.ndarray:
    centre = 427 + 60 * math.sin(2 * math.pi * t / 16.0), 240 + 25 * math.sin(2 * math.pi * t / 11.0)
    return view_of(centre, 1.15 + 0.25 * _rise_and_fall(t), 8 * math.sin(2 * math.pi * t / PERIOD))


def forward(t: float) -> np.ndarray:
    """Riding forward and back over a ground plane: a point ``y`` below the vanishing point (scene
    (427, 40), above the view) moves to ``y / (1 - k y)``, x likewise: the scene spreads out from the
    vanishing point, the more the lower (1.4x at the view's bottom at the cycle's height)."""
    k = 0.000752 * _rise_and_fall(t)
    spread = _translate(427, 40) @ np.array([[1, 0, 0], [0, 1, 0], [0, -k, 1.0]]) @ _translate(-427, -40)
    return view_of((427, 240)) @ spread


def held(clip, at: float = 0.0):
    """The view of ``clip`` at time ``at``, held still: what the clip would show a fixed camera."""
    def still(t: float) -> np.ndarray:
        return clip(at)
    return still


def centre(t: float) -> np.ndarray:
    """The view of the middle of the scene (whole-pixel offsets), where the pans pass and the zoom centres."""
    return _translate(-((SCENE[0] - VIEW[0]) // 2), -((SCENE[1] - VIEW[1]) // 2))


CLIPS = {"pan": pan, "zoom": zoom, "roll": roll, "combined": combined, "forward": forward, "easing_pan": easing_pan,
         "easing_pan_still": held(easing_pan), "combined_still": held(combined), "centre_still": centre,
         "easing_pan_end_still": held(easing_pan, 9.0)}
DEFORMING = ("zoom", "roll", "combined", "forward")  # where a translation cannot describe the motion
# clip -> views held still: the clip's own first view, the middle of the scene that it moves around, the
# easing pan's far end (where it rests from 8.9 s)
STILL_OF = {"easing_pan": ("easing_pan_still", "centre_still", "easing_pan_end_still"),
            "combined": ("combined_still", "centre_still")}


def frames(video: str, clip: str, max_frames: int | None):
    """(timestamp, image, scene -> view transform) of each frame: the whole frame, or the clip's view."""
    capture = cv2.VideoCapture(video)
    fps = capture.get(cv2.CAP_PROP_FPS)
    index = 0
    while max_frames is None or index < max_frames:
        ok, image = capture.read()
        if not ok:
            break
        t = index / fps
        if clip == "static":
            yield t, image, np.eye(3)
        else:
            scene_to_view = CLIPS[clip](t)
            yield t, cv2.warpPerspective(image, scene_to_view, VIEW, flags=cv2.INTER_LINEAR), scene_to_view
        index += 1
    capture.release()


class CachedBoxes:
    """The network's boxes of every frame seen, keyed by the frame's content, kept in ``path`` (.npz).

    :meth:`install` puts it in front of an OpenVINO detector's ``detect`` (thread-safe enough for the
    run loop's one network thread: each frame is looked up by its own bytes, in any order)."""

    def __init__(self, path: Path):
        self.path, self.changed = Path(path), False
        self.boxes: dict[str, np.ndarray] = {}
        if self.path.is_file():
            with np.load(self.path) as stored:
                self.boxes = {key: stored[key] for key in stored.files}

    @staticmethod
    def key(frame_bgr: np.ndarray) -> str:
        return hashlib.blake2b(np.ascontiguousarray(frame_bgr).data, digest_size=12).hexdigest()

    def install(self, detector) -> None:
        if not hasattr(detector, "detect"):
            raise SystemExit("caching boxes needs the OpenVINO detector (detector_runtime=auto with openvino installed)")
        network = detector.detect

        def detect(frame_bgr: np.ndarray) -> np.ndarray:
            key = self.key(frame_bgr)
            if key not in self.boxes:
                self.boxes[key], self.changed = network(frame_bgr), True
            return self.boxes[key]

        detector.detect = detect

    def save(self) -> None:
        if self.changed:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(self.path, **self.boxes)
            self.changed = False
