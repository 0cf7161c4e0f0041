"""A job no process can be given (NUL bytes, a bad environment name) is refused at creation
with a 422 naming the field, and one that reaches a runner anyway fails on its own: the runner
goes on with the rest."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli_helpers import torc, torc_json
from helpers import ServerProcess


@pytest.mark.parametrize(
    ("job", "named"),
    [
        ({"command": "echo a\x00b"}, "command contains a NUL byte"),
        ({"name": "bad\x00name"}, "name contains a NUL byte"),
        ({"invocation_script": "bash\x00"}, "invocation_script contains a NUL byte"),
        ({"env": {"A=B": "x"}}, "env name 'A=B'"),
        ({"env": {"": "x"}}, "env name ''"),
        ({"env": {"A": "x\x00y"}}, "env['A'] contains a NUL byte"),
    ],
    ids=["command", "name", "invocation-script", "env-equals", "env-empty", "env-value"],
)
def test_a_job_no_process_can_be_given_is_refused_at_creation(
    server: ServerProcess, workflow: Any, job: dict[str, Any], named: str
) -> None:
    body = {"workflow_id": workflow.id, "name": "j", "command": "true", **job}
    single = httpx.post(f"{server.url}/jobs", json=body, timeout=10)
    assert single.status_code == 422 and named in single.text
    good = {"workflow_id": workflow.id, "name": "ok", "command": "true"}
    bulk = httpx.post(f"{server.url}/bulk_jobs", json={"jobs": [good, body]}, timeout=10)
    assert bulk.status_code == 422 and named in bulk.text
    listed = httpx.get(f"{server.url}/jobs", params={"workflow_id": workflow.id}, timeout=10)
    assert listed.json()["total_count"] == 0  # nothing half-created


def test_a_runner_fails_a_job_it_cannot_start_and_runs_the_others(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = tmp_path / "wf.yaml"
    spec.write_text(
        "name: nul\njobs:\n  - {name: broken, command: 'echo x'}\n"
        "  - name: fine_{i}\n    command: 'true'\n    parameters: {i: '1:4'}\n"
    )
    workflow_id = int(torc_json(server.url, "workflows", "create", str(spec), cwd=tmp_path)["id"])
    with sqlite3.connect(server.db_path) as db:  # as an older server might have stored it
        db.execute(
            "UPDATE job SET command = 'echo a' || char(0) || 'b'"
            " WHERE workflow_id = ? AND name = 'broken'",
            (workflow_id,),
        )
    done = torc(
        server.url,
        "run",
        str(workflow_id),
        "-o",
        str(tmp_path / "out"),
        "-p",
        "0.2",
        cwd=tmp_path,
        expect=1,
    )
    assert "4 completed, 1 failed" in done.stdout
    results = httpx.get(
        f"{server.url}/results", params={"workflow_id": workflow_id}, timeout=10
    ).json()["items"]
    assert sorted(r["return_code"] for r in results) == [0, 0, 0, 0, 127]
