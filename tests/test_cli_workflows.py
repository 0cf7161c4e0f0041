"""`torc workflows ...` and the global options, through the real console script and server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_helpers import run_ready_jobs, statuses, torc, torc_json
from helpers import ServerProcess
from pytorc.client.api import TorcClient


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[TorcClient]:
    with TorcClient(server.url) as c:
        yield c


def new_user() -> str:
    return f"u{uuid.uuid4().hex[:8]}"


def make_chain(client: TorcClient, user: str, n: int = 3) -> tuple[int, list[int]]:
    """A workflow of n jobs, each waiting for the one before."""
    wf = client.create_workflow({"name": f"chain-{uuid.uuid4().hex[:6]}", "user": user})
    ids: list[int] = []
    for i in range(n):
        job = client.post(
            "/jobs",
            {
                "workflow_id": wf["id"],
                "name": f"j{i}",
                "command": "true",
                "depends_on_job_ids": ids[-1:],
            },
        )
        ids.append(job["id"])
    return wf["id"], ids


def test_json_output_is_the_api_record_and_list(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    user = new_user()
    created = torc_json(
        server.url, "workflows", "new", "-n", "w1", "-d", "first", cwd=tmp_path, user=user
    )
    wf_id = created["id"]
    assert created == client.get_workflow(wf_id)
    assert created["user"] == user and created["description"] == "first"
    got = torc_json(server.url, "workflows", "get", str(wf_id), cwd=tmp_path, user=user)
    assert got == client.get_workflow(wf_id)
    listed = torc_json(server.url, "workflows", "list", cwd=tmp_path, user=user)
    assert listed == list(client.iter_workflows(user=user, is_archived=False))
    status = torc_json(server.url, "workflows", "status", str(wf_id), cwd=tmp_path, user=user)
    assert status == client.workflow_status(wf_id)
    table = torc(server.url, "workflows", "list", cwd=tmp_path, user=user).stdout
    assert "w1" in table and "1 record" in table

    updated = torc_json(
        server.url,
        "workflows",
        "update",
        str(wf_id),
        "-n",
        "w1b",
        "--metadata",
        '{"k": 1}',
        cwd=tmp_path,
        user=user,
    )
    assert updated["name"] == "w1b" and updated["metadata"] == {"k": 1}
    assert updated == client.get_workflow(wf_id)


def test_omitted_workflow_id_picks_the_users_only_workflow(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    user = new_user()
    wf_id, _ = make_chain(client, user)
    got = torc_json(server.url, "workflows", "get", cwd=tmp_path, user=user)
    assert got["id"] == wf_id
    jobs = torc_json(server.url, "jobs", "list", cwd=tmp_path, user=user)
    assert [j["name"] for j in jobs] == ["j0", "j1", "j2"]

    second, _ = make_chain(client, user)
    proc = torc(server.url, "workflows", "get", cwd=tmp_path, user=user, expect=1)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "2 workflows" in lines[0] and str(second) in lines[0]

    nobody = torc(server.url, "jobs", "list", cwd=tmp_path, user=new_user(), expect=1)
    assert "no workflows" in nobody.stderr


def test_errors_are_one_line_naming_the_problem(server: ServerProcess, tmp_path: Path) -> None:
    missing = torc(server.url, "workflows", "get", "987654", cwd=tmp_path, expect=1)
    assert missing.stdout == ""
    assert missing.stderr.count("\n") == 1 and "987654" in missing.stderr
    assert missing.stderr.startswith("error: ")
    job = torc(server.url, "jobs", "get", "876543", cwd=tmp_path, expect=1)
    assert "876543" in job.stderr and job.stderr.count("\n") == 1

    bad_format = torc(server.url, "-f", "xml", "workflows", "list", cwd=tmp_path, expect=None)
    assert bad_format.returncode != 0
    assert bad_format.stderr.count("\n") == 1 and "xml" in bad_format.stderr

    url = "http://127.0.0.1:9/torc-service/v1"
    down = torc(url, "ping", cwd=tmp_path, expect=1)
    assert down.stderr.count("\n") == 1
    assert url in down.stderr and "TORC_API_URL" in down.stderr


def test_lifecycle_initialize_cancel_archive(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    user = new_user()
    wf_id, _ = make_chain(client, user)
    wf = str(wf_id)
    report = torc_json(server.url, "workflows", "initialize", wf, cwd=tmp_path, user=user)
    assert report["initialize"]["ready"] == 1 and report["initialize"]["blocked"] == 2
    assert statuses(client, wf_id) == {"j0": "ready", "j1": "blocked", "j2": "blocked"}
    done = torc_json(server.url, "workflows", "is-complete", wf, cwd=tmp_path, user=user)
    assert done == client.is_complete(wf_id) == {"is_complete": False, "is_canceled": False}

    plan = torc_json(server.url, "workflows", "execution-plan", wf, cwd=tmp_path, user=user)
    assert [s["jobs"] for s in plan["stages"]] == [["j0"], ["j1"], ["j2"]]

    torc(server.url, "workflows", "cancel", wf, cwd=tmp_path, user=user)
    assert client.is_complete(wf_id)["is_canceled"] is True
    torc(server.url, "workflows", "archive", "true", wf, cwd=tmp_path, user=user)
    assert torc_json(server.url, "workflows", "list", cwd=tmp_path, user=user) == []
    archived = torc_json(
        server.url, "workflows", "list", "--archived-only", cwd=tmp_path, user=user
    )
    assert [w["id"] for w in archived] == [wf_id]
    refused = torc(server.url, "workflows", "initialize", wf, cwd=tmp_path, user=user, expect=1)
    assert "archived" in refused.stderr
    torc(server.url, "workflows", "archive", "false", wf, cwd=tmp_path, user=user)

    deleted = torc_json(
        server.url, "workflows", "delete", wf, "--no-prompts", cwd=tmp_path, user=user
    )
    assert [w["id"] for w in deleted] == [wf_id]
    assert torc_json(server.url, "workflows", "list", cwd=tmp_path, user=user) == []


def test_initialize_refuses_missing_inputs_unless_forced(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    user = new_user()
    wf = client.create_workflow({"name": "needs-input", "user": user})
    file = client.post("/files", {"workflow_id": wf["id"], "name": "raw", "path": "raw.csv"})
    client.post(
        "/jobs",
        {
            "workflow_id": wf["id"],
            "name": "use",
            "command": "cat raw.csv",
            "input_file_ids": [file["id"]],
        },
    )
    refused = torc(server.url, "workflows", "initialize", cwd=tmp_path, user=user, expect=1)
    assert "raw.csv" in refused.stderr and "--force" in refused.stderr
    assert statuses(client, wf["id"]) == {"use": "uninitialized"}
    dry = torc(
        server.url, "-f", "json", "workflows", "initialize", "--dry-run",
        cwd=tmp_path, user=user, expect=1,
    )  # fmt: skip
    assert json.loads(dry.stdout)["missing_files"] == ["raw (raw.csv)"]
    torc(server.url, "workflows", "initialize", "--force", cwd=tmp_path, user=user)
    assert statuses(client, wf["id"]) == {"use": "ready"}

    (tmp_path / "raw.csv").write_text("1,2\n")
    report = torc_json(server.url, "workflows", "initialize", cwd=tmp_path, user=user)
    assert [f["name"] for f in report["recorded_files"]] == ["raw"]
    assert client.get_file(file["id"])["st_mtime"] == pytest.approx(
        (tmp_path / "raw.csv").stat().st_mtime
    )
    assert run_ready_jobs(client, wf["id"], tmp_path) == ["use"]
