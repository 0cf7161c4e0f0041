"""`torc user-data ...`: JSON values jobs consume and produce."""

from typing import Annotated, Any

import typer

from pytorc.cli import output
from pytorc.cli.common import (
    Limit,
    Offset,
    ReverseSort,
    SortBy,
    WorkflowArg,
    confirm,
    group,
    paging,
    parse_json,
    resolve_workflow_id,
    state,
)

app = group("JSON values that jobs consume and produce.")

COLUMNS = ("id", "name", "is_ephemeral", "data")
Data = Annotated[str | None, typer.Option("-d", "--data", help="The value, as JSON.")]


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("-n", "--name", help="Name, unique in the workflow.")],
    workflow_id: WorkflowArg = None,
    data: Data = None,
    ephemeral: Annotated[
        bool, typer.Option("--ephemeral", help="Cleared when the workflow is initialized.")
    ] = False,
    consumer_job_id: Annotated[
        int | None, typer.Option("--consumer-job-id", help="A job that reads it.")
    ] = None,
    producer_job_id: Annotated[
        int | None, typer.Option("--producer-job-id", help="The job that writes it.")
    ] = None,
) -> None:
    """Add a user-data record, optionally linked to the jobs that read and write it.

    Example: torc user-data create 3 -n params -d '{"alpha": 0.5}' --consumer-job-id 42
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    body = {
        "workflow_id": wf_id,
        "name": name,
        "is_ephemeral": ephemeral,
        "data": None if data is None else parse_json(data, "--data"),
    }
    record = st.client.post(
        "/user_data", body, consumer_job_id=consumer_job_id, producer_job_id=producer_job_id
    )
    output.message(st.format, f"created user data {record['id']} ({record['name']})", record)


@app.command("list")
def list_user_data(
    ctx: typer.Context,
    workflow_id: WorkflowArg = None,
    name: Annotated[str | None, typer.Option("--name", help="Only this name.")] = None,
    is_ephemeral: Annotated[
        bool | None,
        typer.Option("--is-ephemeral/--not-ephemeral", help="Only (non-)ephemeral records."),
    ] = None,
    consumer_job_id: Annotated[
        int | None, typer.Option("--consumer-job-id", help="Only what this job reads.")
    ] = None,
    producer_job_id: Annotated[
        int | None, typer.Option("--producer-job-id", help="Only what this job writes.")
    ] = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort_by: SortBy = None,
    reverse_sort: ReverseSort = False,
) -> None:
    """List a workflow's user data.

    Example: torc user-data list 3 --consumer-job-id 42
    """
    st = state(ctx)
    wf_id = resolve_workflow_id(st, workflow_id)
    items = st.client.iter_pages(
        "/user_data",
        workflow_id=wf_id,
        name=name,
        is_ephemeral=is_ephemeral,
        consumer_job_id=consumer_job_id,
        producer_job_id=producer_job_id,
        **paging(limit, offset, sort_by, reverse_sort),
    )
    output.records(st.format, items, COLUMNS)


@app.command("get")
def get(
    ctx: typer.Context, user_data_id: Annotated[int, typer.Argument(help="User data id.")]
) -> None:
    """Show one user-data record.

    Example: torc -f json user-data get 5
    """
    st = state(ctx)
    output.record(st.format, st.client.get(f"/user_data/{user_data_id}"))


@app.command("update")
def update(
    ctx: typer.Context,
    user_data_id: Annotated[int, typer.Argument(help="User data id.")],
    name: Annotated[str | None, typer.Option("-n", "--name", help="New name.")] = None,
    data: Data = None,
    ephemeral: Annotated[
        bool | None, typer.Option("--ephemeral/--not-ephemeral", help="Change the flag.")
    ] = None,
) -> None:
    """Change a user-data record's name, value or ephemeral flag.

    Example: torc user-data update 5 -d '{"alpha": 0.7}'
    """
    st = state(ctx)
    record = st.client.get(f"/user_data/{user_data_id}")
    changes: dict[str, Any] = {"name": name, "is_ephemeral": ephemeral}
    record.update({k: v for k, v in changes.items() if v is not None})
    if data is not None:
        record["data"] = parse_json(data, "--data")
    updated = st.client.put(f"/user_data/{user_data_id}", record)
    output.message(st.format, f"updated user data {user_data_id}", updated)


@app.command("delete")
def delete(
    ctx: typer.Context, user_data_ids: Annotated[list[int], typer.Argument(help="Ids.")]
) -> None:
    """Delete user-data records.

    Example: torc user-data delete 5 6
    """
    st = state(ctx)
    records = [st.client.delete(f"/user_data/{i}") for i in user_data_ids]
    output.deleted(st.format, "user data", records)


@app.command("delete-all")
def delete_all(
    ctx: typer.Context,
    workflow_id: Annotated[int, typer.Argument(help="Workflow id.")],
    no_prompts: Annotated[bool, typer.Option("--no-prompts", help="Do not ask.")] = False,
) -> None:
    """Delete every user-data record of a workflow.

    Example: torc user-data delete-all 3 --no-prompts
    """
    st = state(ctx)
    confirm(f"Delete all user data of workflow {workflow_id}?", no_prompts)
    answer = st.client.delete("/user_data", workflow_id=workflow_id)
    output.message(st.format, f"deleted user data of workflow {workflow_id}", answer)


@app.command("list-missing")
def list_missing(
    ctx: typer.Context, workflow_id: Annotated[int, typer.Argument(help="Workflow id.")]
) -> None:
    """List user data that jobs consume but nothing produces and nobody has set.

    Example: torc user-data list-missing 3
    """
    st = state(ctx)
    ids = st.client.missing_user_data(workflow_id)
    records = [st.client.get(f"/user_data/{i}") for i in ids]
    output.records(st.format, records, COLUMNS)
