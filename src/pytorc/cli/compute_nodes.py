"""`torc compute-nodes ...`: the runners that worked on a workflow."""

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

app = group("The runners (compute nodes) that worked on a workflow, and their resources.")

COLUMNS = (
    "id",
    "hostname",
    "pid",
    "is_active",
    "num_cpus",
    "memory_gb",
    "num_gpus",
    "num_nodes",
    "time_limit",
    "compute_node_type",
    "start_time",
)


@app.command("list")
def list_compute_nodes(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    scheduled_compute_node: Annotated[
        int | None,
        typer.Option("--scheduled-compute-node", help="Only runners of this allocation."),
    ] = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort_by: SortBy = None,
    reverse_sort: ReverseSort = False,
) -> None:
    """List a workflow's compute nodes.

    Example: torc compute-nodes list 3
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    items = st.client.iter_compute_nodes(
        wf_id,
        scheduled_compute_node_id=scheduled_compute_node,
        **paging(limit, offset, sort_by, reverse_sort),
    )
    output.records(st.format, items, COLUMNS)


@app.command("get")
def get(
    ctx: typer.Context, node_id: Annotated[int, typer.Argument(help="Compute node id.")]
) -> None:
    """Show one compute node.

    Example: torc compute-nodes get 2
    """
    st = state(ctx)
    output.record(st.format, st.client.get(f"/compute_nodes/{node_id}"))
