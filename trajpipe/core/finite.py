"""What counts as a usable number, written once: every entry point checks its inputs with these rules,
so that one bad value is refused or dropped where it comes in and never reaches another track's forecast.

A coordinate (pixels or metres) is usable when it is finite and at most :data:`MAX_COORDINATE` in
magnitude. The bound is far beyond anything a camera or a robot observes (the Earth's circumference is
4e7 m) and far below where float32 maths breaks down: a value like 1e30 is finite in float32, but its
square is inf and the neighbour features of every track near it turn to NaN. Squares and sums of
squares of coordinates within the bound stay below 1e19, and float32 ends at 3.4e38.

Times are seconds: a timestamp only has to be finite (epoch seconds, 1.7e9, are fine); a step
``dt`` must also be positive.
"""

from __future__ import annotations

import math

import numpy as np

MAX_COORDINATE = 1e9  # pixels or metres; see the module's docstring for why
BAD_VALUES = f"NaN, inf or a magnitude over {MAX_COORDINATE:g}"  # what bad_rows refuses, for messages
SHOWN_ROWS = 10  # bad rows listed in an error message (the count is always given)


def bad_rows(values) -> np.ndarray:
    """(N,) bool, True for the rows of ``values`` (N, ...) that hold a NaN, an inf or a magnitude over
    :data:`MAX_COORDINATE`. One vectorised comparison: cheap enough for every frame."""
    ok = np.abs(np.asarray(values)) <= MAX_COORDINATE  # False for NaN as well
    return ~ok.all(axis=tuple(range(1, ok.ndim)))


def rows_text(mask: np.ndarray) -> str:
    """The indices where ``mask`` (N,) is True, for a message: ``"0, 3"``, or the first few and the count."""
    rows = np.flatnonzero(mask)
    text = ", ".join(str(i) for i in rows[:SHOWN_ROWS])
    return text if len(rows) <= SHOWN_ROWS else f"{text}, ... ({len(rows)} in all)"



def check_seconds(value, name: str = "timestamp") -> float:
    """``value`` as float seconds; ValueError unless it is a finite number."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(seconds):
        raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
    return seconds


def check_step(dt) -> float:
    """A time step ``dt`` as float seconds; ValueError unless it is positive and finite."""
    seconds = check_seconds(dt, "dt")
    if seconds <= 0:
        raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")
    return seconds
