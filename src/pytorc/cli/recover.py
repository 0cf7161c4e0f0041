"""`torc recover` and `torc watch`: diagnose failures, size the jobs up, and run them again."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from pytorc.cli import output, steady_gc
from pytorc.cli.common import CliState, WorkflowArg, resolve_workflow_id, state
from pytorc.errors import InvalidInput, TorcError

MemoryMultiplier = Annotated[
    float,
    typer.Option("--memory-multiplier", min=1.0, help="Memory factor for out-of-memory jobs."),
]
RuntimeMultiplier = Annotated[
    float,
    typer.Option("--runtime-multiplier", min=1.0, help="Runtime factor for timed-out jobs."),
]
RetryUnknown = Annotated[
    bool,
    typer.Option(
        "--retry-unknown", help="Also retry jobs whose failure is not OOM, timeout or a lost node."
    ),
]
RecoveryHook = Annotated[
    str | None,
    typer.Option(
        "--recovery-hook",
        help="Run this (bash; gets the workflow id as $1 and TORC_WORKFLOW_ID) before retrying;"
        " jobs of unknown cause are then retried too.",
    ),
]
OutputDir = Annotated[
    Path | None, typer.Option("-o", "--output-dir", help="Job output when run here.")
]


def recover(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Diagnose and plan only.")] = False,
    memory_multiplier: MemoryMultiplier = 1.5,
    runtime_multiplier: RuntimeMultiplier = 1.4,
    retry_unknown: RetryUnknown = False,
    recovery_hook: RecoveryHook = None,
    no_run: Annotated[
        bool, typer.Option("--no-run", help="Reset the jobs but do not run them here.")
    ] = False,
    output_dir: OutputDir = None,
    poll_interval: Annotated[
        float | None,
        typer.Option("-p", "--poll-interval", min=0.001, help="Runner poll seconds, run here."),
    ] = None,
) -> None:
    """Diagnose why jobs failed (out of memory, timeout, lost node, the program itself), give
    OOM jobs more memory and timed-out jobs more runtime, send them and their dependents back,
    and run them again here (a Slurm workflow: `torc slurm regenerate --submit` schedules them).

    Example: torc recover 3 --dry-run; torc recover 3 --memory-multiplier 2
    """
    st = state(ctx)
    with st.server_for_run():
        wf = resolve_workflow_id(st, workflow_id)
        _refuse_while_busy(st, wf)
        retried = recover_once(
            st, wf, dry_run, memory_multiplier, runtime_multiplier, retry_unknown, recovery_hook
        )
        if dry_run or not retried or no_run:
            return
        if _has_slurm_schedulers(st, wf):
            typer.echo(f"schedule them: torc slurm regenerate {wf} --submit")
            return
        from pytorc.cli import run as run_cli

        left = run_cli.execute(st, wf, None, None, None, None, poll_interval, output_dir)
    if left:
        raise typer.Exit(1)


def recover_once(
    st: CliState,
    wf: int,
    dry_run: bool,
    memory_multiplier: float,
    runtime_multiplier: float,
    retry_unknown: bool,
    hook: str | None,
) -> list[int]:
    """Plan, report and (unless a dry run) apply one recovery; the ids of the retried jobs."""
    from pytorc.client import recover as rec

    fixes = rec.plan(st.client, wf, memory_multiplier, runtime_multiplier, retry_unknown)
    if hook and not dry_run and any(not f.retry for f in fixes):
        _run_hook(hook, wf)
        for fix in fixes:
            fix.retry = True
    retried = [] if dry_run else rec.apply(st.client, wf, fixes)
    counts: dict[str, int] = {}
    for fix in fixes:
        counts[fix.diagnosis.cause] = counts.get(fix.diagnosis.cause, 0) + 1
    verb = "would retry" if dry_run else "retried"
    n_retry = sum(f.retry for f in fixes)
    summary = f"workflow {wf}: {len(fixes)} failed jobs" + (
        f" ({', '.join(f'{n} {c}' for c, n in sorted(counts.items()))}); {verb} {n_retry}"
        if fixes
        else ""
    )
    data = {"workflow_id": wf, "dry_run": dry_run, "fixes": [f.as_dict() for f in fixes]}
    data["retried"] = retried
    output.message(st.format, [summary, *(f.describe() for f in fixes)], data)
    return retried


def _refuse_while_busy(st: CliState, wf: int) -> None:
    counts = st.client.workflow_status(wf)["jobs_by_status"]
    busy = int(counts.get("running") or 0) + int(counts.get("pending") or 0)
    if busy:
        raise InvalidInput(
            f"workflow {wf} has {busy} jobs running or claimed: let its runners finish first"
            f" (if they are gone, `torc workflows sync-status {wf}` frees their jobs)"
        )


def _has_slurm_schedulers(st: CliState, wf: int) -> bool:
    return any(True for _ in st.client.iter_slurm_schedulers(wf))


def _run_hook(hook: str, wf: int) -> None:
    done = subprocess.run(
        ["bash", "-c", f"{hook} {wf}"], env={**os.environ, "TORC_WORKFLOW_ID": str(wf)}
    )
    if done.returncode != 0:
        raise InvalidInput(f"recovery hook exited with {done.returncode}: nothing was retried")


def watch(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    recover_failures: Annotated[
        bool, typer.Option("-r", "--recover", help="Recover failures as they settle.")
    ] = False,
    max_retries: Annotated[
        int, typer.Option("-m", "--max-retries", min=0, help="Recoveries at most.")
    ] = 3,
    memory_multiplier: MemoryMultiplier = 1.5,
    runtime_multiplier: RuntimeMultiplier = 1.4,
    retry_unknown: RetryUnknown = False,
    recovery_hook: RecoveryHook = None,
    poll_interval: Annotated[
        float, typer.Option("-p", "--poll-interval", min=0.1, help="Seconds between checks.")
    ] = 60.0,
    auto_schedule: Annotated[
        bool,
        typer.Option(
            "--auto-schedule", help="Slurm: submit allocations for recovered jobs at once."
        ),
    ] = False,
) -> None:
    """Follow a workflow until it is done, printing its job counts as they change; with
    --recover, recover failures (as `torc recover --no-run`) whenever no job is running, so
    that the workflow's runners (or, with --auto-schedule, new Slurm allocations) rerun them.
    Exits 0 when every job completed.

    Example: torc watch 3 --recover --auto-schedule -p 30
    """
    st = state(ctx)
    wf = resolve_workflow_id(st, workflow_id)
    recoveries = 0
    last: dict[str, int] = {}
    steady_gc()
    while True:
        status = st.client.workflow_status(wf)
        counts = {k: int(v) for k, v in status["jobs_by_status"].items() if v}
        if counts != last:
            typer.echo(f"{time.strftime('%H:%M:%S')} " + _counts_line(counts))
            last = counts
        busy = any(counts.get(s) for s in ("running", "pending", "ready"))
        failed = sum(counts.get(s, 0) for s in ("failed", "terminated", "pending_failed"))
        if not busy and failed and recover_failures and recoveries < max_retries:
            recoveries += 1
            retried = recover_once(
                st, wf, False, memory_multiplier, runtime_multiplier, retry_unknown, recovery_hook
            )
            if retried and auto_schedule and _has_slurm_schedulers(st, wf):
                _schedule(ctx, wf)
            if retried:
                continue
        if status["is_complete"] or (not busy and failed):
            break
        time.sleep(poll_interval)
    if set(last) - {"completed", "disabled"}:
        raise typer.Exit(1)


def _counts_line(counts: dict[str, Any]) -> str:
    return ", ".join(f"{n} {s}" for s, n in counts.items()) or "no jobs"


def _schedule(ctx: typer.Context, wf: int) -> None:
    """Plan and submit allocations for the recovered jobs (`torc slurm regenerate --submit`)."""
    from pytorc.cli import slurm as slurm_cli

    try:
        slurm_cli.regenerate(ctx, workflow_id=wf, submit_now=True)
    except (TorcError, typer.Exit) as exc:
        typer.echo(f"auto-schedule failed ({exc}); the recovered jobs wait for a runner", err=True)
