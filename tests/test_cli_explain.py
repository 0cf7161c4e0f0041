"""`torc explain JOB`: what blocks a job, whether a runner could fit it, why it was canceled."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import run_ready_jobs, torc, torc_json
from helpers import ServerProcess, compute_node
from pytorc.client.api import TorcClient


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[TorcClient]:
    with TorcClient(server.url) as c:
        yield c


def workflow(client: TorcClient) -> int:
    wf = client.create_workflow({"name": f"explain-{uuid.uuid4().hex[:6]}", "user": "tester"})
    return int(wf["id"])


def job(client: TorcClient, wf_id: int, name: str, command: str = "true", **extra: Any) -> int:
    body = {"workflow_id": wf_id, "name": name, "command": command, **extra}
    return int(client.post("/jobs", body)["id"])


def runner(client: TorcClient, wf_id: int, cpus: int, scheduler: int | None = None) -> None:
    client.post(
        "/compute_nodes",
        compute_node(
            wf_id,
            hostname=f"node-{cpus}",
            pid=os.getpid(),
            num_cpus=cpus,
            memory_gb=16.0,
            time_limit="PT2H",
            scheduler_config_id=scheduler,
        ),
    )


def test_explain_names_the_upstream_jobs_that_block(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    wf_id = workflow(client)
    a = job(client, wf_id, "prepare")
    b = job(client, wf_id, "simulate", depends_on_job_ids=[a])
    c = job(client, wf_id, "report", depends_on_job_ids=[b])
    client.initialize_jobs(wf_id)
    answer = torc_json(server.url, "explain", str(c), cwd=tmp_path)
    assert answer["status"] == "blocked"
    assert answer["blocking_jobs"] == [{"id": b, "name": "simulate", "status": "blocked"}]
    assert answer["root_blocking_jobs"] == [{"id": a, "name": "prepare", "status": "ready"}]
    text = torc(server.url, "explain", str(c), cwd=tmp_path).stdout
    assert "waiting for 1 upstream job(s): simulate" in text
    assert "held up at: prepare" in text

    ready = torc_json(server.url, "explain", str(a), cwd=tmp_path)
    assert ready["status"] == "ready" and ready["compute_nodes"] == []
    assert "no runner is active" in ready["reasons"][0]


def test_explain_says_no_runner_fits_a_huge_job(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    wf_id = workflow(client)
    rr = client.post(
        "/resource_requirements",
        {"workflow_id": wf_id, "name": "huge", "num_cpus": 10_000, "memory": "1g"},
    )
    big = job(client, wf_id, "big", resource_requirements_id=rr["id"])
    small = job(client, wf_id, "small")
    client.initialize_jobs(wf_id)
    runner(client, wf_id, cpus=8)
    answer = torc_json(server.url, "explain", str(big), cwd=tmp_path)
    assert answer["fits_any_runner"] is False
    assert answer["compute_nodes"][0]["shortfalls"] == ["num_cpus 10000 > 8"]
    assert "none of the 1 active runner(s) could fit it" in answer["reasons"][0]
    assert "num_cpus 10000 > 8" in torc(server.url, "explain", str(big), cwd=tmp_path).stdout

    fits = torc_json(server.url, "explain", str(small), cwd=tmp_path)
    assert fits["fits_any_runner"] is True


def test_explain_scheduler_pin_and_cancellation_cause(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    wf_id = workflow(client)
    scheduler = client.post(
        "/slurm_schedulers",
        {"workflow_id": wf_id, "name": "gpu", "account": "acct", "nodes": 1, "walltime": "1:00:00"},
    )
    pinned = job(client, wf_id, "pinned", scheduler_id=scheduler["id"])
    root = job(client, wf_id, "root", "exit 3")
    child = job(client, wf_id, "child", depends_on_job_ids=[root])
    grandchild = job(client, wf_id, "grandchild", depends_on_job_ids=[child])
    client.initialize_jobs(wf_id)
    runner(client, wf_id, cpus=4)
    held = torc_json(server.url, "explain", str(pinned), cwd=tmp_path)
    assert held["scheduler_match"] is False
    assert any("pinned to scheduler" in r for r in held["reasons"])

    run_ready_jobs(client, wf_id, tmp_path)
    failed = torc_json(server.url, "explain", str(root), cwd=tmp_path)
    assert failed["status"] == "failed" and failed["latest_result"]["return_code"] == 3
    canceled = torc_json(server.url, "explain", str(grandchild), cwd=tmp_path)
    assert canceled["status"] == "canceled"
    assert canceled["failed_upstream"] == [{"id": child, "name": "child", "status": "canceled"}]
    assert canceled["root_failed_jobs"] == [{"id": root, "name": "root", "status": "failed"}]
    text = torc(server.url, "explain", str(grandchild), cwd=tmp_path).stdout
    assert "cancellation started at: root" in text


def test_a_failed_run_names_its_failures_and_their_stderr_everywhere(
    server: ServerProcess, tmp_path: Path
) -> None:
    """The run summary names the failed job, its return code and stderr file; `jobs logs NAME
    --tail` and `explain NAME` show the end of that stderr."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: failing\n"
        "jobs:\n"
        "  - {name: good, command: echo fine}\n"
        "  - name: bad\n"
        "    command: 'for i in 1 2 3 4 5 6 7; do echo line$i >&2; done; exit 3'\n"
        "  - {name: after, command: echo after, depends_on: [bad]}\n"
    )
    run = torc(server.url, "run", str(spec), "-p", "0.1", cwd=tmp_path, expect=1)
    wf = run.stdout.split(":")[0].split()[-1]
    assert "jobs that did not succeed (1):" in run.stdout
    assert "bad (job " in run.stdout and "return code 3: the program exited with 3" in run.stdout
    stderr = next(
        line.split("stderr: ")[1] for line in run.stdout.splitlines() if "stderr: " in line
    )
    assert Path(stderr).read_text().splitlines()[-1] == "line7"
    assert f"torc jobs logs bad -w {wf} --stderr" in run.stdout
    logs = torc(server.url, "jobs", "logs", "bad", "-w", wf, "--stderr", "--tail", "5",
                cwd=tmp_path)  # fmt: skip
    assert logs.stdout.split() == [f"line{i}" for i in range(3, 8)]
    text = torc(server.url, "explain", "bad", "-w", wf, cwd=tmp_path).stdout
    assert "likely cause: exit (the program exited with 3)" in text
    assert f"stderr: {stderr}" in text and "  | line7" in text and "  | line2" not in text
    again = torc(server.url, "-f", "json", "run", wf, "-p", "0.1", cwd=tmp_path, expect=1)
    assert (
        json.loads(again.stdout)["failed_jobs"] == []
    )  # nothing ran again: the failure is already recorded
