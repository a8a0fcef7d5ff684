"""Errors that the CLI turns into a one-line message and a non-zero exit, and the warning for bad input
that was worked around."""


class TrajpipeError(Exception):
    """A user-facing error: bad input, missing file, invalid config. The message is the whole story."""


class TrajpipeWarning(UserWarning):
    """Bad input that trajpipe worked around (a dropped sample, implausible timestamps). Filter it like
    any warning: ``warnings.simplefilter("error", TrajpipeWarning)`` makes it an exception."""


def first_line(exc: BaseException) -> str:
    """A short reason for ``exc``: its message's first line, or its type when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
