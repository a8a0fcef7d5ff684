"""Drawing results onto frames: small annotators, each one ``annotate(image, result)``, composed by an
:class:`Overlay` in the order given (as supervision's annotators are)."""

from .annotators import Annotator, Boxes, Forecasts, Hud, ModePaths, SigmaRings, Trails, track_colour
from .overlay import Overlay

__all__ = ["Annotator", "Boxes", "Forecasts", "Hud", "ModePaths", "Overlay", "SigmaRings", "Trails", "track_colour"]
