"""The camera's own motion, estimated once per frame: it keeps track histories fixed in the scene
(see :mod:`trajpipe.core.frames`) and moves the tracker's Kalman states with the view
(:mod:`trajpipe.tracking.kalman_warp`).

:class:`CameraMotion` registers each frame against a *keyframe*, not only against the previous
frame (norfair's ``MotionEstimator`` does the same): Shi-Tomasi corners of the keyframe, taken
outside the tracked boxes, are followed from frame to frame by pyramidal Lucas-Kanade flow on a
downscaled frame, and the keyframe -> frame transform is fitted robustly (RANSAC, OpenCV) to where
they started and where they are now (:mod:`.motion_models`). The transform is the simplest of translation, similarity
(zoom, roll), affine and homography (perspective: a camera riding forward) that the points support
(:func:`choose_model`). Chaining per-frame fits adds up their errors (GMC's similarity, chained,
drifted 86 px in 8 s on the concourse); against a keyframe the errors do not add up until the
keyframe changes, which happens only when too few of its corners are left (gone out of view, or
covered by people). A camera that has not moved gets exactly the identity (nothing to map, nothing
to warp), and a still camera is then checked only every ``STILL_CHECK_EVERY`` frames.
"""
from __future__ import annotations

import numpy as np

from .motion_models import MIN_POINTS, MODELS, apply_points, choose_model, corner_motion

FLOW_WIDTH = 320  # pixels: frames are downscaled by an integer factor to between this and twice this width
MAX_CORNERS, CORNER_QUALITY, CORNER_DISTANCE = 100, 0.002, 8  # Shi-Tomasi corners of a keyframe (downscaled px)
REKEY_SHARE = 0.3  # a keyframe whose corners are found (as inliers) fewer than this share of times is replaced
STILL_PX = 0.25  # full-size pixels: a transform moving no image corner further is taken as the identity
STILL_SPEED = 0.3  # full-size pixels a frame at the image corners: slower, the camera counts as still (held for
# up to STILL_CHECK_EVERY - 1 frames: at most 0.6 px behind; the concourse camera tilts by 0.05-0.16 px a frame)
STILL_AFTER = 10  # frames the camera must stay still before it is checked only every STILL_CHECK_EVERY frames
STILL_CHECK_EVERY = 3  # frames between checks of a still camera (a pan that starts is caught within this)


