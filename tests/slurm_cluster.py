"""The project's real Slurm cluster (scripts/slurm/start-slurm.sh, started by `make test`) for
tests that need one: in CI a test fails when Slurm does not answer, elsewhere it skips."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
START = REPO / "scripts" / "slurm" / "start-slurm.sh"


def _answers() -> str | None:
    """None when sinfo lists idle nodes, else why not."""
    if shutil.which("sinfo") is None:
        return "sinfo is not installed (make test installs Slurm: scripts/slurm/start-slurm.sh)"
    done = subprocess.run(
        ["sinfo", "-h", "-o", "%T %D"], capture_output=True, text=True, timeout=30
    )
    if done.returncode != 0:
        return f"sinfo failed: {done.stderr.strip()[:200]}"
    if "idle" not in done.stdout and "mixed" not in done.stdout:
        return f"no usable Slurm nodes: {done.stdout.strip()!r}"
    return None


def require_slurm() -> None:
    """Fail (in CI) or skip (elsewhere) unless the cluster answers."""
    why = _answers()
    if why is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"Slurm is needed and did not answer: {why}")
    pytest.skip(f"no Slurm cluster: {why}; start one with `bash {START}`")


def wait_for_job(job_id: str, deadline_s: float = 120.0) -> str:
    """The job's final state from sacct, polling until it has left the queue."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        queued = subprocess.run(
            ["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True
        ).stdout.strip()
        if not queued:
            state = subprocess.run(
                ["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            if state and state not in ("PENDING", "RUNNING"):
                return state.splitlines()[0]
        time.sleep(0.5)
    raise AssertionError(f"Slurm job {job_id} did not finish within {deadline_s} s")


def queued_jobs() -> set[str]:
    out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout
    return set(out.split())


def cancel_new_jobs(before: set[str]) -> list[str]:
    """scancel the jobs queued since `before` (what a test left behind), so the next test
    finds the cluster free; the ids canceled."""
    left = sorted(queued_jobs() - before)
    if left:
        subprocess.run(["scancel", *left], capture_output=True)
        deadline = time.monotonic() + 30
        while set(left) & queued_jobs() and time.monotonic() < deadline:
            time.sleep(0.2)
    return left
