"""Job sweeps: a parameterized job expanded by the server (POST /workflows/{id}/job_sweeps), and
the spec's big sweeps sent that way. The jobs, edges and hashes must be the ones the client's own
expansion and bulk upload would have made; anything else is refused whole."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli_helpers import torc
from helpers import ServerProcess, initialize_in_one_transaction, start_server, wait_until
from pytorc.client.api import TorcClient
from pytorc.server.db.connection import apply_migrations
from pytorc.server.services.initialization import input_hashes
from pytorc.spec import build, create_workflow_from_spec, load_for_upload, load_spec, sweeps


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


def _workflow(c: httpx.Client) -> int:
    return int(c.post("/workflows", json={"name": "sweep", "user": "tester"}).json()["id"])


def _jobs(c: httpx.Client, wf: int) -> list[dict[str, Any]]:
    page = c.get("/jobs", params={"workflow_id": wf, "limit": 10000, "include_relationships": True})
    return list(page.json()["items"])


def _sweep(c: httpx.Client, wf: int, job: dict[str, Any], **body: Any) -> httpx.Response:
    return c.post(f"/workflows/{wf}/job_sweeps", json={"job": {"workflow_id": wf, **job}, **body})


def test_a_sweep_makes_each_value_sets_job_with_its_edges(client: httpx.Client) -> None:
    wf = _workflow(client)
    setup = client.post("/jobs", json={"workflow_id": wf, "name": "setup", "command": "true"})
    fan_in = client.post("/jobs", json={"workflow_id": wf, "name": "all", "command": "true"})
    up, down = setup.json()["id"], fan_in.json()["id"]
    answer = _sweep(
        client,
        wf,
        {
            "name": "w_{lr:.2f}_{n:03d}",
            "command": "train --lr {lr} --n {n} ${HOME} {other}",
            "depends_on_job_ids": [up],
            "priority": 3,
            "origin": "sweep-test",
        },
        parameters={"lr": "0.1:0.3:0.1", "n": [1, 20]},
        dependent_job_ids=[down],
    )
    assert answer.status_code == 200, answer.text
    made = answer.json()
    assert made["count"] == 6 and made["last_id"] - made["first_id"] == 5
    jobs = {j["name"]: j for j in _jobs(client, wf)}
    expected = [(lr, n) for lr in (0.1, 0.2, 0.3) for n in (1, 20)]
    for offset, (lr, n) in enumerate(expected):
        job = jobs[f"w_{lr:.2f}_{n:03d}"]
        assert job["id"] == made["first_id"] + offset  # product order, first parameter outermost
        assert job["command"] == f"train --lr {lr} --n {n} ${{HOME}} {{other}}"
        assert job["depends_on_job_ids"] == [up] and job["priority"] == 3
        assert job["origin"] == "sweep-test"  # every template field is stored, as in bulk_jobs
        assert job["status"] == "uninitialized"
    assert jobs["all"]["depends_on_job_ids"] == list(range(made["first_id"], made["last_id"] + 1))
    init = client.post(f"/workflows/{wf}/initialize_jobs").json()
    assert (init["ready"], init["blocked"]) == (1, 7)
    status = client.get(f"/workflows/{wf}/status").json()
    assert status["total_jobs"] == 8 and status["jobs_by_status"]["blocked"] == 7


def test_zip_pairs_values_and_scripts_are_templated(client: httpx.Client) -> None:
    wf = _workflow(client)
    job = {"name": "z_{a}_{b}", "command": "run", "invocation_script": "echo {a} > {b}.txt"}
    body = {"parameters": {"a": [1, 2, 3], "b": "['x','y','z']"}, "parameter_mode": "zip"}
    assert _sweep(client, wf, job, **body).status_code == 200
    scripts = {j["name"]: j["invocation_script"] for j in _jobs(client, wf)}
    assert scripts == {
        "z_1_x": "echo 1 > x.txt",
        "z_2_y": "echo 2 > y.txt",
        "z_3_z": "echo 3 > z.txt",
    }


@pytest.mark.parametrize(
    ("job", "body", "problem"),
    [
        ({"name": "s_{i}", "command": "x"}, {"parameters": {"i": "1-20"}}, "write '1:20'"),
        ({"name": "same", "command": "x"}, {"parameters": {"i": "1:3"}}, "uses none of the"),
        ({"name": "s_{i:.1f}", "command": "x"}, {"parameters": {"i": [1.01, 1.02]}}, "twice"),
        ({"name": "s_{i:d}", "command": "x"}, {"parameters": {"i": ["a"]}}, "does not apply"),
        (
            {"name": "s_{i}", "command": "x", "input_file_ids": [1]},
            {"parameters": {"i": "1:2"}},
            "input_file_ids",
        ),
        (
            {"name": "s_{i}", "command": "x"},
            {"parameters": {"i": "1:2"}, "dependent_job_ids": [99999]},
            "dependent_job_ids",
        ),
        (
            {"name": "s_{i}", "command": "x"},
            {"parameters": {"i": "1:2"}, "parameter_mode": "grid"},
            "parameter_mode",
        ),
        (
            {"name": "s_{a}_{b}", "command": "x"},
            {"parameters": {"a": "1:2", "b": "1:3"}, "parameter_mode": "zip"},
            "equally many",
        ),
    ],
)
def test_a_bad_sweep_is_refused_whole_with_its_reason(
    client: httpx.Client, job: dict[str, Any], body: dict[str, Any], problem: str
) -> None:
    wf = _workflow(client)
    client.post("/jobs", json={"workflow_id": wf, "name": "kept", "command": "true"})
    answer = _sweep(client, wf, job, **body)
    assert answer.status_code == 422, answer.text
    assert problem in answer.text
    assert [j["name"] for j in _jobs(client, wf)] == ["kept"]
    assert client.get(f"/workflows/{wf}/status").json()["total_jobs"] == 1


def test_a_name_the_workflow_already_has_is_refused(client: httpx.Client) -> None:
    wf = _workflow(client)
    client.post("/jobs", json={"workflow_id": wf, "name": "s_2", "command": "true"})
    answer = _sweep(client, wf, {"name": "s_{i}", "command": "x"}, parameters={"i": "1:3"})
    assert answer.status_code == 422 and "'s_2'" in answer.text
    assert len(_jobs(client, wf)) == 1
    other = _sweep(client, wf, {"name": "s_{i}", "command": "x"}, parameters={"i": "3:4"})
    assert other.status_code == 200
    assert sorted(j["name"] for j in _jobs(client, wf)) == ["s_2", "s_3", "s_4"]


_SPEC = """
name: sweep_spec
jobs:
  - name: setup
    command: mkdir -p out
  - name: work_{i:03d}
    command: echo {i} > out/{i}.txt
    depends_on: [setup]
    parameters:
      i: "1:12"
  - name: aggregate
    command: ls out | wc -l > count.txt
    depends_on_regexes: ["^work_"]
  - name: small_{k}
    command: "true"
    parameters:
      k: "1:3"
