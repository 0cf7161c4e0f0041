"""The Slurm commands pytorc runs (sbatch, squeue, scancel), each with a clear error."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from pathlib import Path

TIMEOUT_SECONDS = 60.0


class SlurmError(RuntimeError):
    """A Slurm command was missing, failed or answered something unexpected."""


def _run(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        raise SlurmError(f"{argv[0]} not found: is Slurm installed and on PATH?")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as exc:
        raise SlurmError(f"{argv[0]} did not answer within {TIMEOUT_SECONDS:g} s") from exc
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip() or f"exit code {done.returncode}"
        raise SlurmError(f"{' '.join(argv[:2])} failed: {why}")
    return done.stdout


def submit(script: Path) -> str:
    """Submit an sbatch script; the new Slurm job id."""
    out = _run(["sbatch", "--parsable", str(script)]).strip()
    job_id = out.split(";")[0]  # --parsable: "id" or "id;cluster"
    if not job_id.isdigit():
        raise SlurmError(f"sbatch answered {out!r}, not a job id")
    return job_id


def end_time(job_id: str) -> float | None:
    """When Slurm will end the job (epoch seconds); None if it has no limit or is gone."""
    out = _run(["squeue", "-h", "-j", job_id, "-o", "%e"]).strip()
    if not out or out in ("N/A", "NONE", "Unknown"):
        return None
    try:
        return datetime.fromisoformat(out).timestamp()  # local time, as squeue prints it
    except ValueError as exc:
        raise SlurmError(f"squeue gave an end time pytorc cannot read: {out!r}") from exc


def queue_states(job_ids: list[str]) -> dict[str, str]:
    """The state (PENDING, RUNNING, ...) of each job still in the queue; absent ones are gone."""
    if not job_ids:
        return {}
    out = _run(["squeue", "-h", "-j", ",".join(job_ids), "-o", "%i %T"])
    return dict(line.split(None, 1) for line in out.splitlines() if line.strip())


def cancel(job_ids: list[str]) -> None:
    """scancel the jobs (those already gone are ignored by Slurm)."""
    if job_ids:
        _run(["scancel", *job_ids])
