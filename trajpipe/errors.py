"""Errors that the CLI turns into a one-line message and a non-zero exit."""


class TrajpipeError(Exception):
    """A user-facing error: bad input, missing file, invalid config. The message is the whole story."""


def first_line(exc: BaseException) -> str:
    """A short reason for ``exc``: its message's first line, or its type when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
