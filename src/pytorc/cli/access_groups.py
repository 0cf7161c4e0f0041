"""`torc access-groups ...`: groups of users that share workflows."""

from typing import Annotated

import typer

from pytorc.cli import output
from pytorc.cli.common import Limit, Offset, group, state

app = group("Access groups: users who share workflows (enforced with --enforce-access-control).")

GroupId = Annotated[int, typer.Argument(help="Access group id.")]
UserName = Annotated[str, typer.Argument(help="User name.")]
WorkflowId = Annotated[int, typer.Argument(help="Workflow id.")]
GROUP_COLUMNS = ("id", "name", "description", "created_at")
MEMBER_COLUMNS = ("id", "user_name", "group_id", "role", "created_at")


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Group name.")],
    description: Annotated[
        str | None, typer.Option("-d", "--description", help="What the group is for.")
    ] = None,
) -> None:
    """Create an access group.

    Example: torc access-groups create climate -d "the climate team"
    """
    st = state(ctx)
    body = {"name": name} | ({"description": description} if description else {})
    created = st.client.post("/access_groups", body)
    output.message(st.format, f"created access group {created['id']} ({name})", created)


@app.command("get")
def get(ctx: typer.Context, group_id: GroupId) -> None:
    """Show an access group.

    Example: torc access-groups get 2
    """
    st = state(ctx)
    output.record(st.format, st.client.get(f"/access_groups/{group_id}"))


@app.command("list")
def list_groups(ctx: typer.Context, limit: Limit = None, offset: Offset = 0) -> None:
    """List access groups.

    Example: torc access-groups list
    """
    st = state(ctx)
    items = st.client.iter_pages("/access_groups", limit=limit, offset=offset)
    output.records(st.format, items, GROUP_COLUMNS)


@app.command("delete")
def delete(
    ctx: typer.Context, group_ids: Annotated[list[int], typer.Argument(help="Ids.")]
) -> None:
    """Delete access groups.

    Example: torc access-groups delete 2 3
    """
    st = state(ctx)
    output.deleted(
        st.format, "access group", [st.client.delete(f"/access_groups/{i}") for i in group_ids]
    )


@app.command("add-user")
def add_user(
    ctx: typer.Context,
    group_id: GroupId,
    user_name: UserName,
    role: Annotated[str, typer.Option("--role", help="member or admin.")] = "member",
) -> None:
    """Add a user to a group.

    Example: torc access-groups add-user 2 alice --role admin
    """
    st = state(ctx)
    body = {"user_name": user_name, "group_id": group_id, "role": role}
    added = st.client.post(f"/access_groups/{group_id}/members", body)
    output.message(st.format, f"added {user_name} to access group {group_id}", added)


@app.command("remove-user")
def remove_user(ctx: typer.Context, group_id: GroupId, user_name: UserName) -> None:
    """Remove a user from a group.

    Example: torc access-groups remove-user 2 alice
    """
    st = state(ctx)
    removed = st.client.delete(f"/access_groups/{group_id}/members/{user_name}")
    output.message(st.format, f"removed {user_name} from access group {group_id}", removed)


@app.command("list-members")
def list_members(
    ctx: typer.Context, group_id: GroupId, limit: Limit = None, offset: Offset = 0
) -> None:
    """List a group's members.

    Example: torc access-groups list-members 2
    """
    st = state(ctx)
    items = st.client.iter_pages(f"/access_groups/{group_id}/members", limit=limit, offset=offset)
    output.records(st.format, items, MEMBER_COLUMNS)


@app.command("list-user-groups")
def list_user_groups(
    ctx: typer.Context, user_name: UserName, limit: Limit = None, offset: Offset = 0
) -> None:
    """List the groups a user belongs to.

    Example: torc access-groups list-user-groups alice
    """
    st = state(ctx)
    items = st.client.iter_pages(f"/users/{user_name}/groups", limit=limit, offset=offset)
    output.records(st.format, items, GROUP_COLUMNS)


@app.command("add-workflow")
def add_workflow(ctx: typer.Context, workflow_id: WorkflowId, group_id: GroupId) -> None:
    """Share a workflow with a group.

    Example: torc access-groups add-workflow 12 2
    """
    st = state(ctx)
    added = st.client.post(f"/workflows/{workflow_id}/access_groups/{group_id}")
    output.message(
        st.format, f"workflow {workflow_id} is shared with access group {group_id}", added
    )


@app.command("remove-workflow")
def remove_workflow(ctx: typer.Context, workflow_id: WorkflowId, group_id: GroupId) -> None:
    """Stop sharing a workflow with a group.

    Example: torc access-groups remove-workflow 12 2
    """
    st = state(ctx)
    removed = st.client.delete(f"/workflows/{workflow_id}/access_groups/{group_id}")
    output.message(
        st.format, f"workflow {workflow_id} is no longer shared with group {group_id}", removed
    )


@app.command("list-workflow-groups")
def list_workflow_groups(
    ctx: typer.Context, workflow_id: WorkflowId, limit: Limit = None, offset: Offset = 0
) -> None:
    """List the groups a workflow is shared with.

    Example: torc access-groups list-workflow-groups 12
    """
    st = state(ctx)
    items = st.client.iter_pages(
        f"/workflows/{workflow_id}/access_groups", limit=limit, offset=offset
    )
    output.records(st.format, items, GROUP_COLUMNS)
