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


class Interrupted(KeyboardInterrupt):
    """Stopped by a signal (SIGINT: Ctrl-C, SIGTERM: a job scheduler) after the outputs were settled;
    the message says what was kept. The command line exits ``128 + signum`` (130, 143), as a shell does."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


def library_reason(exc: BaseException) -> str:
    """What a library's error says is wrong, in one line: the first line that is not a location header
    (OpenVINO's ``Exception from src/...:84:`` and ``Check '...' failed at ...:82:`` end in a colon and
    put the reason on a later line), without Ultralytics' ``ERROR ❌️`` prefix; :func:`first_line` when
    every line is a header.

    Args:
        exc: the library's exception.

    Returns:
        One line of its message.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = next((line for line in lines if not line.endswith(":")), None) or first_line(exc)
    return reason.removeprefix("ERROR").lstrip(" ❌️\ufe0f").strip()
