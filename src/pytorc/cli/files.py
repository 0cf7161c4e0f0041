"""`torc files ...`: the file records jobs read and write."""

import os
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

app = group("The file records jobs read and write (for dependencies and change detection).")

COLUMNS = ("id", "name", "path", "st_mtime")


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("-n", "--name", help="File name, unique in the workflow.")],
    path: Annotated[str, typer.Option("-p", "--path", help="Path on disk.")],
    workflow_id: WorkflowArg = None,
) -> None:
    """Add a file record to a workflow.

    Example: torc files create 3 -n inputs -p data/inputs.csv
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    file = st.client.post("/files", {"workflow_id": wf_id, "name": name, "path": path})
    output.message(st.format, f"created file {file['id']} ({file['name']})", file)


@app.command("list")
def list_files(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    produced_by_job_id: Annotated[
        int | None, typer.Option("--produced-by-job-id", help="Only this job's outputs.")
    ] = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort_by: SortBy = None,
    reverse_sort: ReverseSort = False,
) -> None:
    """List a workflow's files.

    Example: torc files list 3 --produced-by-job-id 42
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    items = st.client.iter_files(
        wf_id, produced_by_job_id=produced_by_job_id, **paging(limit, offset, sort_by, reverse_sort)
    )
    output.records(st.format, items, COLUMNS)


@app.command("get")
def get(ctx: typer.Context, file_id: Annotated[int, typer.Argument(help="File id.")]) -> None:
    """Show one file record.

    Example: torc files get 7
    """
    st = state(ctx)
    output.record(st.format, st.client.get_file(file_id))


@app.command("update")
def update(
    ctx: typer.Context,
    file_id: Annotated[int, typer.Argument(help="File id.")],
    name: Annotated[str | None, typer.Option("-n", "--name", help="New name.")] = None,
    path: Annotated[str | None, typer.Option("-p", "--path", help="New path.")] = None,
) -> None:
    """Rename a file record or point it at another path.

    Example: torc files update 7 -p data/inputs-v2.csv
    """
    st = state(ctx)
    file = st.client.get_file(file_id)
    file.update({k: v for k, v in {"name": name, "path": path}.items() if v is not None})
    updated = st.client.update_file(file_id, file)
    output.message(st.format, f"updated file {file_id}", updated)


@app.command("delete")
def delete(
    ctx: typer.Context, file_ids: Annotated[list[int], typer.Argument(help="File ids.")]
) -> None:
    """Delete file records (the files on disk are left alone).

    Example: torc files delete 7 8
    """
    st = state(ctx)
    output.deleted(st.format, "file", [st.client.delete(f"/files/{i}") for i in file_ids])


@app.command("list-required-existing")
def list_required_existing(ctx: typer.Context, workflow_id: WorkflowArg = None) -> None:
    """List files that must exist before the workflow runs, and whether they do.

    These are inputs no job produces, plus outputs of jobs that already completed.

    Example: torc files list-required-existing 3
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    files = [st.client.get_file(i) for i in st.client.required_existing_files(wf_id)]
    if st.format == "json":
        output.emit_json(files)
        return
    rows = [{**f, "exists": os.path.exists(f["path"])} for f in files]
    output.records(st.format, rows, ("id", "name", "path", "exists"))
