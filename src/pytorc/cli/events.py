"""`torc events ...`: what happened in a workflow, newest last."""

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

app = group("What happened in a workflow: starts, cancels, resets, retries.")


@app.command("list")
def list_events(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    category: Annotated[
        str | None, typer.Option("-t", "--type", "--category", help="Only this category.")
    ] = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort_by: SortBy = None,
    reverse_sort: ReverseSort = False,
) -> None:
    """List a workflow's events (timestamps are milliseconds since the epoch).

    Example: torc events list 3 -t workflow_canceled
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    items = st.client.iter_pages(
        "/events",
        workflow_id=wf_id,
        category=category,
        **paging(limit, offset, sort_by, reverse_sort),
    )
    output.records(st.format, items, ("id", "timestamp", "data"))
