"""SQL for access control: groups, their members, and the workflows each group may see.

A user may access a workflow they own or one linked to a group they belong to. Lists here use
the access-control envelope {items, offset, limit, total_count, has_more} (default limit 100).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from pytorc.errors import Conflict, InvalidInput, NotFound
from pytorc.models import AccessGroupModel, UserGroupMembershipModel
from pytorc.server.db.common import Params, Row, check_limit, now_iso, require

DEFAULT_LIMIT = 100
ROLES = ("member", "admin")

_GROUPS_OF_USER = (
    "access_group WHERE id IN (SELECT group_id FROM user_group_membership WHERE user_name = :user)"
)
_GROUPS_OF_WORKFLOW = (
    "access_group WHERE id IN (SELECT group_id FROM workflow_access_group WHERE workflow_id = :wf)"
)
_MEMBERS_OF_GROUP = "user_group_membership WHERE group_id = :group"
_SHARED_GROUP = """
SELECT g.name FROM workflow_access_group w
  JOIN user_group_membership m ON m.group_id = w.group_id
  JOIN access_group g ON g.id = w.group_id
 WHERE w.workflow_id = :wf AND m.user_name = :user
 ORDER BY g.id LIMIT 1
"""


def group_to_dict(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "created_at": row["created_at"],
    }


def membership_to_dict(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "user_name": row["user_name"],
        "group_id": row["group_id"],
        "role": row["role"],
        "created_at": row["created_at"],
    }


def _page(
    conn: sqlite3.Connection,
    source: str,
    params: Params,
    offset: int,
    limit: int | None,
    to_item: Callable[[Row], dict[str, Any]],
) -> dict[str, Any]:
    """A page of `SELECT * FROM <source>` (a constant of this module) in id order."""
    size = check_limit(offset, DEFAULT_LIMIT if limit is None else limit)
    total = conn.execute(f"SELECT count(*) FROM {source}", params).fetchone()[0]
    rows = conn.execute(
        f"SELECT * FROM {source} ORDER BY id LIMIT :_limit OFFSET :_offset",
        {**params, "_limit": size, "_offset": offset},
    ).fetchall()
    items = [to_item(r) for r in rows]
    return {
        "items": items,
        "offset": offset,
        "limit": size,
        "total_count": total,
        "has_more": offset + len(items) < total,
    }


# --- groups -------------------------------------------------------------------------------


def _require_group(conn: sqlite3.Connection, id: int) -> Row:
    return require(conn, "access_group", id)


def create_group(conn: sqlite3.Connection, group: AccessGroupModel) -> dict[str, Any]:
    if conn.execute("SELECT 1 FROM access_group WHERE name = ?", (group.name,)).fetchone():
        raise Conflict(f"access group {group.name!r} already exists")
    row = conn.execute(
        "INSERT INTO access_group (name, description, created_at) VALUES (?, ?, ?) RETURNING *",
        (group.name, group.description, now_iso()),
    ).fetchone()
    return group_to_dict(row)


def get_group(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    return group_to_dict(_require_group(conn, id))


def delete_group(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    """Delete a group with its memberships and workflow links; system groups stay."""
    row = _require_group(conn, id)
    if row["is_system"]:
        raise Conflict(f"access group {id} ({row['name']!r}) is a system group; cannot delete")
    conn.execute("DELETE FROM access_group WHERE id = ?", (id,))
    return group_to_dict(row)


def list_groups(conn: sqlite3.Connection, offset: int, limit: int | None) -> dict[str, Any]:
    return _page(conn, "access_group", {}, offset, limit, group_to_dict)


# --- members ------------------------------------------------------------------------------


def add_member(
    conn: sqlite3.Connection, group_id: int, membership: UserGroupMembershipModel
) -> dict[str, Any]:
    _require_group(conn, group_id)
    if membership.group_id != group_id:
        raise InvalidInput(
            f"the membership names group {membership.group_id}, but the path names {group_id}"
        )
    if membership.role not in ROLES:
        raise InvalidInput(f"unknown role {membership.role!r}; choose one of: {', '.join(ROLES)}")
    exists = conn.execute(
        "SELECT 1 FROM user_group_membership WHERE user_name = ? AND group_id = ?",
        (membership.user_name, group_id),
    ).fetchone()
    if exists:
        raise Conflict(
            f"user {membership.user_name!r} is already a member of access group {group_id}"
        )
    row = conn.execute(
        "INSERT INTO user_group_membership (user_name, group_id, role, created_at)"
        " VALUES (?, ?, ?, ?) RETURNING *",
        (membership.user_name, group_id, membership.role, now_iso()),
    ).fetchone()
    return membership_to_dict(row)


def remove_member(conn: sqlite3.Connection, group_id: int, user_name: str) -> dict[str, Any]:
    _require_group(conn, group_id)
    row = conn.execute(
        "DELETE FROM user_group_membership WHERE group_id = ? AND user_name = ? RETURNING *",
        (group_id, user_name),
    ).fetchone()
    if row is None:
        raise NotFound("member", f"{user_name!r} of access group {group_id}")
    return membership_to_dict(row)


def list_members(
    conn: sqlite3.Connection, group_id: int, offset: int, limit: int | None
) -> dict[str, Any]:
    _require_group(conn, group_id)
    return _page(conn, _MEMBERS_OF_GROUP, {"group": group_id}, offset, limit, membership_to_dict)


def user_groups(
    conn: sqlite3.Connection, user_name: str, offset: int, limit: int | None
) -> dict[str, Any]:
    return _page(conn, _GROUPS_OF_USER, {"user": user_name}, offset, limit, group_to_dict)


# --- workflows ----------------------------------------------------------------------------


def link_workflow(conn: sqlite3.Connection, workflow_id: int, group_id: int) -> dict[str, Any]:
    require(conn, "workflow", workflow_id)
    _require_group(conn, group_id)
    row = conn.execute(
        "INSERT INTO workflow_access_group (workflow_id, group_id, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING RETURNING *",
        (workflow_id, group_id, now_iso()),
    ).fetchone()
    if row is None:
        raise Conflict(f"workflow {workflow_id} is already linked to access group {group_id}")
    return {"workflow_id": workflow_id, "group_id": group_id, "created_at": row["created_at"]}


def unlink_workflow(conn: sqlite3.Connection, workflow_id: int, group_id: int) -> dict[str, Any]:
    require(conn, "workflow", workflow_id)
    _require_group(conn, group_id)
    row = conn.execute(
        "DELETE FROM workflow_access_group WHERE workflow_id = ? AND group_id = ? RETURNING *",
        (workflow_id, group_id),
    ).fetchone()
    if row is None:
        raise NotFound("link", f"of workflow {workflow_id} to access group {group_id}")
    return {"workflow_id": workflow_id, "group_id": group_id, "created_at": row["created_at"]}


def workflow_groups(
    conn: sqlite3.Connection, workflow_id: int, offset: int, limit: int | None
) -> dict[str, Any]:
    require(conn, "workflow", workflow_id)
    return _page(conn, _GROUPS_OF_WORKFLOW, {"wf": workflow_id}, offset, limit, group_to_dict)


def check_access(conn: sqlite3.Connection, workflow_id: int, user_name: str) -> dict[str, Any]:
    """Whether `user_name` may access the workflow, and why."""
    wf = require(conn, "workflow", workflow_id)
    answer = {"workflow_id": workflow_id, "user_name": user_name}
    if wf["user"] == user_name:
        return {**answer, "has_access": True, "reason": "user owns the workflow"}
    group = conn.execute(_SHARED_GROUP, {"wf": workflow_id, "user": user_name}).fetchone()
    if group is not None:
        return {**answer, "has_access": True, "reason": f"member of access group {group[0]!r}"}
    return {
        **answer,
        "has_access": False,
        "reason": "user neither owns the workflow nor belongs to a group linked to it",
    }


# Tables whose rows belong to one workflow, by the first segment of their API path.
OWNED_BY_WORKFLOW = {
    "jobs": "job",
    "files": "file",
    "user_data": "user_data",
    "results": "result",
    "resource_requirements": "resource_requirements",
    "compute_nodes": "compute_node",
    "scheduled_compute_nodes": "scheduled_compute_node",
    "slurm_schedulers": "slurm_scheduler",
    "local_schedulers": "local_scheduler",
    "events": "event",
    "failure_handlers": "failure_handler",
    "ro_crate_entities": "ro_crate_entity",
    "tasks": "task",
}

# Workflows a user may see: their own and those shared with a group they belong to.
VISIBLE = """(workflow.user = :visible_to OR workflow.id IN (
  SELECT w.workflow_id FROM workflow_access_group w
    JOIN user_group_membership m ON m.group_id = w.group_id
   WHERE m.user_name = :visible_to))"""


def workflow_of(conn: sqlite3.Connection, kind: str, id: int) -> int | None:
    """The workflow the record at /<kind>/<id> belongs to (None: no such record)."""
    table = OWNED_BY_WORKFLOW[kind]
    row = conn.execute(f"SELECT workflow_id FROM {table} WHERE id = ?", (id,)).fetchone()
    return None if row is None else int(row[0])


def may_access(conn: sqlite3.Connection, workflow_id: int, user_name: str) -> bool | None:
    """Whether the user owns the workflow or shares a group with it (None: no such workflow)."""
    row = conn.execute("SELECT user FROM workflow WHERE id = ?", (workflow_id,)).fetchone()
    if row is None:
        return None
    if row[0] == user_name:
        return True
    shared = conn.execute(_SHARED_GROUP, {"wf": workflow_id, "user": user_name}).fetchone()
    return shared is not None
