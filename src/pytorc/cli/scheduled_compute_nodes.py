"""`torc scheduled-compute-nodes ...`: the allocations submitted for a workflow."""

from typing import Annotated

import typer

from pytorc.cli import output
from pytorc.cli.common import (
    Limit,
    Offset,
    ReverseSort,
    SortBy,
    WorkflowArg,
    group,
    paging,
    resolve_workflow_id,
    state,
)

app = group("Allocations submitted for a workflow (pending, active, complete).")

COLUMNS = ("id", "scheduler_id", "scheduler_config_id", "scheduler_type", "status")
NodeId = Annotated[int, typer.Argument(help="Scheduled compute node id.")]


@app.command("list")
def list_scheduled(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    scheduler_id: Annotated[
        int | None, typer.Option("--scheduler-id", help="Only this Slurm job id.")
    ] = None,
    scheduler_config_id: Annotated[
        int | None, typer.Option("--scheduler-config-id", help="Only this scheduler config.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, active or complete.")
    ] = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort_by: SortBy = None,
    reverse_sort: ReverseSort = False,
) -> None:
    """List a workflow's allocations.

    Example: torc scheduled-compute-nodes list 3 --status active
    """
    st = state(ctx)
    items = st.client.iter_pages(
        "/scheduled_compute_nodes",
        workflow_id=resolve_workflow_id(st, workflow_id),
        scheduler_id=scheduler_id,
        scheduler_config_id=scheduler_config_id,
        status=status,
        **paging(limit, offset, sort_by, reverse_sort),
    )
    output.records(st.format, items, COLUMNS)


@app.command("get")
def get(ctx: typer.Context, node_id: NodeId) -> None:
    """Show one allocation.

    Example: torc scheduled-compute-nodes get 7
    """
    st = state(ctx)
    output.record(st.format, st.client.get(f"/scheduled_compute_nodes/{node_id}"))


@app.command("list-jobs")
def list_jobs(ctx: typer.Context, node_id: NodeId) -> None:
    """The jobs the allocation's runners ran (any run), by their results.

    Example: torc -f json scheduled-compute-nodes list-jobs 7
    """
    st = state(ctx)
    node = st.client.get(f"/scheduled_compute_nodes/{node_id}")
    workflow_id = int(node["workflow_id"])
    runners = [
        int(n["id"])
        for n in st.client.iter_compute_nodes(workflow_id, scheduled_compute_node_id=node_id)
    ]
    job_ids = sorted(
        {
            int(r["job_id"])
            for runner in runners
            for r in st.client.iter_results(workflow_id, compute_node_id=runner, all_runs=True)
        }
    )
    data = {
        "scheduled_compute_node_id": node_id,
        "workflow_id": workflow_id,
        "compute_node_count": len(runners),
        "job_ids": job_ids,
    }
    text = f"allocation {node_id}: {len(runners)} runners ran {len(job_ids)} jobs" + (
        ": " + ", ".join(map(str, job_ids)) if job_ids else ""
    )
    output.message(st.format, text, data)
