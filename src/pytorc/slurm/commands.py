"""The Slurm commands pytorc runs (sbatch, squeue, scancel), each with a clear error."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

TIMEOUT_SECONDS = 60.0


class SlurmError(RuntimeError):
    """A Slurm command was missing, failed or answered something unexpected."""


# Never handed to Slurm: sbatch copies the caller's environment into the job (and Slurm's
# state files); runners get their credentials from TORC_CREDENTIALS_FILE instead.
SECRET_VARIABLES = ("TORC_PASSWORD",)


def run_command(argv: list[str]) -> str:
    """Run a Slurm command; its standard output, or SlurmError saying what went wrong."""
    if shutil.which(argv[0]) is None:
        raise SlurmError(f"{argv[0]} not found: is Slurm installed and on PATH?")
    try:
        env = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env=env
        )
    except subprocess.TimeoutExpired as exc:
        raise SlurmError(f"{argv[0]} did not answer within {TIMEOUT_SECONDS:g} s") from exc
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip() or f"exit code {done.returncode}"
        raise SlurmError(f"{' '.join(argv[:2])} failed: {why}")
    return done.stdout


def submit(script: Path, hold: bool = False) -> str:
    """Submit an sbatch script (held until release(), with `hold`); the new Slurm job id."""
    out = run_command(["sbatch", "--parsable", *(["--hold"] if hold else []), str(script)]).strip()
    job_id = out.split(";")[0]  # --parsable: "id" or "id;cluster"
    if not job_id.isdigit():
        raise SlurmError(f"sbatch answered {out!r}, not a job id")
    return job_id


def end_time(job_id: str) -> float | None:
    """When Slurm will end the job (epoch seconds); None if it has no limit or is gone."""
    out = run_command(["squeue", "-h", "-j", job_id, "-o", "%e"]).strip()
    if not out or out in ("N/A", "NONE", "Unknown"):
        return None
    try:
        return datetime.fromisoformat(out).timestamp()  # local time, as squeue prints it
    except ValueError as exc:
        raise SlurmError(f"squeue gave an end time pytorc cannot read: {out!r}") from exc


# States of a job Slurm still runs or will run; squeue -j also lists finished jobs for a while.
LIVE_STATES = frozenset(
    {
        "PENDING",
        "CONFIGURING",
        "RUNNING",
        "COMPLETING",
        "SUSPENDED",
        "REQUEUED",
        "REQUEUE_HOLD",
        "REQUEUE_FED",
        "RESIZING",
        "SIGNALING",
        "STAGE_OUT",
    }
)


def queue_states(job_ids: list[str]) -> dict[str, str]:
    """The state of each job Slurm still runs or will run; the others are gone."""
    if not job_ids:
        return {}
    try:
        out = run_command(["squeue", "-h", "-j", ",".join(job_ids), "-o", "%i %T"])
    except SlurmError as exc:
        if "Invalid job id" not in str(exc) or len(job_ids) == 1:
            if "Invalid job id" in str(exc):
                return {}  # purged from the controller: long gone
            raise
        return {k: v for one in job_ids for k, v in queue_states([one]).items()}
    states = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    return {job: state for job, state in states.items() if state in LIVE_STATES}


def release(job_id: str) -> None:
    """Let a job submitted with hold=True start."""
    run_command(["scontrol", "release", job_id])


def cancel(job_ids: list[str]) -> None:
    """scancel the jobs (those already gone are ignored by Slurm)."""
    if job_ids:
        run_command(["scancel", *job_ids])
