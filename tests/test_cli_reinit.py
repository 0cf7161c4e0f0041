"""Change detection: reinitialize and reset-status rerun only what changed, and what follows it."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import run_ready_jobs, statuses, torc, torc_json
from helpers import ServerProcess
from pytorc.client.api import TorcClient


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[TorcClient]:
    with TorcClient(server.url) as c:
        yield c


def build(client: TorcClient, user: str) -> dict[str, Any]:
    """in.txt -> a -> mid.txt -> b -> out.txt;  c -> other.txt, d after c;  f reads params;
    e fails until flag.txt exists."""
    wf = client.create_workflow({"name": f"reinit-{uuid.uuid4().hex[:6]}", "user": user})
    wf_id = wf["id"]
    files = {
        f["name"]: f["id"]
        for f in client.create_files(
            [
                {"workflow_id": wf_id, "name": n, "path": f"{n}.txt"}
                for n in ("in", "mid", "out", "other")
            ]
        )
    }
    params = client.post("/user_data", {"workflow_id": wf_id, "name": "params", "data": {"x": 1}})

    def job(name: str, command: str, **rel: Any) -> int:
        body = {"workflow_id": wf_id, "name": name, "command": command, **rel}
        return int(client.post("/jobs", body)["id"])

    job("a", "cat in.txt > mid.txt", input_file_ids=[files["in"]], output_file_ids=[files["mid"]])
    job("b", "cat mid.txt > out.txt", input_file_ids=[files["mid"]], output_file_ids=[files["out"]])
    c = job("c", "echo c > other.txt", output_file_ids=[files["other"]])
    job("d", "true", depends_on_job_ids=[c])
    job("e", "test -f flag.txt")
    job("f", "true", input_user_data_ids=[params["id"]])
    return {"id": wf_id, "params": params["id"]}


def rerun(client: TorcClient, wf_id: int, cwd: Path) -> list[str]:
    return sorted(run_ready_jobs(client, wf_id, cwd))


def test_reinitialize_reruns_only_changed_jobs_and_downstream(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    user = f"u{uuid.uuid4().hex[:8]}"
    (tmp_path / "in.txt").write_text("v1\n")
    wf = build(client, user)
    wf_id = wf["id"]

    def cli(*args: str) -> Any:
        return torc_json(server.url, *args, str(wf_id), cwd=tmp_path, user=user)

    cli("workflows", "initialize")
    assert rerun(client, wf_id, tmp_path) == ["a", "b", "c", "d", "e", "f"]
    assert statuses(client, wf_id)["e"] == "failed"

    # Nothing changed: nothing reruns (the failed job stays failed until reset-status).
    quiet = cli("workflows", "reinitialize", "--dry-run")
    assert quiet["reset_jobs"] == [] and quiet["changed_files"] == []
    assert quiet["changed_input_jobs"] == [] and quiet["downstream_jobs"] == []

    # An input file is touched: its consumer and everything downstream rerun.
    later = os.stat(tmp_path / "in.txt").st_mtime + 10
    os.utime(tmp_path / "in.txt", (later, later))
    dry = cli("workflows", "reinitialize", "--dry-run")
    assert [(r["name"], r["reason"]) for r in dry["reset_jobs"]] == [
        ("a", "input file in modified")
    ]
    assert [d["name"] for d in dry["downstream_jobs"]] == ["b"]
    assert statuses(client, wf_id)["a"] == "completed"  # a dry run changes nothing
    run_before = client.get_workflow(wf_id)["run_id"]
    report = cli("workflows", "reinitialize")
    assert report["run_id"] == run_before + 1
    assert [c["reason"] for c in report["changed_files"]] == ["modified"]
    assert statuses(client, wf_id) == {
        "a": "ready",
        "b": "blocked",
        "c": "completed",
        "d": "completed",
        "e": "failed",
        "f": "completed",
    }
    assert rerun(client, wf_id, tmp_path) == ["a", "b"]
    assert cli("workflows", "reinitialize", "--dry-run")["reset_jobs"] == []  # mtime recorded

    # A completed job's output is deleted: that job and its dependents rerun.
    (tmp_path / "other.txt").unlink()
    report = cli("workflows", "reinitialize")
    assert [(r["name"], r["reason"]) for r in report["reset_jobs"]] == [
        ("c", "output file other missing")
    ]
    assert [d["name"] for d in report["downstream_jobs"]] == ["d"]
    assert rerun(client, wf_id, tmp_path) == ["c", "d"]

    # Input user data changes: the server's hash comparison resets its consumer.
    torc(
        server.url,
        "user-data",
        "update",
        str(wf["params"]),
        "-d",
        '{"x": 2}',
        cwd=tmp_path,
        user=user,
    )
    report = cli("workflows", "reinitialize")
    assert report["changed_input_jobs"] == ["f"]
    assert rerun(client, wf_id, tmp_path) == ["f"]

    # The failed job reruns with reset-status --failed-only -r; completed jobs stay done.
    (tmp_path / "flag.txt").write_text("")
    out = cli("workflows", "reset-status", "--failed-only", "-r", "--no-prompts")
    assert out["reset_job_status"]["updated_count"] == 1
    assert rerun(client, wf_id, tmp_path) == ["e"]
    assert set(statuses(client, wf_id).values()) == {"completed"}

    table = torc(server.url, "workflows", "reinitialize", str(wf_id), cwd=tmp_path, user=user)
    assert "0 job(s) to rerun" in table.stdout


def test_reinitialize_reruns_jobs_a_cancel_stopped(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    user = f"u{uuid.uuid4().hex[:8]}"
    wf = client.create_workflow({"name": "cancel-me", "user": user})
    first = client.post("/jobs", {"workflow_id": wf["id"], "name": "first", "command": "true"})
    client.post(
        "/jobs",
        {
            "workflow_id": wf["id"],
            "name": "second",
            "command": "true",
            "depends_on_job_ids": [first["id"]],
        },
    )
    torc(server.url, "workflows", "initialize", cwd=tmp_path, user=user)
    client.post(f"/workflows/{wf['id']}/claim_next_jobs", limit=1)  # first is now pending
    torc(server.url, "workflows", "cancel", cwd=tmp_path, user=user)
    assert statuses(client, wf["id"]) == {"first": "canceled", "second": "blocked"}
    report = torc_json(server.url, "workflows", "reinitialize", cwd=tmp_path, user=user)
    assert [(r["name"], r["reason"]) for r in report["reset_jobs"]] == [("first", "was canceled")]
    assert statuses(client, wf["id"]) == {"first": "ready", "second": "blocked"}
    assert run_ready_jobs(client, wf["id"], tmp_path) == ["first", "second"]


def test_torc_run_records_input_files_so_an_immediate_reinitialize_reruns_nothing(
    server: ServerProcess, tmp_path: Path
) -> None:
    """`torc run SPEC` initializes as `torc workflows initialize` does, recording the
    modification time of the input files that already exist."""
    user = f"u{uuid.uuid4().hex[:8]}"
    (tmp_path / "in.txt").write_text("v1\n")
    spec = {
        "name": "run-then-reinit",
        "files": [{"name": "in", "path": "in.txt"}, {"name": "out", "path": "out.txt"}],
        "jobs": [
            {"name": "copy", "command": "cat in.txt > out.txt"},
            {"name": "show", "command": "cat out.txt"},
        ],
    }
    spec["jobs"][0].update(input_files=["in"], output_files=["out"])
    spec["jobs"][1].update(input_files=["out"])
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    run = torc_json(server.url, "run", "spec.json", "-o", "out", cwd=tmp_path, user=user)
    assert run["completed"] == 2
    wf_id = str(run["workflow_id"])
    quiet = torc_json(server.url, "workflows", "reinitialize", "--dry-run", wf_id, cwd=tmp_path)
    assert quiet["changed_files"] == [] and quiet["reset_jobs"] == []
    assert quiet["changed_input_jobs"] == [] and quiet["downstream_jobs"] == []


def test_torc_run_refuses_a_workflow_whose_input_file_is_missing(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    """The check `torc workflows initialize` makes, made by `torc run` too (as in Torc)."""
    name = f"missing-input-{uuid.uuid4().hex[:6]}"
    spec = {
        "name": name,
        "files": [{"name": "in", "path": "absent.txt"}],
        "jobs": [{"name": "reader", "command": "cat absent.txt", "input_files": ["in"]}],
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    proc = torc(server.url, "run", "spec.json", "-o", "out", cwd=tmp_path, expect=1)
    assert "missing input files: in (absent.txt)" in proc.stderr
    assert "torc workflows initialize --force" in proc.stderr and "Traceback" not in proc.stderr
    (wf,) = [w for w in client.iter_workflows() if w["name"] == name]
    assert statuses(client, wf["id"]) == {"reader": "uninitialized"}


def test_torc_run_of_a_new_spec_still_refuses_input_user_data_never_produced(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    """A workflow `torc run` has just created skips the look-ups whose answer it knows; one
    whose spec has user data still asks the server which of them are missing."""
    name = f"missing-data-{uuid.uuid4().hex[:6]}"
    spec = {
        "name": name,
        "user_data": [{"name": "params"}],
        "jobs": [{"name": "reader", "command": "true", "input_user_data": ["params"]}],
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    proc = torc(server.url, "run", "spec.json", "-o", "out", cwd=tmp_path, expect=1)
    assert "user data never produced and empty" in proc.stderr, proc.stderr
    (wf,) = [w for w in client.iter_workflows() if w["name"] == name]
    assert statuses(client, wf["id"]) == {"reader": "uninitialized"}


def test_missing_inputs_stop_run_and_initialize_alike_and_a_dry_run_says_so_by_exit_code(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = tmp_path / "missing.yaml"
    absent = tmp_path / "no_such_input.dat"
    spec.write_text(
        "name: missing_input\n"
        f"files:\n  - {{name: data, path: {absent}}}\n"
        f"jobs:\n  - {{name: use, command: 'cat {absent}', input_files: [data]}}\n"
    )
    run = torc(server.url, "run", str(spec), "-p", "0.1", cwd=tmp_path, expect=1)
    assert f"missing input files: data ({absent})" in run.stderr
    made = torc_json(server.url, "workflows", "create", str(spec), cwd=tmp_path)
    wf = str(made["id"])
    dry = torc(server.url, "workflows", "initialize", wf, "--dry-run", cwd=tmp_path, expect=1)
    assert "cannot (yet) be initialized" in dry.stdout
    forced = torc(server.url, "workflows", "initialize", wf, "--dry-run", "--force", cwd=tmp_path)
    assert "can be initialized" in forced.stdout
    torc(server.url, "workflows", "initialize", wf, cwd=tmp_path, expect=1)
    status = torc_json(server.url, "workflows", "status", wf, cwd=tmp_path)
    assert status["jobs_by_status"]["uninitialized"] == 1  # nothing was started
