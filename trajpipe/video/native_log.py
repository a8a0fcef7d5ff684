"""Keep inference runtimes' own C++ log lines off the user's terminal.

The TFLite runtime (ai-edge-litert) prints ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.``
on file descriptor 2 when the detector's first inference sets up its backend. It logs through TFLite's
minimal logger, which reads no environment variable (``TF_CPP_MIN_LOG_LEVEL`` does not reach it) and
whose level is not exported from the library: the only handle is the file descriptor itself.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import Iterator

# fd 2 is the process's: one block at a time, or a second thread would save the first one's redirection
# as "the terminal" and restore it at its end, and every later line would be lost.
_FD2 = threading.Lock()
# Runtime chatter that says nothing a user can act on.
RUNTIME_NOISE = re.compile(r"^INFO: (Created TensorFlow Lite .*delegate|Initialized TensorFlow Lite runtime)")


@contextmanager
def quiet_runtime_log(noise: re.Pattern = RUNTIME_NOISE) -> Iterator[None]:
    """Hold back what is written to file descriptor 2 inside the block (C++ runtimes and Python alike)
    and pass every line on afterwards except the ``noise`` ones, so warnings and errors still show.

    Call it around the step that sets a runtime up, e.g. a detector's load and first inference. Blocks
    of several threads run one after the other. Where fd 2 cannot be redirected (no such descriptor, an
    embedding host), it does nothing.
    """
    with _FD2:
        yield from _held_fd2(noise)


def _held_fd2(noise: re.Pattern) -> Iterator[None]:
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().decode(errors="replace").splitlines(keepends=True)
                    if not noise.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
