"""Access groups, their members, workflow links, access checks and /admin/reload-auth."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pytorc.models import (
    AccessCheckResponse,
    AccessGroupModel,
    ListAccessGroupsResponse,
    ListUserGroupMembershipsResponse,
    ReloadAuthResponse,
    UserGroupMembershipModel,
    WorkflowAccessGroupModel,
)
from pytorc.server.db import access_control as acl
from pytorc.server.routes.common import Db, Json, ok

router = APIRouter(tags=["access_control"])


@router.post("/access_groups", response_model=AccessGroupModel)
def create_access_group(body: AccessGroupModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(acl.create_group(conn, body))


@router.get("/access_groups", response_model=ListAccessGroupsResponse)
def list_access_groups(db: Db, offset: int = 0, limit: int | None = None) -> Json:
    with db.snapshot_reader() as conn:
        return ok(acl.list_groups(conn, offset, limit))


@router.get("/access_groups/{id}", response_model=AccessGroupModel)
def get_access_group(id: int, db: Db) -> Json:
    with db.reader() as conn:
        return ok(acl.get_group(conn, id))


@router.delete("/access_groups/{id}", response_model=AccessGroupModel)
def delete_access_group(id: int, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(acl.delete_group(conn, id))


@router.post("/access_groups/{id}/members", response_model=UserGroupMembershipModel)
def add_user_to_group(id: int, body: UserGroupMembershipModel, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(acl.add_member(conn, id, body))


@router.get("/access_groups/{id}/members", response_model=ListUserGroupMembershipsResponse)
def list_group_members(id: int, db: Db, offset: int = 0, limit: int | None = None) -> Json:
    with db.snapshot_reader() as conn:
        return ok(acl.list_members(conn, id, offset, limit))


@router.delete("/access_groups/{id}/members/{user_name}", response_model=UserGroupMembershipModel)
def remove_user_from_group(id: int, user_name: str, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(acl.remove_member(conn, id, user_name))


@router.get("/users/{user_name}/groups", response_model=ListAccessGroupsResponse)
def list_user_groups(user_name: str, db: Db, offset: int = 0, limit: int | None = None) -> Json:
    with db.snapshot_reader() as conn:
        return ok(acl.user_groups(conn, user_name, offset, limit))


@router.post("/workflows/{id}/access_groups/{group_id}", response_model=WorkflowAccessGroupModel)
def add_workflow_to_group(id: int, group_id: int, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(acl.link_workflow(conn, id, group_id))


@router.delete("/workflows/{id}/access_groups/{group_id}", response_model=WorkflowAccessGroupModel)
def remove_workflow_from_group(id: int, group_id: int, db: Db) -> Json:
    with db.transaction() as conn:
        return ok(acl.unlink_workflow(conn, id, group_id))


@router.get("/workflows/{id}/access_groups", response_model=ListAccessGroupsResponse)
def list_workflow_groups(id: int, db: Db, offset: int = 0, limit: int | None = None) -> Json:
    with db.snapshot_reader() as conn:
        return ok(acl.workflow_groups(conn, id, offset, limit))


@router.get("/access_check/{workflow_id}/{user_name}", response_model=AccessCheckResponse)
def check_workflow_access(workflow_id: int, user_name: str, db: Db) -> Json:
    with db.reader() as conn:
        return ok(acl.check_access(conn, workflow_id, user_name))


@router.post("/admin/reload-auth", response_model=ReloadAuthResponse)
def reload_auth(request: Request) -> Response:
    """Reread the auth file: added and removed users take effect, cached credentials are
    dropped. Without an auth file there is nothing to reload, and the answer says so; a file
    that cannot be used is a 500 naming the problem (the users read before stay in force)."""
    from pytorc.server.auth import AuthFileError
    from pytorc.server.errors_http import error_response

    credentials = request.app.state.credentials
    if credentials is None:
        return ok({"message": "authentication is not configured", "user_count": 0})
    try:
        count = credentials.reload()
    except AuthFileError as exc:
        return error_response(500, f"auth file not reloaded: {exc}")
    return ok({"message": "authentication file reloaded", "user_count": count})
