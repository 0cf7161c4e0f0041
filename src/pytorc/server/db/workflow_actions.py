"""SQL for workflow actions: commands or allocations a runner executes when a trigger fires.

Trigger counts are computed when someone asks for pending actions (and stored then), so job
state changes never pay for actions. An action is pending while it is not executed (persistent
actions never become executed) and trigger_count >= required_triggers.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pytorc.errors import InvalidInput, NotFound
from pytorc.models import WorkflowActionModel
from pytorc.server.db import events
from pytorc.server.db.common import Row, dumps, loads, now_iso, require, require_in_workflow
from pytorc.vocabulary import (
    ACTION_TYPES,
    DONE,
    FINISHED,
    HELD,
    JOB_TRIGGERS,
    TRIGGER_TYPES,
    JobStatus,
    codes,
)

_SCHEDULE_NODES_FIELDS = {
    "scheduler_id": int,
    "scheduler_type": str,
    "num_allocations": int,
    "start_one_worker_per_node": bool,
    "max_parallel_jobs": int,
}


# Statuses a listed job must have reached for each job trigger to count it.
_REACHED = {
    "on_jobs_ready": codes(JobStatus.READY, *HELD, *FINISHED),
    "on_jobs_complete": codes(*FINISHED),
}
_UNFINISHED = codes(*(s for s in JobStatus if s not in DONE))
_INITIALIZED = f"""
SELECT EXISTS (SELECT 1 FROM job_status_count WHERE workflow_id = ?
                  AND status != {JobStatus.UNINITIALIZED.code} AND n > 0)
"""
_COMPLETE = f"""
SELECT NOT EXISTS (SELECT 1 FROM job_status_count WHERE workflow_id = ?
                      AND status IN ({_UNFINISHED}) AND n > 0)
"""
_COUNT_REACHED = {
    trigger: f"SELECT count(*) FROM job WHERE workflow_id = :wf AND status IN ({codes})"
    " AND id IN (SELECT value FROM json_each(:ids))"
    for trigger, codes in _REACHED.items()
}

_INSERT = """
INSERT INTO workflow_action (workflow_id, trigger_type, action_type, action_config, job_ids,
                             trigger_count, required_triggers, executed, executed_at,
                             executed_by, persistent, is_recovery)
VALUES (:workflow_id, :trigger_type, :action_type, :action_config, :job_ids, :trigger_count,
        :required_triggers, :executed, :executed_at, :executed_by, :persistent, :is_recovery)
RETURNING *
"""
_CANDIDATES = """
SELECT * FROM workflow_action
 WHERE workflow_id = ? AND (executed = 0 OR persistent = 1) ORDER BY id
"""
_CLAIM_ONCE = """
UPDATE workflow_action SET executed = 1, executed_at = :now, executed_by = :node
 WHERE id = :id AND executed = 0
