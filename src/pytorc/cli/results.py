"""`torc results ...`: what each job run returned."""

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

app = group("What each job run returned: exit code, time, memory and CPU use.")

COLUMNS = (  # in reading order: what fits an 80-column terminal comes first
    "job_id",
    "job_name",
    "status",
    "return_code",
    "exec_time_minutes",
    "peak_memory_bytes",
    "peak_cpu_percent",
    "attempt_id",
    "run_id",
    "completion_time",
    "id",
)


@app.command("list")
def list_results(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    job: Annotated[
        str | None, typer.Option("-j", "--job-id", help="Only this job (an id, or its name).")
    ] = None,
    run_id: Annotated[int | None, typer.Option("-r", "--run-id", help="Only this run.")] = None,
    return_code: Annotated[
        int | None, typer.Option("--return-code", help="Only this return code.")
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed jobs.")] = False,
    status: Annotated[str | None, typer.Option("-s", "--status", help="Only this status.")] = None,
    all_runs: Annotated[
        bool, typer.Option("--all-runs", help="Every run and attempt, not only the latest.")
    ] = False,
    compute_node: Annotated[
        int | None, typer.Option("--compute-node", help="Only results from this compute node.")
    ] = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort_by: SortBy = None,
    reverse_sort: ReverseSort = False,
) -> None:
    """List job results: by default each job's latest.

    Example: torc results list 3 --failed
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    job_id = None
    if job is not None:
        from pytorc.client.job_logs import resolve_job

        job_id = int(resolve_job(st.client, job, wf_id)["id"])
    items = st.client.iter_results(
        wf_id,
        job_id=job_id,
        run_id=run_id,
        return_code=return_code,
        status="failed" if failed else status,
        all_runs=all_runs or None,
        compute_node_id=compute_node,
        **paging(limit, offset, sort_by, reverse_sort),
    )
    output.records(st.format, items, COLUMNS)


@app.command("get")
def get(ctx: typer.Context, result_id: Annotated[int, typer.Argument(help="Result id.")]) -> None:
    """Show one result.

    Example: torc -f json results get 12
    """
    st = state(ctx)
    output.record(st.format, st.client.get(f"/results/{result_id}"))


@app.command("delete")
def delete(
    ctx: typer.Context, result_ids: Annotated[list[int], typer.Argument(help="Result ids.")]
) -> None:
    """Delete results.

    Example: torc results delete 12
    """
    st = state(ctx)
    output.deleted(st.format, "result", [st.client.delete(f"/results/{i}") for i in result_ids])
