"""Job sweeps (pytorc extension): a job template and its parameters, expanded and inserted here.

Sent as records, a million-job sweep cost the client ~50 s of building and sending them and the
server as long validating them one by one. A sweep is a few hundred bytes: expanded with the
spec's own rules (pytorc.parameters), inserted from one JSON text per chunk, and its edges (the
jobs every member waits for, the fan-in jobs that wait for every member) with one
INSERT ... SELECT per chunk.

While the workflow is being created (nothing can run it yet) the sweep is inserted in chunks of
CHUNK jobs, one write transaction each, so other workflows' writes are not held up for seconds;
if a later chunk is refused, the chunks already written are deleted before the answer (a server
killed part way leaves the workflow incomplete, refused until it is deleted). Otherwise the whole
sweep is one transaction.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pytorc.errors import InvalidInput
from pytorc.models import JobSweepModel
from pytorc.parameters import TEMPLATE, Value, count_rows, parse_all, row_formatter, rows
from pytorc.server.db import jobs, status_counts
from pytorc.server.db.common import dumps, next_ids, require

CHUNK = 50_000

_NOT_IN_TEMPLATE = (
    "input_file_ids",
    "output_file_ids",
    "input_user_data_ids",
    "output_user_data_ids",
    "depends_on_job_names",
)
_INSERT = """
INSERT INTO job (id, workflow_id, name, command, status, invocation_script,
                 cancel_on_blocking_job_failure, supports_termination, resource_requirements_id,
                 scheduler_id, failure_handler_id, attempt_id, schedule_compute_nodes, priority,
                 env, origin)
SELECT :first + r.key, :workflow_id, r.value ->> 0, r.value ->> 1, 0, r.value ->> 2,
       :cancel_on_blocking_job_failure, :supports_termination, :resource_requirements_id,
       :scheduler_id, :failure_handler_id, :attempt_id, :schedule_compute_nodes, :priority,
       :env, :origin
  FROM json_each(:records) r
"""
_UPSTREAM_EDGES = """
INSERT INTO job_depends_on (job_id, depends_on_job_id, workflow_id)
SELECT j.id, u.value, j.workflow_id FROM job j, json_each(:upstream) u
 WHERE j.id BETWEEN :first AND :last ORDER BY j.id, u.value
"""
_FAN_IN_EDGES = """
INSERT INTO job_depends_on (job_id, depends_on_job_id, workflow_id)
SELECT f.value, j.id, j.workflow_id FROM json_each(:dependents) f, job j
 WHERE j.id BETWEEN :first AND :last ORDER BY f.value, j.id