"""


def test_a_spec_sweep_is_sent_whole_and_runs_as_if_expanded(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweeps, "SWEEP_MIN_JOBS", 10)
    spec_file = tmp_path / "sweep.yaml"
    spec_file.write_text(_SPEC)
    kept, found = load_for_upload(spec_file)
    assert [s.template.name for s in found] == ["work_{i:03d}"]
    assert found[0].fan_ins == ["aggregate"] and found[0].count == 12
    assert [j.name for j in kept.jobs] == ["setup", "aggregate", "small_1", "small_2", "small_3"]
    sent: list[str] = []
    original = build._Upload.job_sweeps

    def spy(upload: Any) -> None:
        sent.extend(s.template.name for s in upload.sweeps)
        original(upload)

    monkeypatch.setattr(build._Upload, "job_sweeps", spy)
    with TorcClient(server.url) as client:
        wf = int(create_workflow_from_spec(client, spec_file, user="tester")["id"])
    assert sent == ["work_{i:03d}"]
    expanded = {j.name: j for j in load_spec(spec_file).jobs}
    with httpx.Client(base_url=server.url) as c:
        stored = {j["name"]: j for j in _jobs(c, wf)}
    assert stored.keys() == expanded.keys()
    for name, job in expanded.items():
        assert stored[name]["command"] == job.command
        upstream = {stored[u]["id"] for u in job.depends_on}
        assert set(stored[name]["depends_on_job_ids"]) == upstream, name
    torc(server.url, "run", str(wf), cwd=tmp_path)
    assert (tmp_path / "count.txt").read_text().strip() == "12"
    with httpx.Client(base_url=server.url) as c:
        status = c.get(f"/workflows/{wf}/status").json()
    assert status["jobs_by_status"]["completed"] == 17 and status["is_complete"]


@pytest.mark.parametrize(
    "extra",
    [
        "  - name: one\n    command: 'true'\n    depends_on: [work_005]\n",
        "  - name: some\n    command: 'true'\n    depends_on_regexes: ['^work_00']\n",
        "files:\n  - name: cfg\n    path: cfg.txt\n",  # with the sweep reading it, below
    ],
)
def test_a_sweep_whose_jobs_are_named_one_by_one_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str
) -> None:
    monkeypatch.setattr(sweeps, "SWEEP_MIN_JOBS", 10)
    spec_file = tmp_path / "sweep.yaml"
    text = _SPEC + extra
    if extra.startswith("files:"):
        text = text.replace("echo {i} > out", "cat ${files.input.cfg} > out")
    spec_file.write_text(text)
    kept, found = load_for_upload(spec_file)
    assert found == []
    assert [j.name for j in kept.jobs] == [j.name for j in load_spec(spec_file).jobs]


def test_initialization_stores_the_same_hashes_as_the_general_computation(tmp_path: Path) -> None:
    """The one-pass UPDATE writes hashes inline for jobs without files or user data; they must
    equal input_hashes' (which `reinitialize` compares against)."""
    conn = sqlite3.connect(tmp_path / "h.db", isolation_level=None)
    conn.row_factory = sqlite3.Row
    apply_migrations(conn)
    conn.execute("INSERT INTO workflow (id, name, user, timestamp) VALUES (1, 'w', 'u', 'now')")
    commands = ["true", "echo 'é ü' \"q\" \\ \t", "x" * 300, "日本"]
    for i, command in enumerate(commands, start=1):
        script = None if i % 2 else f"#!/bin/sh\necho {i} ✓"
        conn.execute(
            "INSERT INTO job (id, workflow_id, name, command, invocation_script)"
            " VALUES (?, 1, ?, ?, ?)",
            (i, f"j{i}", command, script),
        )
    conn.execute("INSERT INTO file (id, workflow_id, name, path) VALUES (1, 1, 'f', 'f.txt')")
    conn.execute("INSERT INTO job_input_file (job_id, file_id, workflow_id) VALUES (4, 1, 1)")
    for job_id, upstream in ((2, 1), (3, 1), (3, 2)):
        conn.execute(
            "INSERT INTO job_depends_on (job_id, depends_on_job_id, workflow_id) VALUES (?, ?, 1)",
            (job_id, upstream),
        )
    conn.execute("BEGIN")
    initialize_in_one_transaction(conn, 1)
    conn.execute("COMMIT")
    stored = dict(conn.execute("SELECT id, input_hash FROM job").fetchall())
    assert stored == input_hashes(conn, 1)
    assert len(set(stored.values())) == 4
    # the counts taken around the status change are exact, and no mark is left behind
    kept = dict(conn.execute("SELECT status, n FROM job_status_count WHERE n > 0").fetchall())
    real = dict(conn.execute("SELECT status, count(*) FROM job GROUP BY status").fetchall())
    assert kept == real == {1: 2, 2: 2}  # blocked: j2, j3 (after j1); ready: j1, j4
    assert conn.execute("SELECT count(*) FROM job_status_bulk").fetchone()[0] == 0
    conn.execute("UPDATE job SET status = 3 WHERE id = 1")  # the trigger counts again
    kept = dict(conn.execute("SELECT status, n FROM job_status_count WHERE n > 0").fetchall())
    assert kept == {1: 2, 2: 1, 3: 1}


