"""An overlay: an ordered list of annotators drawn onto a result's frame."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..core.results import FrameResult
from .annotators import Annotator, Boxes, Forecasts, Hud, ModePaths, SigmaRings, Trails


class Overlay:
    """Annotators drawn in the order given (later ones on top). :meth:`from_config` builds trajpipe's
    default list.

    Args:
        annotators: each with ``annotate(image, result)`` (:class:`~trajpipe.draw.Annotator`).

    Example:
        >>> overlay = Overlay([Trails(seconds=3.0), Forecasts(), Boxes()])
        >>> overlay.draw(result.image, result)  # doctest: +SKIP
    """

    def __init__(self, annotators: Sequence[Annotator]):
        self.annotators = list(annotators)

    @classmethod
    def from_config(cls, config, hud_lines=None) -> "Overlay":
        """The layers the config keys ask for: trails (``trail_seconds``), alternative modes, the 1-sigma
        rings (``draw_uncertainty``), the most likely forecasts, boxes (``draw_boxes``) and the HUD
        (``draw_hud``).

        Args:
            config: a :class:`~trajpipe.config.Config`.
            hud_lines: the HUD's text of a result, as :class:`Hud` takes it (None: its default).

        Returns:
            The overlay.
        """
        layers: list[Annotator] = []
        if config.trail_seconds > 0:
            layers.append(Trails(config.trail_seconds))
        layers.append(ModePaths())
        if config.draw_uncertainty:
            layers.append(SigmaRings())
        layers.append(Forecasts())
        if config.draw_boxes:
            layers.append(Boxes())
        if config.draw_hud:
            layers.append(Hud(hud_lines))
        return cls(layers)

    def draw(self, image: np.ndarray, result: FrameResult) -> np.ndarray:
        """Draw every annotator onto ``image``.

        Args:
            image: (H, W, 3) uint8 BGR frame, drawn on in place (pass ``result.image.copy()`` to keep it).
            result: the frame's result.

        Returns:
            ``image``.
        """
        for annotator in self.annotators:
            image = annotator.annotate(image, result)
        return image
