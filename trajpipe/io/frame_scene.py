"""One frame's geometry and its encoded ROS 2 messages, made once whichever outputs ask for them."""

from __future__ import annotations

from ..core.results import FrameResult
from .ros2_encode import marker_array, predicted_objects
from .scene import PIXEL_SCALE, WorldTrack, pixel_tracks, world_tracks


class FrameScene:
    """One frame's geometry and encoded ROS 2 messages, each made at most once, whichever outputs
    (MCAP, Foxglove live, DDS) ask for them.

    Args:
        result: the frame's result.

    Attributes:
        result: as given.
        shared: other outputs' encodings of this frame, by a key of theirs (a frame's MCAP topics).
    """

    def __init__(self, result: FrameResult):
        self.result = result
        self._tracks: dict[bool, list[WorldTrack]] = {}
        self._encoded: dict[tuple, bytes] = {}
        self.shared: dict[tuple, object] = {}  # other outputs' encodings of this frame (a frame's MCAP topics)

    def tracks(self, world: bool) -> list[WorldTrack]:
        """The frame's tracks in one plane, made once for each.

        Args:
            world: True: on the ground / world plane (:func:`world_tracks`); False: in pixels
                (:func:`pixel_tracks`).

        Returns:
            The tracks.
        """
        if world not in self._tracks:
            self._tracks[world] = world_tracks(self.result) if world else pixel_tracks(self.result)
        return self._tracks[world]

    def encoded(self, kind: str, world: bool, frame_id: str) -> bytes:
        """A ROS 2 message of the frame, encoded once for each set of arguments.

        Args:
            kind: ``markers`` (:func:`~trajpipe.io.ros2_encode.marker_array`) or ``objects``
                (:func:`~trajpipe.io.ros2_encode.predicted_objects`).
            world: the tracks on the ground / world plane, else in pixels (markers :data:`PIXEL_SCALE`
                larger).
            frame_id: the header's frame.

        Returns:
            The message's CDR bytes, with the encapsulation header.
        """
        key = (kind, world, frame_id)
        if key not in self._encoded:
            encode = marker_array if kind == "markers" else predicted_objects
            self._encoded[key] = encode(self.tracks(world), self.result.timestamp, frame_id,
                                        1.0 if world else PIXEL_SCALE)
        return self._encoded[key]