def test_a_server_killed_during_a_sweep_leaves_the_workflow_flagged_incomplete(
    tmp_path: Path,
) -> None:
    """SIGKILL of the server while it writes a 400,000-job sweep chunk by chunk (the workflow is
    being created): after a restart the chunks already written are there, the workflow is
    refused as incomplete, and deleting it removes every job."""
    with start_server(tmp_path) as server:
        with TorcClient(server.url) as client:
            wf = int(client.create_workflow({"name": "cut", "user": "tester"}, creating=True)["id"])
        body = {
            "job": {"workflow_id": wf, "name": "j{i}", "command": "true"},
            "parameters": {"i": "1:400000"},
        }

        def send() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server dies under it
                httpx.post(f"{server.url}/workflows/{wf}/job_sweeps", json=body, timeout=120)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()

        def written() -> bool:
            count = httpx.get(f"{server.url}/workflows/{wf}/status").json()["total_jobs"]
            return bool(count)

        wait_until(written, timeout=60, interval=0.01, what="the first chunk to be written")
        server.stop(signal.SIGKILL)
        sender.join(timeout=30)
    with start_server(tmp_path) as server, httpx.Client(base_url=server.url) as c:
        total = c.get(f"/workflows/{wf}/status").json()["total_jobs"]
        assert 0 < total < 400000 and total % 50000 == 0  # whole chunks only
        refused = c.post(f"/workflows/{wf}/initialize_jobs")
        assert refused.status_code == 409 and "incomplete" in refused.text
        assert c.delete(f"/workflows/{wf}").status_code == 200
        left = c.get("/jobs", params={"workflow_id": wf})
        assert left.status_code == 404 or left.json()["total_count"] == 0


def test_a_sweep_refused_after_its_first_chunk_leaves_nothing(client: httpx.Client) -> None:
    """While the workflow is being created the sweep is written 50,000 jobs per transaction; a
    duplicate name in the second chunk still refuses the whole sweep, edges included."""
    created = client.post(
        "/workflows", params={"creating": "true"}, json={"name": "c", "user": "t"}
    )
    wf = created.json()["id"]
    fan_in = client.post("/jobs", json={"workflow_id": wf, "name": "all", "command": "true"})
    values = [*range(1, 60001), 5]  # "j5" again, 60,001st
    answer = _sweep(
        client,
        wf,
        {"name": "j{i}", "command": "true"},
        parameters={"i": values},
        dependent_job_ids=[fan_in.json()["id"]],
    )
    assert answer.status_code == 422 and "'j5'" in answer.text
    assert client.get(f"/workflows/{wf}/status").json()["total_jobs"] == 1
    edges = client.get(f"/workflows/{wf}/job_dependencies").json()
    assert edges["total_count"] == 0
