"""`torc job-dependencies ...`: the edges between jobs, files and user data."""

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

app = group("The edges between jobs, and between jobs and the files and user data they use.")


def _list(
    ctx: typer.Context,
    workflow_id: int | None,
    kind: str,
    columns: tuple[str, ...],
    page: dict[str, object],
) -> None:
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    items = st.client.iter_pages(f"/workflows/{wf_id}/{kind}", **page)
    output.records(st.format, items, columns)


@app.command("job-job")
def job_job(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort_by: SortBy = None,
    reverse_sort: ReverseSort = False,
) -> None:
    """List which job waits for which (explicit, and from files/user data once initialized).

    Example: torc job-dependencies job-job 3
    """
    columns = ("job_id", "job_name", "depends_on_job_id", "depends_on_job_name")
    page = paging(limit, offset, sort_by, reverse_sort)
    _list(ctx, workflow_id, "job_dependencies", columns, page)


@app.command("job-file")
def job_file(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort_by: SortBy = None,
    reverse_sort: ReverseSort = False,
) -> None:
    """List each file with the job that produces it and the jobs that consume it.

    Example: torc job-dependencies job-file 3
    """
    columns = (
        "file_id",
        "file_name",
        "file_path",
        "producer_job_name",
        "consumer_job_name",
    )
    page = paging(limit, offset, sort_by, reverse_sort)
    _list(ctx, workflow_id, "job_file_relationships", columns, page)


@app.command("job-user-data")
def job_user_data(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort_by: SortBy = None,
    reverse_sort: ReverseSort = False,
) -> None:
    """List each user-data record with the job that produces it and the jobs that consume it.

    Example: torc job-dependencies job-user-data 3
    """
    columns = ("user_data_id", "user_data_name", "producer_job_name", "consumer_job_name")
    page = paging(limit, offset, sort_by, reverse_sort)
    _list(ctx, workflow_id, "job_user_data_relationships", columns, page)
