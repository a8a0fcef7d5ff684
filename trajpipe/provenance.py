"""Where a measured figure comes from: the date, the command, the machine and its load, recorded with
the figures in every results file (``docs/results/*.json``, rendered into the pages by ``docs/render.py``)."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from datetime import date
from pathlib import Path


def machine() -> str:
    """``"2 x AMD EPYC 7B13, x86_64, Python 3.11.9"``: the CPU model and count this process sees."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:  # not Linux
        pass
    return f"{os.cpu_count()} x {cpu}, {platform.machine()}, Python {platform.python_version()}"


def provenance(command: list[str] | None = None) -> dict:
    """``date``, ``command`` (default: this process's, as typed from the repository root), ``machine``
    and ``load_average`` (1, 5 and 15 min; null where the OS has none) of a measurement made now."""
    if command is None:
        script = Path(sys.argv[0])
        if script.name in ("trajpipe", "__main__.py"):  # the console script or python -m trajpipe
            name = "trajpipe"
        else:
            name = script.relative_to(Path.cwd()) if script.is_absolute() and Path.cwd() in script.parents else script
            name = f"python {name.as_posix()}"
        command = [name, *sys.argv[1:]]
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        load = None
    return {"date": date.today().isoformat(), "command": " ".join([command[0], *map(shlex.quote, command[1:])]),
            "machine": machine(), "load_average": load}