"""
_CLAIM_PERSISTENT = "UPDATE workflow_action SET executed_at = :now WHERE id = :id"


def to_dict(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "workflow_id": row["workflow_id"],
        "trigger_type": row["trigger_type"],
        "action_type": row["action_type"],
        "action_config": loads(row["action_config"]),
        "job_ids": loads(row["job_ids"]),
        "trigger_count": row["trigger_count"],
        "required_triggers": row["required_triggers"],
        "executed": bool(row["executed"]),
        "executed_at": row["executed_at"],
        "executed_by": row["executed_by"],
        "persistent": bool(row["persistent"]),
        "is_recovery": bool(row["is_recovery"]),
    }


def check_config(action_type: str, config: Any) -> None:
    """Refuse a config the runner could not execute, at creation rather than at trigger time."""
    if not isinstance(config, dict):
        raise InvalidInput("action_config must be a JSON object")
    if action_type == "run_commands":
        commands = config.get("commands")
        if set(config) != {"commands"} or not isinstance(commands, list) or not commands:
            raise InvalidInput(
                'run_commands needs action_config {"commands": [...]} with at least one command'
            )
        if not all(isinstance(c, str) for c in commands):
            raise InvalidInput("run_commands: every command must be a string")
        return
    for key, value in config.items():
        expected = _SCHEDULE_NODES_FIELDS.get(key)
        if expected is None:
            raise InvalidInput(
                f"schedule_nodes: unsupported action_config field {key!r}; allowed: "
                + ", ".join(_SCHEDULE_NODES_FIELDS)
            )
        # bool is an int in Python; an int field must not accept true/false.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise InvalidInput(f"schedule_nodes: {key} must be a {expected.__name__}")


def _check(conn: sqlite3.Connection, workflow_id: int, action: WorkflowActionModel) -> list[int]:
    """Validate the action; the distinct job ids it lists."""
    if action.workflow_id != workflow_id:
        raise InvalidInput(
            f"the action's workflow_id {action.workflow_id} differs from workflow {workflow_id}"
        )
    if action.trigger_type not in TRIGGER_TYPES:
        raise InvalidInput(
            f"unknown trigger_type {action.trigger_type!r}; choose one of: "
            + ", ".join(TRIGGER_TYPES)
        )
    if action.action_type not in ACTION_TYPES:
        raise InvalidInput(
            f"unknown action_type {action.action_type!r}; choose one of: " + ", ".join(ACTION_TYPES)
        )
    check_config(action.action_type, action.action_config)
    job_ids = list(dict.fromkeys(action.job_ids or []))
    if action.trigger_type in JOB_TRIGGERS and not job_ids:
        raise InvalidInput(f"trigger_type {action.trigger_type} needs at least one job id")
    for job_id in job_ids:
        require_in_workflow(conn, "job", job_id, workflow_id, "job")
    return job_ids


def create(
    conn: sqlite3.Connection, workflow_id: int, action: WorkflowActionModel
) -> dict[str, Any]:
    """Store an action. required_triggers is computed as Torc does: the number of listed jobs
    for job triggers, else 1 (the client always sends 1, so the body's value cannot be told
    apart from a default)."""
    require(conn, "workflow", workflow_id)
    job_ids = _check(conn, workflow_id, action)
    job_ids_json = dumps(job_ids) if action.job_ids is not None else None
    values: dict[str, Any] = {
        "workflow_id": workflow_id,
        "trigger_type": action.trigger_type,
        "action_type": action.action_type,
        "action_config": dumps(action.action_config),
        "job_ids": job_ids_json,
        "required_triggers": len(job_ids) if action.trigger_type in JOB_TRIGGERS else 1,
        "executed": int(bool(action.executed)),
        "executed_at": action.executed_at,
        "executed_by": action.executed_by,
        "persistent": int(bool(action.persistent)),
        "is_recovery": int(bool(action.is_recovery)),
    }
    values["trigger_count"] = _TriggerCounter(conn, workflow_id).count(
        action.trigger_type, job_ids_json
    )
    return to_dict(conn.execute(_INSERT, values).fetchone())


def list_all(conn: sqlite3.Connection, workflow_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM workflow_action WHERE workflow_id = ? ORDER BY id", (workflow_id,)
    )
    return [to_dict(r) for r in rows]


class _TriggerCounter:
    """Trigger counts for one workflow; the workflow-wide checks run at most once each."""

    def __init__(self, conn: sqlite3.Connection, workflow_id: int) -> None:
        self.conn, self.workflow_id = conn, workflow_id
        self._flags: dict[str, bool] = {}

    def _flag(self, sql: str) -> bool:
        if sql not in self._flags:
            self._flags[sql] = bool(self.conn.execute(sql, (self.workflow_id,)).fetchone()[0])
        return self._flags[sql]

    def count(self, trigger_type: str, job_ids_json: str | None) -> int:
        if trigger_type in _COUNT_REACHED:
            params = {"wf": self.workflow_id, "ids": job_ids_json or "[]"}
            return int(self.conn.execute(_COUNT_REACHED[trigger_type], params).fetchone()[0])
        if trigger_type == "on_workflow_complete":
            return int(self._flag(_COMPLETE))
        # on_workflow_start and the worker triggers hold once the workflow is initialized.
        return int(self._flag(_INITIALIZED))


def pending(
    conn: sqlite3.Connection, workflow_id: int, trigger_types: list[str] | None
) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """Actions whose trigger holds and that are not executed (or persistent), optionally only
    of `trigger_types`; and {action id: new trigger_count} for counts that changed.

    Read-only, so runners polling for actions don't queue behind writers; store_counts()
    saves the changes.
    """
    require(conn, "workflow", workflow_id)
    wanted = None if trigger_types is None else set(trigger_types)
    counter = _TriggerCounter(conn, workflow_id)
    out, changed = [], {}
    for row in conn.execute(_CANDIDATES, (workflow_id,)).fetchall():
        if wanted is not None and row["trigger_type"] not in wanted:
            continue
        n = counter.count(row["trigger_type"], row["job_ids"])
        if n != row["trigger_count"]:
            changed[row["id"]] = n
        if n >= row["required_triggers"]:
            out.append({**to_dict(row), "trigger_count": n})
    return out, changed


def store_counts(conn: sqlite3.Connection, counts: dict[int, int]) -> None:
    conn.executemany(
        "UPDATE workflow_action SET trigger_count = ? WHERE id = ?",
        [(n, id) for id, n in counts.items()],
    )


def claim(
    conn: sqlite3.Connection, workflow_id: int, action_id: int, compute_node_id: int | None
) -> dict[str, Any]:
    """Claim an action for execution: a non-persistent one succeeds exactly once, a persistent
    one always (only its executed_at moves). Runs in the caller's write transaction."""
    require(conn, "workflow", workflow_id)
    row = conn.execute(
        "SELECT workflow_id, persistent FROM workflow_action WHERE id = ?", (action_id,)
    ).fetchone()
    if row is None or row["workflow_id"] != workflow_id:
        raise NotFound("workflow action", f"{action_id} of workflow {workflow_id}")
    if compute_node_id is not None:
        require_in_workflow(conn, "compute_node", compute_node_id, workflow_id, "compute node")
    params = {"id": action_id, "now": now_iso(), "node": compute_node_id}
    if row["persistent"]:
        conn.execute(_CLAIM_PERSISTENT, params)
        claimed = True
    else:
        claimed = conn.execute(_CLAIM_ONCE, params).rowcount == 1
    if claimed:
        action = conn.execute(
            "SELECT trigger_type, action_type FROM workflow_action WHERE id = ?", (action_id,)
        ).fetchone()
        events.record(
            conn,
            workflow_id,
            "action_started",
            f"action {action_id} ({action[0]}: {action[1]}) taken by compute node"
            f" {compute_node_id}",
            action_id=action_id,
            compute_node_id=compute_node_id,
        )
    return {"action_id": action_id, "success": claimed}
