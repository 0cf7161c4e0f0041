"""SQL for RO-Crate entities: JSON-LD metadata describing a workflow's files and runs."""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.errors import InvalidInput
from pytorc.models import RoCrateEntityModel
from pytorc.server.db.common import Row, dumps, loads, page, require, require_in_workflow

SORTABLE = ("entity_id", "entity_type", "file_id", "workflow_id")

_INSERT = """
INSERT INTO ro_crate_entity (workflow_id, file_id, entity_id, entity_type, metadata)
VALUES (:workflow_id, :file_id, :entity_id, :entity_type, :metadata) RETURNING *
"""
_UPDATE = """
UPDATE ro_crate_entity SET file_id = :file_id, entity_id = :entity_id,
                           entity_type = :entity_type, metadata = :metadata
 WHERE id = :id RETURNING *
"""


def to_dict(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "workflow_id": row["workflow_id"],
        "file_id": row["file_id"],
        "entity_id": row["entity_id"],
        "entity_type": row["entity_type"],
        "metadata": loads(row["metadata"]),
    }


def _values(conn: sqlite3.Connection, entity: RoCrateEntityModel) -> dict[str, Any]:
    if entity.file_id is not None:
        require_in_workflow(conn, "file", entity.file_id, entity.workflow_id, "file")
    values = entity.model_dump(include={"workflow_id", "file_id", "entity_id", "entity_type"})
    values["metadata"] = dumps(entity.metadata)
    return values


def create(conn: sqlite3.Connection, entity: RoCrateEntityModel) -> dict[str, Any]:
    require(conn, "workflow", entity.workflow_id)
    return to_dict(conn.execute(_INSERT, _values(conn, entity)).fetchone())


def get(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    return to_dict(require(conn, "ro_crate_entity", id, "ro-crate entity"))


def update(conn: sqlite3.Connection, id: int, entity: RoCrateEntityModel) -> dict[str, Any]:
    row = require(conn, "ro_crate_entity", id, "ro-crate entity")
    if entity.workflow_id != row["workflow_id"]:
        raise InvalidInput(
            f"ro-crate entity {id} belongs to workflow {row['workflow_id']},"
            f" not {entity.workflow_id}"
        )
    values = {**_values(conn, entity), "id": id}
    return to_dict(conn.execute(_UPDATE, values).fetchone())


def delete(conn: sqlite3.Connection, id: int) -> None:
    require(conn, "ro_crate_entity", id, "ro-crate entity")
    conn.execute("DELETE FROM ro_crate_entity WHERE id = ?", (id,))


def list_page(
    conn: sqlite3.Connection,
    workflow_id: int,
    *,
    file_id: int | None,
    entity_id: str | None,
    offset: int,
    limit: int | None,
    sort_by: str | None,
    reverse_sort: bool | None,
) -> dict[str, Any]:
    where = ["ro_crate_entity.workflow_id = :wf"]
    params: dict[str, Any] = {"wf": workflow_id}
    if file_id is not None:
        where.append("ro_crate_entity.file_id = :file_id")
        params["file_id"] = file_id
    if entity_id is not None:
        where.append("ro_crate_entity.entity_id = :entity_id")
        params["entity_id"] = entity_id
    return page(
        conn,
        table="ro_crate_entity",
        where=" AND ".join(where),
        params=params,
        offset=offset,
        limit=limit,
        sort_by=sort_by,
        reverse_sort=reverse_sort,
        sortable=SORTABLE,
        to_item=to_dict,
    )
