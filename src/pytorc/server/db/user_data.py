"""SQL for user data: JSON records jobs consume and produce."""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.errors import InvalidInput
from pytorc.models import UserDataModel
from pytorc.server.db.common import Row, dumps, loads, page, require, require_in_workflow

SORTABLE = ("name", "is_ephemeral", "workflow_id")

_INSERT = """
INSERT INTO user_data (workflow_id, name, is_ephemeral, data)
VALUES (:workflow_id, :name, :is_ephemeral, :data) RETURNING *
"""
_LINK_CONSUMER = """
INSERT INTO job_input_user_data (job_id, user_data_id, workflow_id) VALUES (:job, :ud, :wf)
"""
_LINK_PRODUCER = """
INSERT INTO job_output_user_data (job_id, user_data_id, workflow_id) VALUES (:job, :ud, :wf)
"""


def to_dict(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "workflow_id": row["workflow_id"],
        "name": row["name"],
        "is_ephemeral": bool(row["is_ephemeral"]),
        "data": loads(row["data"]),
    }


def _values(ud: UserDataModel) -> dict[str, Any]:
    return {
        "workflow_id": ud.workflow_id,
        "name": ud.name,
        "is_ephemeral": int(bool(ud.is_ephemeral)),
        "data": dumps(ud.data),
    }


def create(
    conn: sqlite3.Connection,
    ud: UserDataModel,
    consumer_job_id: int | None = None,
    producer_job_id: int | None = None,
) -> dict[str, Any]:
    """Insert one record, optionally linked as input of one job and output of another."""
    require(conn, "workflow", ud.workflow_id)
    # Check the jobs before inserting so a bad link stores nothing, not even the record.
    for job_id in (consumer_job_id, producer_job_id):
        if job_id is not None:
            require_in_workflow(conn, "job", job_id, ud.workflow_id, "job")
    row = conn.execute(_INSERT, _values(ud)).fetchone()
    link = {"ud": row["id"], "wf": ud.workflow_id}
    if consumer_job_id is not None:
        conn.execute(_LINK_CONSUMER, {**link, "job": consumer_job_id})
    if producer_job_id is not None:
        conn.execute(_LINK_PRODUCER, {**link, "job": producer_job_id})
    return to_dict(row)


def create_many(conn: sqlite3.Connection, records: list[UserDataModel]) -> list[dict[str, Any]]:
    for wf in sorted({r.workflow_id for r in records}):
        require(conn, "workflow", wf)
    return [to_dict(conn.execute(_INSERT, _values(r)).fetchone()) for r in records]


def get(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    return to_dict(require(conn, "user_data", id))


def update(conn: sqlite3.Connection, id: int, ud: UserDataModel) -> dict[str, Any]:
    """Overwrite the fields the body carries (an absent is_ephemeral or data is kept)."""
    row = require(conn, "user_data", id)
    if ud.workflow_id != row["workflow_id"]:
        raise InvalidInput(
            f"user data {id} belongs to workflow {row['workflow_id']}, not {ud.workflow_id}"
        )
    given = ud.model_fields_set
    values = {
        "id": id,
        "name": ud.name,
        "eph": row["is_ephemeral"] if ud.is_ephemeral is None else int(ud.is_ephemeral),
        "data": dumps(ud.data) if "data" in given else row["data"],
    }
    row = conn.execute(
        "UPDATE user_data SET name = :name, is_ephemeral = :eph, data = :data WHERE id = :id"
        " RETURNING *",
        values,
    ).fetchone()
    return to_dict(row)


def delete(conn: sqlite3.Connection, id: int) -> dict[str, Any]:
    record = get(conn, id)
    conn.execute("DELETE FROM user_data WHERE id = ?", (id,))
    return record


def list_page(
    conn: sqlite3.Connection,
    workflow_id: int,
    *,
    consumer_job_id: int | None,
    producer_job_id: int | None,
    name: str | None,
    is_ephemeral: bool | None,
    offset: int,
    limit: int | None,
    sort_by: str | None,
    reverse_sort: bool | None,
) -> dict[str, Any]:
    where = ["user_data.workflow_id = :wf"]
    params: dict[str, Any] = {"wf": workflow_id}
    if consumer_job_id is not None:
        where.append(
            "user_data.id IN"
            " (SELECT user_data_id FROM job_input_user_data WHERE job_id = :consumer)"
        )
        params["consumer"] = consumer_job_id
    if producer_job_id is not None:
        where.append(
            "user_data.id IN"
            " (SELECT user_data_id FROM job_output_user_data WHERE job_id = :producer)"
        )
        params["producer"] = producer_job_id
    if name is not None:
        where.append("user_data.name = :name")
        params["name"] = name
    if is_ephemeral is not None:
        where.append("user_data.is_ephemeral = :eph")
        params["eph"] = int(is_ephemeral)
    return page(
        conn,
        table="user_data",
        where=" AND ".join(where),
        params=params,
        offset=offset,
        limit=limit,
        sort_by=sort_by,
        reverse_sort=reverse_sort,
        sortable=SORTABLE,
        to_item=to_dict,
    )


def clear_ephemeral(conn: sqlite3.Connection, workflow_id: int) -> None:
    """Forget the data of the workflow's ephemeral user data (done at each initialize)."""
    conn.execute(
        "UPDATE user_data SET data = NULL WHERE workflow_id = ? AND is_ephemeral = 1",
        (workflow_id,),
    )
