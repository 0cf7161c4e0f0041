"""SQL for files."""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.models import FileModel
from pytorc.server.db.common import Row, page, require

SORTABLE = ("name", "path", "st_mtime", "workflow_id")


def to_dict(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "workflow_id": row["workflow_id"],
        "name": row["name"],
        "path": row["path"],
        "st_mtime": row["st_mtime"],
    }


_INSERT = """
INSERT INTO file (workflow_id, name, path, st_mtime)
VALUES (:workflow_id, :name, :path, :st_mtime) RETURNING *
"""


def create(conn: sqlite3.Connection, file: FileModel) -> dict[str, Any]:
    require(conn, "workflow", file.workflow_id)
    row = conn.execute(
        _INSERT, file.model_dump(include={"workflow_id", "name", "path", "st_mtime"})
    )
    return to_dict(row.fetchone())


def create_many(conn: sqlite3.Connection, files: list[FileModel]) -> list[dict[str, Any]]:
    for wf in {f.workflow_id for f in files}:
        require(conn, "workflow", wf)
    return [
        to_dict(
            conn.execute(
                _INSERT, f.model_dump(include={"workflow_id", "name", "path", "st_mtime"})
            ).fetchone()
        )
        for f in files
    ]


def get(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    return to_dict(require(conn, "file", id))


def update(conn: sqlite3.Connection, id: int, file: FileModel) -> dict[str, Any]:
    require(conn, "file", id)
    row = conn.execute(
        "UPDATE file SET name = :name, path = :path, st_mtime = :st_mtime"
        " WHERE id = :id RETURNING *",
        {"id": id, "name": file.name, "path": file.path, "st_mtime": file.st_mtime},
    ).fetchone()
    return to_dict(row)


def delete(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    row = to_dict(require(conn, "file", id))
    conn.execute("DELETE FROM file WHERE id = ?", (id,))
    return row


def list_page(
    conn: sqlite3.Connection,
    workflow_id: int,
    *,
    produced_by_job_id: int | None,
    name: str | None,
    path: str | None,
    is_output: bool | None,
    offset: int,
    limit: int | None,
    sort_by: str | None,
    reverse_sort: bool | None,
) -> dict[str, Any]:
    where = ["file.workflow_id = :wf"]
    params: dict[str, Any] = {"wf": workflow_id}
    if produced_by_job_id is not None:
        where.append("file.id IN (SELECT file_id FROM job_output_file WHERE job_id = :producer)")
        params["producer"] = produced_by_job_id
    if name is not None:
        where.append("file.name = :name")
        params["name"] = name
    if path is not None:
        where.append("file.path = :path")
        params["path"] = path
    if is_output is not None:
        op = "IN" if is_output else "NOT IN"
        where.append(f"file.id {op} (SELECT file_id FROM job_output_file WHERE workflow_id = :wf)")
    return page(
        conn,
        table="file",
        where=" AND ".join(where),
        params=params,
        offset=offset,
        limit=limit,
        sort_by=sort_by,
        reverse_sort=reverse_sort,
        sortable=SORTABLE,
        to_item=to_dict,
    )
