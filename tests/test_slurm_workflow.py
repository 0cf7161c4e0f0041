"""Workflows run by torc-slurm-job-runner on the project's real Slurm cluster: `torc slurm
schedule-nodes` submits the allocations, every job runs once as a named srun step, the
scheduled compute nodes go pending -> active -> complete, and a job that outlives the
allocation is reported terminated before Slurm kills it."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import torc, torc_json
from helpers import ServerProcess, start_server, wait_until
from pytorc.client.api import TorcClient
from slurm_cluster import require_slurm, wait_for_job

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module", autouse=True)
def _cluster() -> None:
    require_slurm()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with start_server(tmp_path / "server") as running:
        yield running


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wf.yaml"
    path.write_text(text)
    return path


def _create(server: ServerProcess, tmp_path: Path, spec: str) -> int:
    created = torc_json(server.url, "workflows", "create", str(_spec(tmp_path, spec)), cwd=tmp_path)
    workflow_id = int(created["id"])
    torc(server.url, "workflows", "initialize", str(workflow_id), cwd=tmp_path)
    return workflow_id


def _schedule(server: ServerProcess, tmp_path: Path, workflow_id: int, *args: str) -> list[str]:
    out = torc_json(
        server.url,
        "slurm",
        "schedule-nodes",
        str(workflow_id),
        "-o",
        str(tmp_path / "out"),
        "-p",
        "0.5",
        *args,
        cwd=tmp_path,
    )
    return [str(item["slurm_job_id"]) for item in out]


def _finish(slurm_jobs: list[str], deadline_s: float = 240.0) -> None:
    started = time.monotonic()
    for job_id in slurm_jobs:
        wait_for_job(job_id, deadline_s - (time.monotonic() - started))


def _steps(slurm_jobs: list[str]) -> list[dict[str, str]]:
    """sacct's rows for every step of the allocations (polled: accounting lags a little)."""

    def rows() -> list[dict[str, str]]:
        out = subprocess.run(
            ["sacct", "-n", "-P", "-j", ",".join(slurm_jobs), "-o", "JobID,JobName,State,NodeList"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return [
            dict(zip(("id", "name", "state", "node"), line.split("|"), strict=True))
            for line in out.splitlines()
        ]

    return rows()


SWEEP = """
name: slurm-sweep
compute_node_expiration_buffer_seconds: 10
compute_node_wait_for_new_jobs_seconds: 5
jobs:
  - name: work_{i:03d}
    command: sleep 0.2
    parameters: {i: "1:200"}
slurm_schedulers:
  - name: two_nodes
    account: lab
    nodes: 2
    walltime: "00:10:00"
    extra: --exclusive
"""


def test_200_jobs_run_once_each_across_two_allocations_of_two_nodes(
    server: ServerProcess, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    workflow_id = _create(server, tmp_path, SWEEP)
    submitted_at = time.time()
    slurm_jobs = _schedule(server, tmp_path, workflow_id, "-n", "2", "--start-one-worker-per-node")
    assert len(slurm_jobs) == 2
    client = TorcClient(server.url)
    request.addfinalizer(client.close)
    wait_until(
        lambda: client.workflow_status(workflow_id)["is_complete"],
        timeout=240,
        what="the workflow to complete on the cluster",
        interval=0.5,
    )
    _finish(slurm_jobs)

    results = list(client.iter_pages("/results", workflow_id=workflow_id))
    jobs = list(client.iter_pages("/jobs", workflow_id=workflow_id))
    assert sorted(Counter(r["job_id"] for r in results).values()) == [1] * 200
    assert {j["status"] for j in jobs} == {"completed"}
    nodes = {n["id"]: n for n in client.iter_pages("/compute_nodes", workflow_id=workflow_id)}
    hosts = {nodes[r["compute_node_id"]]["hostname"] for r in results}
    assert len(hosts) >= 3, hosts
    assert {n["compute_node_type"] for n in nodes.values()} == {"slurm"}
    scheduled = list(client.iter_pages("/scheduled_compute_nodes", workflow_id=workflow_id))
    assert sorted(str(s["scheduler_id"]) for s in scheduled) == sorted(slurm_jobs)
    assert {s["status"] for s in scheduled} == {"complete"}

    names = {f"wf{workflow_id}_j{j['id']}_r1_a1" for j in jobs}
    steps = wait_until(
        lambda: (rows := _steps(slurm_jobs)) and names <= {r["name"] for r in rows} and rows,
        timeout=60,
        what="sacct to list every job's step",
    )
    assert {r["state"] for r in steps if r["name"] in names} == {"COMPLETED"}
    logs = sorted(p.name for p in (tmp_path / "out").glob("job_runner_*.log"))
    assert len(logs) == 4 and all(name.endswith(f"_wf{workflow_id}_r1.log") for name in logs)

    first_start = min(_epoch(r) for r in results)
    last_end = max(_epoch(r) for r in results)
    print(  # the figures for the note (pytest -s)
        f"\nsbatch -> first job done {first_start - submitted_at:.1f} s;"
        f" 200 jobs in {last_end - first_start:.1f} s"
        f" ({200 / max(last_end - first_start, 1e-3):.1f} jobs/s) on {sorted(hosts)}"
    )


def _epoch(result: dict[str, Any]) -> float:
    from datetime import datetime

    return datetime.fromisoformat(result["completion_time"].replace("Z", "+00:00")).timestamp()


OUTLIVES = """
name: slurm-walltime
compute_node_expiration_buffer_seconds: 20
compute_node_min_time_for_new_jobs_seconds: 5
resource_requirements:
  - {name: brief, num_cpus: 1, memory: 100m, runtime: PT30S}
jobs:
  - {name: quick, command: "true", resource_requirements: brief}
  - {name: too_long, command: sleep 600, resource_requirements: brief}
slurm_schedulers:
  - name: short
    account: lab
    nodes: 1
    walltime: "00:01:00"
"""


def test_a_job_that_outlives_the_allocation_is_reported_terminated(
    server: ServerProcess, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    workflow_id = _create(server, tmp_path, OUTLIVES)
    slurm_jobs = _schedule(server, tmp_path, workflow_id)
    client = TorcClient(server.url)
    request.addfinalizer(client.close)
    _finish(slurm_jobs, deadline_s=150)
    status = {j["name"]: j["status"] for j in client.iter_pages("/jobs", workflow_id=workflow_id)}
    assert status == {"quick": "completed", "too_long": "terminated"}
    [result] = [
        r
        for r in client.iter_pages("/results", workflow_id=workflow_id)
        if r["status"] == "terminated"
    ]
    assert 25 <= result["exec_time_minutes"] * 60 <= 55  # stopped ~20 s before the 60 s limit
    state = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-j", slurm_jobs[0], "-o", "State"],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert state == ["COMPLETED"]  # the runner ended before Slurm had to kill it


def test_sbatch_refusing_an_allocation_is_a_clear_error_and_records_nothing(
    server: ServerProcess, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    spec = SWEEP.replace("extra: --exclusive", "partition: nosuch")
    workflow_id = _create(server, tmp_path, spec)
    done = torc(
        server.url,
        "slurm",
        "schedule-nodes",
        str(workflow_id),
        "-o",
        str(tmp_path / "out"),
        cwd=tmp_path,
        expect=None,
    )
    assert done.returncode != 0 and "sbatch" in done.stderr and "nosuch" in done.stderr
    assert "Traceback" not in done.stderr
    client = TorcClient(server.url)
    request.addfinalizer(client.close)
    assert list(client.iter_pages("/scheduled_compute_nodes", workflow_id=workflow_id)) == []
