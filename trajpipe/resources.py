"""The files an installed trajpipe carries (package data), found wherever it is installed.

The default config, the tracker settings and the default forecaster checkpoint live inside the
package (``trajpipe/cfg/``, ``trajpipe/weights/``) and are read through :mod:`importlib.resources`, so
a wheel installed anywhere runs at its defaults from any directory. Users know them by their
repository names (``configs/tracker.yaml``, ``weights/forecaster.pt``): in the repository those are
links to the packaged files (one copy of each), and a path a user gives is always read from the
working directory first.
"""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from importlib.resources import as_file, files
from pathlib import Path

from .errors import TrajpipeError

# the names configs and docs use -> the file inside the package
PACKAGED = {
    "configs/default.yaml": "cfg/default.yaml",
    "configs/tracker.yaml": "cfg/tracker.yaml",
    "weights/forecaster.pt": "weights/forecaster.pt",
}
# files only the package has (no repository name)
PACKAGE_ONLY = {
    "calibration_frame.jpg": "cfg/calibration_frame.jpg",  # the real frame detector runtimes are timed on
}

# A package imported from a zip archive has no files on disk: as_file extracts them to temporary
# files, which must live as long as the process may read them.
_extracted = ExitStack()
atexit.register(_extracted.close)


def packaged_file(name: str) -> Path:
    """The shipped file known as ``name`` (a key of :data:`PACKAGED` or :data:`PACKAGE_ONLY`), as a path on disk."""
    resource = files("trajpipe").joinpath(PACKAGED.get(name) or PACKAGE_ONLY[name])
    if isinstance(resource, Path):
        return resource
    return _extracted.enter_context(as_file(resource))


def resolve(spec: str | Path) -> Path:
    """``spec`` as given when it exists (a relative path: from the working directory); else, for a name
    of :data:`PACKAGED`, the file the package ships; else ``spec`` as given (for the caller to report)."""
    path = Path(spec)
    if path.exists() or path.as_posix() not in PACKAGED:
        return path
    shipped = packaged_file(path.as_posix())
    return shipped if shipped.is_file() else path


def existing_file(spec: str | Path, what: str, hint: str = "") -> Path:
    """The file ``spec`` names (see :func:`resolve`), or a :class:`TrajpipeError` saying it is missing.

    Args:
        spec: a path as the user gave it (relative: from the working directory), or a shipped name.
        what: what the file is, for the message (``"forecaster checkpoint"``).
        hint: what to do instead, added to the message in brackets.

    Returns:
        The path of the existing file.

    Raises:
        TrajpipeError: ``"<what> not found: <path> (<hint>)"``.

    Example:
        >>> existing_file("configs/default.yaml", "config file").name
        'default.yaml'
    """
    path = resolve(spec)
    if not path.is_file():
        raise TrajpipeError(f"{what} not found: {path}" + (f" ({hint})" if hint else ""))
    return path


def source_checkout() -> Path | None:
    """The repository this trajpipe is imported from (a clone or an editable install), or None for an
    installed package: the directory above the package, when it holds a pyproject.toml."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None