"""


@dataclass
class Sweep:
    """One sweep request on its way into the database, a chunk per `step`."""

    workflow_id: int
    body: JobSweepModel
    count: int
    values: Iterator[tuple[Value, ...]]
    first_id: int = 0
    rr_default: int | None = None
    inserted: int = 0
    seen: set[str] = field(default_factory=set)  # names given so far, and the workflow's own

    @classmethod
    def parse(cls, workflow_id: int, body: JobSweepModel) -> Sweep:
        """Check the request before any write; InvalidInput names what is wrong."""
        template = body.job
        if template.workflow_id != workflow_id:
            raise InvalidInput(
                f"job.workflow_id is {template.workflow_id}, but the sweep is posted to"
                f" workflow {workflow_id}"
            )
        for name in _NOT_IN_TEMPLATE:
            if getattr(template, name):
                raise InvalidInput(f"a sweep's job cannot have {name}; create such jobs one by one")
        try:
            values = parse_all(body.parameters)
            count = count_rows(values, body.parameter_mode)
            expanded = rows(values, body.parameter_mode)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        if not values:
            raise InvalidInput("a sweep needs at least one parameter")
        for name, items in values.items():
            if any(isinstance(v, str) and "\x00" in v for v in items):
                raise InvalidInput(f"parameter {name!r} has a value with a NUL byte")
        used = {m[1] for m in TEMPLATE.finditer(template.name)}
        if not used & values.keys():
            raise InvalidInput(
                f"the job name {template.name!r} uses none of the parameters"
                f" ({', '.join(values)}), so every job of the sweep would have that name"
            )
        return cls(workflow_id, body, count, iter(expanded))

    @property
    def done(self) -> bool:
        return self.inserted >= self.count

    @property
    def last_id(self) -> int:
        return self.first_id + self.count - 1

    def step(self, conn: sqlite3.Connection) -> None:
        """Insert the next chunk (all of it unless the workflow is still being created)."""
        workflow = require(conn, "workflow", self.workflow_id)  # deleted meanwhile: 404
        if self.first_id == 0:
            self._begin(conn)
        size = CHUNK if workflow["creating"] else self.count
        while not self.done and size > 0:
            n = min(size, self.count - self.inserted)
            self._insert(conn, n)
            size -= n

    def undo(self, conn: sqlite3.Connection) -> None:
        """Delete the jobs (and, by cascade, the edges) that chunks already committed: a sweep
        refused part way is refused whole."""
        if self.inserted:
            conn.execute(
                "DELETE FROM job WHERE workflow_id = ? AND id BETWEEN ? AND ?",
                (self.workflow_id, self.first_id, self.first_id + self.inserted - 1),
            )
            self.inserted = 0

    def answer(self) -> dict[str, Any]:
        return {
            "workflow_id": self.workflow_id,
            "count": self.count,
            "first_id": self.first_id,
            "last_id": self.last_id,
        }

    def _begin(self, conn: sqlite3.Connection) -> None:
        """Check every reference, reserve the sweep's ids, and note the names already taken."""
        template = self.body.job
        self.rr_default = jobs.check_references(conn, [template])[self.workflow_id]
        dependents = sorted(set(self.body.dependent_job_ids))
        found = conn.execute(
            "SELECT count(*) FROM job WHERE workflow_id = ? AND id IN"
            " (SELECT value FROM json_each(?))",
            (self.workflow_id, dumps(dependents)),
        ).fetchone()[0]
        if found != len(dependents):
            raise InvalidInput(
                f"dependent_job_ids must be jobs of workflow {self.workflow_id}; some are not"
            )
        self.first_id = next_ids(conn, "job", self.count)
        prefix = TEMPLATE.split(template.name, maxsplit=1)[0]
        self.seen.update(
            row[0]
            for row in conn.execute(
                "SELECT name FROM job WHERE workflow_id = ? AND name >= ? AND name < ?",
                (self.workflow_id, prefix, prefix + "\U0010ffff"),
            )
        )

    def _insert(self, conn: sqlite3.Connection, n: int) -> None:
        template, names = self.body.job, list(self.body.parameters)
        name_of = row_formatter(template.name, names)
        command_of = row_formatter(template.command, names)
        script_of = row_formatter(template.invocation_script or "", names)
        script = template.invocation_script is not None
        # the columns every job of the sweep shares, as a bulk upload would store them
        shared = jobs.insert_params(template, 0, {self.workflow_id: self.rr_default})
        first = self.first_id + self.inserted
        records = []
        seen = self.seen
        for row in itertools.islice(self.values, n):
            try:
                name, command = name_of(row), command_of(row)
            except ValueError as exc:
                raise InvalidInput(str(exc)) from None
            if name in seen:
                raise InvalidInput(
                    f"the sweep makes the job name {name!r} twice, or the workflow already has"
                    " a job of that name: give every parameter a placeholder in the name"
                )
            seen.add(name)
            records.append((name, command, script_of(row)) if script else (name, command))
        # One JSON text read by json_each inserts ~3x faster than executemany's per-row binding.
        conn.execute(
            _INSERT,
            {**shared, "first": first, "records": json.dumps(records)},
        )
        conn.execute(status_counts.COUNT_NEW, (self.workflow_id, n))
        span = {"first": first, "last": first + n - 1}
        if template.depends_on_job_ids:
            conn.execute(_UPSTREAM_EDGES, {**span, "upstream": dumps(template.depends_on_job_ids)})
        if self.body.dependent_job_ids:
            dependents = dumps(sorted(set(self.body.dependent_job_ids)))
            conn.execute(_FAN_IN_EDGES, {**span, "dependents": dependents})
        self.inserted += n
