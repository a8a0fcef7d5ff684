"""The ``device`` config key checked before any model loads: a CUDA device this machine does not have
is one clear line naming it, not a failure of the detector's first frame."""

from __future__ import annotations

from ..errors import TrajpipeError


def cuda_indices(device: str | int | None) -> list[int]:
    """The CUDA device indices ``device`` asks for, as Ultralytics reads it (``0``, ``0,1``, ``cuda``,
    ``cuda:1``); empty for the CPU, Apple's ``mps`` and anything else Ultralytics decides itself.

    Args:
        device: the config key's value.

    Returns:
        The indices, e.g. ``[0]`` for ``cuda:0``.
    """
    text = str(device).strip().lower().replace(" ", "") if device is not None else ""
    if text == "cuda":
        return [0]
    items = text.removeprefix("cuda:").split(",")
    return [int(item) for item in items] if items and all(item.isdigit() for item in items) else []


def check_device(device: str | int | None) -> None:
    """Fail now when ``device`` names a CUDA device that torch cannot see.

    Args:
        device: the config key's value (None: Ultralytics' choice).

    Raises:
        TrajpipeError: no CUDA on this machine, or fewer devices than asked for.
    """
    wanted = cuda_indices(device)
    if not wanted:
        return
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if max(wanted) >= count:
        seen = "no CUDA device on this machine" if count == 0 else f"this machine has CUDA devices 0..{count - 1}"
        raise TrajpipeError(f"device={device}: {seen}; use device=cpu or leave device unset")
