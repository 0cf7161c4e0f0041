"""Deleting a workflow in chunks, each its own write transaction (the route runs them through
the writer's queue), so that other writes go in between.

One DELETE of the workflow row, cascading to a million jobs and two million edges, held every
other write for 29 s; most of it was the foreign-key look-ups each deleted job makes in its
eight child tables. The first transaction marks the workflow canceled (its runners stop,
nothing more of it is claimed); its edges go next, some at a time; then each chunk of jobs
deletes their files, user data and results set-wise, so those look-ups find nothing, and the
jobs; the last transaction deletes the workflow row and what else it owns.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.server.db import workflows

EDGES_PER_JOB = 4  # a chunk of edges is this many times the chunk of jobs (edges are smaller)

# A hub (a setup job before a million, a fan-in after them) has its edges spread over every
# chunk of job ids, so edges go first, a bounded number at a time, through the workflow index.
_EDGES = """
DELETE FROM job_depends_on WHERE (job_id, depends_on_job_id) IN
       (SELECT job_id, depends_on_job_id FROM job_depends_on WHERE workflow_id = :wf LIMIT :n)
"""

_CHUNK = (
    *(
        f"DELETE FROM {table} WHERE job_id BETWEEN :first AND :last AND +workflow_id = :wf"
        for table in (
            "job_input_file",
            "job_output_file",
            "job_input_user_data",
            "job_output_user_data",
            "workflow_result",
            "result",
        )
    ),
    "DELETE FROM job WHERE id BETWEEN :first AND :last AND +workflow_id = :wf",
)


def begin(
    conn: sqlite3.Connection, workflow_id: int, chunk_jobs: int
) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    """The workflow's record (NotFound if it is gone) and the (first, last) job ids of each
    chunk; marks it canceled."""
    record = workflows.get(conn, workflow_id)
    conn.execute("UPDATE workflow SET is_canceled = 1 WHERE id = ?", (workflow_id,))
    return record, workflows.job_id_chunks(conn, workflow_id, chunk_jobs)


def delete_edges(conn: sqlite3.Connection, workflow_id: int, chunk_jobs: int) -> int:
    """Delete some of the workflow's edges; how many (0: none were left)."""
    params = {"wf": workflow_id, "n": chunk_jobs * EDGES_PER_JOB}
    return int(conn.execute(_EDGES, params).rowcount)


def delete_chunk(conn: sqlite3.Connection, workflow_id: int, first: int, last: int) -> None:
    """Delete the workflow's jobs with ids first..last (their edges are gone) and their files,
    user data and results."""
    params = {"wf": workflow_id, "first": first, "last": last}
    for statement in _CHUNK:
        conn.execute(statement, params)
