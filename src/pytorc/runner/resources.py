"""What this machine offers a runner: CPUs, memory, GPUs (flags override detection)."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass


@dataclass
class Resources:
    num_cpus: int
    memory_gb: float
    num_gpus: int
    num_nodes: int = 1


def detect_gpus() -> int:
    """NVIDIA GPUs visible to this process (CUDA_VISIBLE_DEVICES wins), else 0."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    if shutil.which("nvidia-smi") is None:
        return 0
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


def detect(
    num_cpus: int | None = None, memory_gb: float | None = None, num_gpus: int | None = None
) -> Resources:
    """This machine's resources; any argument given replaces the detected value."""
    cpus = num_cpus if num_cpus is not None else len(os.sched_getaffinity(0))
    memory = memory_gb if memory_gb is not None else total_memory_bytes() / 1024**3
    gpus = num_gpus if num_gpus is not None else detect_gpus()
    return Resources(num_cpus=cpus, memory_gb=round(memory, 3), num_gpus=gpus)


def total_memory_bytes() -> int:
    """Physical memory: sysconf where it answers (Linux, without importing psutil), else psutil."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        import psutil

        return int(psutil.virtual_memory().total)
