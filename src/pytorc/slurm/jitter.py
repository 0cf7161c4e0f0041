"""Startup jitter: when many runners start at once, each waits its own share of a window before
its first request, so the server sees a spread of arrivals instead of one burst."""

from __future__ import annotations

import hashlib

MAX_WINDOW_SECONDS = 60.0


def runner_count(allocations: int, nodes_per_allocation: int, one_worker_per_node: bool) -> int:
    """How many runners start: one per allocation, or one per node of every allocation."""
    return allocations * (nodes_per_allocation if one_worker_per_node else 1)


def delay_window(runners: int) -> float:
    """The window in seconds: 0 for one runner, 2-10 s for 2-10 (one second each), 10-60 s
    rising linearly across 11-100, 60 s above."""
    if runners <= 1:
        return 0.0
    if runners <= 10:
        return float(runners)
    if runners <= 100:
        return 10.0 + (runners - 10) * 50.0 / 90.0
    return MAX_WINDOW_SECONDS


def startup_delay(window: float, hostname: str, slurm_job_id: str, node_id: str, pid: int) -> float:
    """This runner's delay within `window`: the same inputs always give the same delay, and
    runners that differ in any input spread evenly over [0, window)."""
    if window <= 0:
        return 0.0
    key = f"{hostname}\0{slurm_job_id}\0{node_id}\0{pid}".encode()
    fraction = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64
    return fraction * window