class CameraMotion:
    """The camera's motion, estimated once per frame on a downscaled image (see the module docstring).

    After :meth:`update`: ``reference_to_current`` (3, 3) maps the reference frame's pixels (the
    coordinates the histories are kept in) to this frame's; ``rebased`` is None, or the (3, 3)
    transform from the old reference to the new one when the reference moved with this frame (the
    histories must then be moved, see :meth:`~trajpipe.tracking.history.TrackHistories.remap`);
    ``model`` is the last fitted model's name.

    The reference moves to the current frame when the keyframe changes (the view has moved on: a
    long pan, a zoom, a ride forward, where old reference pixels would be far off-screen or squeezed)
    and, on a still camera, whenever a check finds that it moved a little (so that the reference is
    the current view and nothing needs mapping). A reference moved from estimates against the same
    keyframe does not drift: the moves multiply to the keyframe -> frame estimate of the last one.

    ``models``: the models to choose from, simplest first (``("translation",)``: a translation only).
    """

    def __init__(self, models: tuple[str, ...] = MODELS):
        unknown = set(models) - set(MODELS)
        if not models or unknown:
            raise ValueError(f"models must be some of {MODELS}, got {models}")
        self.models = tuple(models)
        self._size = None  # full-size (height, width) of the frames followed
        self.reset()

    def reset(self) -> None:
        """Start again: the next frame becomes the reference frame."""
        self.reference_to_current = _IDENTITY  # (3, 3) reference pixels -> current pixels
        self.rebased: np.ndarray | None = None
        self.model = "translation"
        self._size = None
        self._scale = np.eye(3)  # downscaled -> full-size pixels
        self._image = None  # the last frame registered (downscaled grey)
        self._key_points = None  # (N, 2) corners of the keyframe (downscaled pixels), None until taken
        self._followed = None  # (N, 2) where each of them is in the last frame registered
        self._key_count = 0  # corners the keyframe started with
        self._key_to_current = _IDENTITY  # (3, 3) keyframe pixels -> current pixels (full size)
        self._reference_to_key = _IDENTITY
        self._boxes = np.empty((0, 4))  # the last frame's tracked boxes (full-size pixels), grown
        self._still_frames = 0  # consecutive frames that moved less than STILL_SPEED
        self._last_warp = np.eye(3)  # the last frame's motion (previous -> current), to predict this one's
        self._frames_since_check = 0

    @property
    def still(self) -> bool:
        """Whether the current view is exactly the reference frame (nothing to map)."""
        return self.reference_to_current is _IDENTITY

    def update(self, frame_bgr: np.ndarray) -> np.ndarray:
        """The (3, 3) transform from the previous frame's pixels to this frame's (identity on the first)."""
        self.rebased = None
        if frame_bgr.shape[:2] != self._size:
            # first frame, or a camera that came back at another size: nothing to follow, start over
            self.reset()
            self._size = frame_bgr.shape[:2]
            factor = max(1, frame_bgr.shape[1] // FLOW_WIDTH)
            # downscaled pixel i covers full-size pixels [factor i, factor (i + 1)): its centre is at factor i + (factor - 1) / 2
            self._scale = np.array([[factor, 0, (factor - 1) / 2], [0, factor, (factor - 1) / 2], [0, 0, 1.0]])
            self._image = self._grey(frame_bgr)
            return np.eye(3)
        if self._still_frames >= STILL_AFTER:  # a still camera is checked every few frames only
            self._frames_since_check += 1
            if self._frames_since_check < STILL_CHECK_EVERY:
                return np.eye(3)
            elapsed, self._frames_since_check = self._frames_since_check, 0
        else:
            elapsed = 1
        previous = self.reference_to_current
        current = self._register(self._grey(frame_bgr))  # in the reference before any re-keying
        warp = current @ np.linalg.inv(previous)
        warp /= warp[2, 2]
        self._last_warp = warp if elapsed == 1 else np.eye(3)
        size = self._size[1], self._size[0]
        if corner_motion(warp, size) < STILL_SPEED * elapsed:
            self._still_frames += elapsed
        else:
            self._still_frames = self._frames_since_check = 0
        if self._key_points is None:  # re-keyed: the reference moved to this frame already
            return warp
        if self._still_frames < STILL_AFTER:
            self.reference_to_current = current
            return warp
        if previous is _IDENTITY and corner_motion(current, size) < STILL_PX:
            return np.eye(3)  # too little motion to act on: the view stays the reference
        self._move_reference(current)  # the view becomes the reference: nothing to map until it moves
        return warp

    def _move_reference(self, reference_to_current: np.ndarray) -> None:
        """The current frame becomes the histories' reference (``rebased``: old reference -> it)."""
        if reference_to_current is not _IDENTITY and corner_motion(reference_to_current, (self._size[1], self._size[0])) > 0:
            self.rebased = reference_to_current
        self._reference_to_key = _IDENTITY if self._key_to_current is _IDENTITY else np.linalg.inv(self._key_to_current)
        self.reference_to_current = _IDENTITY

    def _grey(self, frame_bgr: np.ndarray) -> np.ndarray:
        import cv2

        grey = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY) if frame_bgr.ndim == 3 else frame_bgr
        factor = int(self._scale[0, 0])
        if factor == 1:
            return grey
        return cv2.resize(grey, (grey.shape[1] // factor, grey.shape[0] // factor), interpolation=cv2.INTER_AREA)

    def _register(self, grey: np.ndarray) -> np.ndarray:
        """This frame against the keyframe: the reference -> this frame transform, from the new
        ``_key_to_current``. The keyframe's corners are followed from frame to frame (small steps,
        which Lucas-Kanade follows closely whatever the zoom or roll since the keyframe), and the
        keyframe -> frame transform is fitted to where they started and where they are now. A corner
        once covered by an object or off the camera's motion is dropped for good, so objects that pass
        over the background do not drag it along. This frame becomes the keyframe, and the
        reference, when too few of the old keyframe's corners are left."""
        import cv2

        if self._key_points is None:  # exclude() was not called after the keyframe: corners outside the last boxes
            self._take_key_corners()
        previous_image, self._image = self._image, grey
        if self._key_points is None or len(self._key_points) < MIN_POINTS:
            return self._make_key()
        to_small, to_full = np.linalg.inv(self._scale), self._scale
        guess = apply_points(to_small @ self._last_warp @ to_full, self._followed).astype(np.float32)
        found, status, _ = cv2.calcOpticalFlowPyrLK(previous_image, grey, self._followed.astype(np.float32), guess,
                                                    winSize=(15, 15), maxLevel=2, flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
        found = found.reshape(-1, 2).astype(np.float64)
        keep = status.ravel().astype(bool) & ~self._in_boxes(found @ to_full[:2, :2].T + to_full[:2, 2])
        size = grey.shape[1], grey.shape[0]
        # a still camera's check needs only to see whether it moved: the simpler models, the cheaper RANSAC
        # (unless the keyframe's transform is already a more general one, which a simpler one would jolt)
        simple = self.models[:2]
        models = simple if self._still_frames >= STILL_AFTER and self.model in simple else self.models
        fit = choose_model(self._key_points[keep], found[keep], size, models)
        if fit is None:  # lost (a cut, a blur, the view covered): keep the last estimate, start a new keyframe
            return self._make_key()
        self.model = fit.model
        # corners off the camera's motion are on something that moves on its own (or LK slipped): dropped for good
        keep[keep] = fit.inliers
        self._key_points, self._followed = self._key_points[keep], found[keep]
        key_to_current = to_full @ fit.matrix @ to_small
        key_to_current /= key_to_current[2, 2]
        if corner_motion(key_to_current, size=(self._size[1], self._size[0])) < STILL_PX:
            key_to_current = _IDENTITY  # exactly: a camera that has not moved neither drifts nor needs mapping
        self._key_to_current = key_to_current
        if fit.count < max(2 * MIN_POINTS, REKEY_SHARE * self._key_count):
            return self._make_key()
        return _then(self._reference_to_key, key_to_current)

    def _make_key(self) -> np.ndarray:
        """The last frame registered becomes the keyframe (its corners are taken in :meth:`exclude`,
        outside that frame's boxes) and the histories' reference; returns the old reference -> this
        frame transform."""
        reference_to_current = _then(self._reference_to_key, self._key_to_current)
        self._move_reference(reference_to_current)
        self._key_points = self._followed = None
        self._key_count = 0
        self._key_to_current = self._reference_to_key = _IDENTITY
        return reference_to_current

    def exclude(self, boxes_xyxy: np.ndarray, margin: float = 0.1) -> None:
        """The (N, 4) pixel boxes of the current frame's objects (grown by ``margin`` of their size):
        a new keyframe takes its corners outside them, and the next frame's flow ignores points that
        land in them (a crowd walking one way would otherwise read as the camera moving the other)."""
        boxes = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
        grow = margin * (boxes[:, 2:] - boxes[:, :2])
        self._boxes = np.hstack([boxes[:, :2] - grow, boxes[:, 2:] + grow])
        if self._image is not None and self._key_points is None:
            self._take_key_corners()

    def _take_key_corners(self) -> None:
        self._key_points = self._followed = self._corners(self._image)
        self._key_count = 0 if self._key_points is None else len(self._key_points)

    def _corners(self, grey: np.ndarray) -> np.ndarray | None:
        """(N, 2) Shi-Tomasi corners (downscaled pixels) of ``grey`` outside the last boxes."""
        import cv2

        mask = np.full(grey.shape, 255, np.uint8)
        to_small = np.linalg.inv(self._scale)
        for x1, y1, x2, y2 in np.round(self._boxes * to_small[0, 0] + to_small[0, 2]).astype(int).clip(0).tolist():
            mask[y1:y2 + 1, x1:x2 + 1] = 0
        corners = cv2.goodFeaturesToTrack(grey, maxCorners=MAX_CORNERS, qualityLevel=CORNER_QUALITY,
                                          minDistance=CORNER_DISTANCE, mask=mask, blockSize=3)
        return None if corners is None else corners.reshape(-1, 2).astype(np.float64)

    def _in_boxes(self, points: np.ndarray) -> np.ndarray:
        """(N,) whether each of the (N, 2) full-size points lies in one of the last boxes."""
        boxes = self._boxes
        if not len(boxes):
            return np.zeros(len(points), bool)
        x, y = points[:, :1], points[:, 1:]
        return ((x >= boxes[:, 0]) & (x <= boxes[:, 2]) & (y >= boxes[:, 1]) & (y <= boxes[:, 3])).any(axis=1)


_IDENTITY = np.eye(3)
_IDENTITY.flags.writeable = False  # shared: a still camera's transform, recognised by identity (``is``)


def _then(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``second @ first``, and the shared identity itself when both are (see ``CameraMotion.still``)."""
    if first is _IDENTITY:
        return second
    return first if second is _IDENTITY else second @ first
