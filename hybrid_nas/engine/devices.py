"""Where torch work runs: ``cpu``, ``cuda``, ``cuda:N`` or ``mps``, checked once and before any work, so a
missing GPU is one line rather than a failed trial per candidate."""

from __future__ import annotations

import torch

from hybrid_nas.engine.errors import ConfigError


def resolve_device(name: str = "cpu", flag: str = "--device") -> torch.device:
    """``name`` as a torch device, or a one-line error (naming ``flag``) where it is absent."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; expected cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"{flag} {name}: torch sees no CUDA GPU here; use {flag} cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"{flag} {name}: torch sees {torch.cuda.device_count()} CUDA GPU(s)")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"{flag} {name}: MPS is not available here; use {flag} cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unknown device {name!r}; expected cpu, cuda, cuda:N or mps")
    return device


def ultralytics_device(name: str) -> str:
    """The same device in ultralytics' notation: ``cpu``, ``mps`` or a CUDA index (``0``)."""
    device = resolve_device(name)
    return str(device.index or 0) if device.type == "cuda" else device.type


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work: a GPU timing without it measures only the kernel launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def describe(device: torch.device) -> str:
    """A human name for a latency table's device."""
    import platform

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.machine()} {platform.processor() or ''}".strip() + ("" if device.type == "cpu" else " (mps)")
