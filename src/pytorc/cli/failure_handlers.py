"""`torc failure-handlers ...`: the retry rules a workflow's jobs fail with."""

from typing import Annotated

import typer

from pytorc.cli import output
from pytorc.cli.common import Limit, Offset, WorkflowArg, group, resolve_workflow_id, state

app = group("Failure handlers: which exit codes a job is retried on, how often, after what.")

COLUMNS = ("id", "name", "rules")


@app.command("list")
def list_handlers(
    ctx: typer.Context, workflow_id: WorkflowArg = None, limit: Limit = None, offset: Offset = 0
) -> None:
    """List a workflow's failure handlers.

    Example: torc failure-handlers list 3
    """
    st = state(ctx)
    wf = resolve_workflow_id(st, workflow_id)
    items = st.client.iter_pages(f"/workflows/{wf}/failure_handlers", limit=limit, offset=offset)
    output.records(st.format, items, COLUMNS)


@app.command("get")
def get(
    ctx: typer.Context, handler_id: Annotated[int, typer.Argument(help="Failure handler id.")]
) -> None:
    """Show one failure handler and its rules.

    Example: torc failure-handlers get 2
    """
    st = state(ctx)
    output.record(st.format, st.client.get(f"/failure_handlers/{handler_id}"))
