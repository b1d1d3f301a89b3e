"""CPU threads for torch and ONNX Runtime: as many as the cores this process may use, never more.

torch starts one intra-op thread per core it sees, and inside a container that can be the host's cores
rather than the process's CPU quota; more threads than cores made a student fit 25x slower here
(docs/performance.md, "Threads"). ``$OMP_NUM_THREADS`` always wins (torchrun sets it to 1 per rank).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup v2 CPU quota when there is one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cores


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads to ``threads``, or by default to the available cores when
    ``$OMP_NUM_THREADS`` is not set and torch would use more; returns the count in use."""
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1; got {threads}")
        torch.set_num_threads(threads)
    elif "OMP_NUM_THREADS" not in os.environ and torch.get_num_threads() > available_cores():
        torch.set_num_threads(available_cores())
    return torch.get_num_threads()
