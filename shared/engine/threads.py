"""How many threads PyTorch may use in this process: its CPUs shared by its siblings.

PyTorch defaults to one intra-op thread per core of the machine, whatever this process may
use. Two worker children on two cores then run four threads that fight over two cores, and
each runs about ten times slower than alone (measured: 42 s for 16 papers against 4.2 s).
So each process takes the CPUs it may really use (its affinity mask, and a cgroup CPU quota
when a container sets one) divided by the processes that share them, at least one.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

log = logging.getLogger(__name__)

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "<quota> <period>" or "max ..."


def usable_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """CPUs this process may run on: the affinity mask, capped by a cgroup quota if any."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota readable: the mask alone decides
    return max(1, cpus)


def threads_for(sharing: int = 1, override: int = 0, cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """Threads for one of ``sharing`` processes on this process's CPUs (``override`` wins)."""
    if override > 0:
        return override
    return max(1, usable_cpus(cpu_max) // max(1, sharing))


def set_threads(sharing: int = 1, override: int = 0) -> int:
    """Set PyTorch's intra-op threads for this process; returns the count."""
    import torch  # here, so that counting CPUs needs no torch

    threads = threads_for(sharing, override)
    torch.set_num_threads(threads)
    log.info(
        "torch threads: %d (%d usable CPUs shared by %d process(es)%s)",
        threads,
        usable_cpus(),
        sharing,
        ", set by OCCLAB_TORCH_THREADS" if override > 0 else "",
    )
    return threads
