"""`torc workflows sync-status` and `correct-resources`: repairs after runners died or jobs
outgrew their requirements (registered on the `workflows` group)."""

from typing import Annotated

import typer

from pytorc.cli import output
from pytorc.cli.common import WorkflowArg, resolve_workflow_id, state
from pytorc.errors import InvalidInput


def sync_status(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report; change nothing.")] = False,
) -> None:
    """Repair what dead runners left behind. Runners of this host whose process is gone: their
    claimed and running jobs are made ready again at once (the server would do it after its
    dead-runner timeout). Slurm allocations that are gone (ended, canceled, killed): the jobs
    they left running fail (return code -128, as Torc), the jobs they had claimed are made
    ready again, and the allocations are marked complete.

    Example: torc workflows sync-status 3 --dry-run
    """
    from pytorc.client.gone_runners import gone_local_runners, requeue
    from pytorc.slurm.commands import SlurmError
    from pytorc.slurm.sync import ORPHANED_RETURN_CODE
    from pytorc.slurm.sync import sync_status as sync

    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    gone = gone_local_runners(st.client, wf_id)
    requeued = {int(node["id"]): [] if dry_run else requeue(st.client, node) for node in gone}
    try:
        report = sync(st.client, wf_id, dry_run=dry_run)
    except SlurmError as exc:
        raise InvalidInput(str(exc)) from None
    verb = "would fail" if dry_run else "failed"
    lines = [
        f"runner of compute node {node['id']} ({node['hostname']} pid {node['pid']}) is gone: "
        + (
            "its jobs would be made ready again"
            if dry_run
            else f"{len(requeued[int(node['id'])])} of its jobs made ready again"
        )
        for node in gone
    ]
    lines.append(
        f"{len(report.gone_allocations)} allocation(s) gone from Slurm"
        + (f": {', '.join(report.gone_allocations)}" if report.gone_allocations else "")
    )
    lines += [
        f"{verb} job {j['id']} ({j['name']}) of Slurm job {j['slurm_job_id']}"
        f" (return code {ORPHANED_RETURN_CODE})"
        for j in report.failed_jobs
    ]
    if report.released_jobs:
        lines.append(f"{len(report.released_jobs)} claimed job(s) made ready again")
    gone_runners = [
        {
            "compute_node_id": node["id"],
            "pid": node["pid"],
            "requeued_jobs": requeued[int(node["id"])],
        }
        for node in gone
    ]
    data = {"dry_run": dry_run, "gone_runners": gone_runners, **report.as_dict()}
    output.message(st.format, lines, data)


def correct_resources(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    memory_multiplier: Annotated[
        float, typer.Option("--memory-multiplier", min=1.0, help="Margin over the peak memory.")
    ] = 1.2,
    runtime_multiplier: Annotated[
        float, typer.Option("--runtime-multiplier", min=1.0, help="Margin over the run time.")
    ] = 1.2,
    job_ids: Annotated[
        str | None, typer.Option("--job-ids", help="Only these jobs' measurements, e.g. 4,7.")
    ] = None,
    downsize: Annotated[
        bool,
        typer.Option("--downsize", help="Also lower requirements all their jobs stayed well in."),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the changes only.")] = False,
) -> None:
    """Set resource requirements from what their jobs measured: raise each one a job outgrew
    (peak memory or run time above it) to the largest measurement times the margin.

    Example: torc workflows correct-resources 3 --dry-run --downsize
    """
    from pytorc.client import right_size

    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    try:
        only = {int(i) for i in job_ids.split(",")} if job_ids else None
    except ValueError:
        raise typer.BadParameter(
            f"not a list of ids: {job_ids!r}", param_hint="--job-ids"
        ) from None
    found = right_size.corrections(
        st.client, wf_id, memory_multiplier, runtime_multiplier, only, downsize
    )
    if not dry_run:
        right_size.apply(st.client, found)
    verb = "would change" if dry_run else "changed"
    lines = [f"workflow {wf_id}: {verb} {len(found)} requirement values"]
    lines += [c.describe() for c in found]
    data = {"dry_run": dry_run, "corrections": [c.as_dict() for c in found]}
    output.message(st.format, lines, data)
