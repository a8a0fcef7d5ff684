"""An overlay: an ordered list of annotators drawn onto a result's frame."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..core.results import FrameResult
from .annotators import Annotator, Boxes, Forecasts, Hud, ModePaths, SigmaRings, Trails


class Overlay:
    """``Overlay([Trails(), Forecasts(), Boxes()])`` draws its annotators in that order (later ones on
    top). :meth:`from_config` builds trajpipe's default list."""

    def __init__(self, annotators: Sequence[Annotator]):
        self.annotators = list(annotators)

    @classmethod
    def from_config(cls, config, hud_lines=None) -> "Overlay":
        """The layers the config keys ask for: trails (``trail_seconds``), alternative modes, the 1-sigma
        rings (``draw_uncertainty``), the most likely forecasts, boxes (``draw_boxes``) and the HUD
        (``draw_hud``; ``hud_lines`` as for :class:`Hud`)."""
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
        """Draw every annotator onto ``image`` (in place; pass ``result.image.copy()`` to keep the frame)."""
        for annotator in self.annotators:
            image = annotator.annotate(image, result)
        return image
