"""Where a measured figure comes from: the date, the command, the machine and its load, recorded with
the figures in every results file (``docs/results/*.json``, rendered into the pages by ``docs/render.py``)."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from datetime import date
from pathlib import Path


def cpu_identity() -> str:
    """The CPU model and its instruction-set flags, ``"model | flag flag ..."`` (what makes one CPU of a
    kind faster than another: AVX2, AVX-512, VNNI, BF16)."""
    model, flags = "", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not model:
                model = value.strip()
            elif key.strip() in ("flags", "Features") and not flags:
                flags = " ".join(sorted(value.split()))
    except OSError:  # not Linux
        pass
    return f"{model or platform.processor() or platform.machine()} | {flags}"


VECTOR_EXTENSIONS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "asimd", "sve")


def cpu_summary() -> str:
    """``"AMD EPYC (avx2)"``: the CPU model and the vector extensions that decide how fast networks run."""
    model, _, flags = cpu_identity().partition(" | ")
    extensions = [f for f in VECTOR_EXTENSIONS if f in flags.split()]
    return f"{model} ({', '.join(extensions) or 'no AVX2'})"


def machine() -> str:
    """``"2 x AMD EPYC 7B13 (avx2, avx512f), x86_64, Python 3.11.9"``: the CPU model, its vector
    extensions and the count of CPUs this process sees."""
    return f"{os.cpu_count()} x {cpu_summary()}, {platform.machine()}, Python {platform.python_version()}"


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
