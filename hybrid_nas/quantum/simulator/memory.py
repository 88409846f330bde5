"""Memory and threads: what a simulation may allocate on its device, and how many torch threads pay off."""

from __future__ import annotations

import torch

from hybrid_nas.engine.scoped import torch_threads

SMALL_STATE = 1 << 16  # below this many amplitudes per batch, intra-op threads only add hand-offs


def available_memory(device: torch.device) -> int:
    """Bytes free for new tensors on ``device`` now."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    import psutil

    return psutil.virtual_memory().available  # free plus reclaimable cache, on every OS


def threads_for(amplitudes: int):
    """One torch thread for small states, restored after: there intra-op threads only add hand-offs, and
    with the other core busy one 4-qubit step took 0.48 s instead of ~5 ms. Large states keep them."""
    return torch_threads(1 if amplitudes < SMALL_STATE else torch.get_num_threads())


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.2f} GiB"
