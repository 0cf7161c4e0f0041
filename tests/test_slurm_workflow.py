"""Workflows run by torc-slurm-job-runner on the project's real Slurm cluster: `torc slurm
schedule-nodes` submits the allocations, every job runs once as a named srun step, the
scheduled compute nodes go pending -> active -> complete, and a job that outlives the
allocation is reported terminated before Slurm kills it."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import cli_env, torc, torc_json
from helpers import SERVER, ServerProcess, start_server, wait_until
from pytorc.client.api import TorcClient
from slurm_cluster import cancel_new_jobs, queued_jobs, require_slurm, wait_for_job

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module", autouse=True)
def _cluster() -> None:
    require_slurm()


@pytest.fixture(autouse=True)
def _no_leftover_allocations() -> Iterator[None]:
    """Each test starts on a free cluster: what a test leaves queued is canceled after it."""
    before = queued_jobs()
    yield
    cancel_new_jobs(before)


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
    stored = torc_json(server.url, "slurm", "sacct", str(workflow_id), cwd=tmp_path)["stored"]
    assert stored == 200
    stats = list(client.iter_pages("/slurm_stats", workflow_id=workflow_id))
    assert sorted(s["job_id"] for s in stats) == sorted(j["id"] for j in jobs)
    assert all(
        s["node_list"] in hosts and s["slurm_job_id"].split(".")[0] in slurm_jobs for s in stats
    )
    again = torc_json(server.url, "slurm", "sacct", str(workflow_id), cwd=tmp_path)
    assert again["stored"] == 0  # stored once, however often it is asked
    usage = torc_json(server.url, "slurm", "usage", str(workflow_id), cwd=tmp_path)
    assert sorted(u["slurm_job_id"] for u in usage) == sorted(slurm_jobs)
    assert sum(u["jobs"] for u in usage) == 200 and all(u["nodes"] == 2 for u in usage)
    assert all(u["node_hours"] > 0 and u["tail"] >= 0 for u in usage)
    print("\nusage:", usage)
    logs = sorted(p.name for p in (tmp_path / "out").glob("job_runner_*.log"))
    assert len(logs) == 4 and all(name.endswith(f"_wf{workflow_id}_r1.log") for name in logs)

    first_start = min(_epoch(r) - 60 * r["exec_time_minutes"] for r in results)
    last_end = max(_epoch(r) for r in results)
    print(  # the figures for the note (pytest -s)
        f"\nsbatch -> first job started {first_start - submitted_at:.1f} s;"
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
  - name: too_long  # outlives its first allocation; a rerun finds the marker and is quick
    command: "if [ -e marker ]; then true; else touch marker; sleep 600; fi"
    resource_requirements: brief
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

    torc(
        server.url,
        "workflows",
        "reset-status",
        str(workflow_id),
        "--failed-only",
        "-r",
        "--no-prompts",
        cwd=tmp_path,
    )
    plan = torc_json(server.url, "slurm", "regenerate", str(workflow_id), "--dry-run", cwd=tmp_path)
    assert [a["trigger_type"] for a in plan["actions"]] == ["on_workflow_start"]  # one ready job
    again = torc_json(
        server.url,
        "slurm",
        "regenerate",
        str(workflow_id),
        "--submit",
        "-o",
        str(tmp_path / "out"),
        cwd=tmp_path,
    )
    _finish(again["slurm_job_ids"], deadline_s=120)
    status = {j["name"]: j["status"] for j in client.iter_pages("/jobs", workflow_id=workflow_id)}
    assert status == {"quick": "completed", "too_long": "completed"}  # the rerun picked it up


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


LONG = """
name: slurm-long
compute_node_expiration_buffer_seconds: 10
compute_node_min_time_for_new_jobs_seconds: 5
resource_requirements:
  - {name: one, num_cpus: 1, memory: 100m, runtime: PT5M}
jobs:
  - {name: long_1, command: sleep 600, resource_requirements: one}
  - {name: long_2, command: sleep 600, resource_requirements: one}
slurm_schedulers:
  - {name: node, account: lab, nodes: 1, walltime: "00:10:00", extra: --exclusive}
"""


def _running_on_cluster(server: ServerProcess, tmp_path: Path) -> tuple[int, str, TorcClient]:
    """A workflow whose two long jobs are running in one live allocation."""
    workflow_id = _create(server, tmp_path, LONG)
    [slurm_job] = _schedule(server, tmp_path, workflow_id)
    client = TorcClient(server.url)
    wait_until(
        lambda: _statuses(client, workflow_id) == {"long_1": "running", "long_2": "running"},
        timeout=60,
        what="both jobs running in the allocation",
        interval=0.3,
    )
    return workflow_id, slurm_job, client


def _statuses(client: TorcClient, workflow_id: int) -> dict[str, str]:
    return {j["name"]: j["status"] for j in client.iter_pages("/jobs", workflow_id=workflow_id)}


def test_sync_status_fails_the_jobs_of_an_allocation_killed_under_them(
    server: ServerProcess, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    workflow_id, slurm_job, client = _running_on_cluster(server, tmp_path)
    request.addfinalizer(client.close)
    # The runner dies first (as on a node crash), so nothing reports; then the allocation goes.
    [node] = client.iter_pages("/compute_nodes", workflow_id=workflow_id)
    os.kill(node["pid"], signal.SIGKILL)  # the test cluster's nodes share this machine
    subprocess.run(["scancel", slurm_job], check=True)
    _finish([slurm_job], deadline_s=60)
    assert _statuses(client, workflow_id) == {"long_1": "running", "long_2": "running"}

    dry = torc_json(
        server.url, "workflows", "sync-status", str(workflow_id), "--dry-run", cwd=tmp_path
    )
    assert dry["gone_allocations"] == [slurm_job] and len(dry["failed_jobs"]) == 2
    assert _statuses(client, workflow_id) == {"long_1": "running", "long_2": "running"}

    done = torc(server.url, "workflows", "sync-status", str(workflow_id), cwd=tmp_path).stdout
    assert f"1 allocation(s) gone from Slurm: {slurm_job}" in done and "-128" in done
    assert _statuses(client, workflow_id) == {"long_1": "failed", "long_2": "failed"}
    [scheduled] = client.iter_pages("/scheduled_compute_nodes", workflow_id=workflow_id)
    assert scheduled["status"] == "complete"
    assert not any(
        n["is_active"] for n in client.iter_pages("/compute_nodes", workflow_id=workflow_id)
    )
    again = torc_json(server.url, "workflows", "sync-status", str(workflow_id), cwd=tmp_path)
    assert again == {
        "dry_run": False,
        "gone_runners": [],
        "gone_allocations": [],
        "failed_jobs": [],
        "released_jobs": [],
    }


def test_canceling_the_workflow_scancels_its_live_allocation(
    server: ServerProcess, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    workflow_id, slurm_job, client = _running_on_cluster(server, tmp_path)
    request.addfinalizer(client.close)
    out = torc(server.url, "workflows", "cancel", str(workflow_id), cwd=tmp_path).stdout
    assert f"scancel'ed Slurm job(s) {slurm_job}" in out
    _finish([slurm_job], deadline_s=60)
    assert set(_statuses(client, workflow_id).values()) <= {"canceled", "terminated"}
    wait_until(
        lambda: (
            [
                s["status"]
                for s in client.iter_pages("/scheduled_compute_nodes", workflow_id=workflow_id)
            ]
            == ["complete"]
        ),
        timeout=20,
        what="the allocation marked complete by its runner",
    )


SUBMITTED = """
name: slurm-submit
compute_node_expiration_buffer_seconds: 10
compute_node_wait_for_new_jobs_seconds: 3
jobs:
  - {name: prep, command: "true"}
  - name: work_{i}
    command: "true"
    depends_on: [prep]
    parameters: {i: "1:6"}
slurm_schedulers:
  - {name: node, account: lab, nodes: 1, walltime: "00:05:00", extra: --exclusive}
actions:
  - trigger_type: on_workflow_start
    action_type: schedule_nodes
    scheduler: node
    num_allocations: 1
  - trigger_type: on_workflow_complete
    action_type: run_commands
    commands: ["hostname > finished_on"]
"""


def test_submit_runs_a_workflow_that_schedules_its_own_allocation(
    server: ServerProcess, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    out = tmp_path / "out"
    answer = torc_json(
        server.url, "submit", str(_spec(tmp_path, SUBMITTED)), "-o", str(out), cwd=tmp_path
    )
    workflow_id, slurm_jobs = answer["workflow_id"], answer["slurm_job_ids"]
    assert len(slurm_jobs) == 1
    _finish(slurm_jobs, deadline_s=120)
    client = TorcClient(server.url)
    request.addfinalizer(client.close)
    assert set(_statuses(client, workflow_id).values()) == {"completed"}
    assert (out / "finished_on").read_text().strip().startswith("node")
    again = torc(server.url, "submit", str(workflow_id), cwd=tmp_path, expect=None)
    assert again.returncode != 0 and "no pending on_workflow_start" in again.stderr


def test_a_server_in_its_own_allocation_serves_runners_in_others(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The seed's set-up: torc-server started by sbatch, found with squeue, used by runners."""
    name = f"torc-server-{tmp_path.name[-12:]}"
    script = tmp_path / "torc-server.sbatch"
    script.write_text(
        "#!/bin/bash\n"
        f"#SBATCH --job-name={name}\n#SBATCH --nodes=1\n#SBATCH --ntasks=1\n"
        "#SBATCH --cpus-per-task=1\n#SBATCH --time=00:10:00\n"
        f"#SBATCH --output={tmp_path}/server.out\n"
        f"exec {SERVER} run --database {tmp_path}/server.db --host 0.0.0.0 --port 0\n"
    )
    submitted = subprocess.run(
        ["sbatch", "--parsable", str(script)], capture_output=True, text=True, check=True
    ).stdout.strip()
    request.addfinalizer(lambda: subprocess.run(["scancel", submitted], check=False))
    out = tmp_path / "server.out"
    port = wait_until(
        lambda: (
            out.exists()
            and next(
                (
                    line.split("=")[1]
                    for line in out.read_text().splitlines()
                    if line.startswith("TORC_SERVER_PORT=")
                ),
                None,
            )
        ),
        timeout=60,
        what="the server's port in its allocation's output",
        interval=0.3,
    )
    node = subprocess.run(
        ["squeue", "--me", "--name", name, "-h", "-o", "%N"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert node.startswith("node")
    url = f"http://{node}:{port}/torc-service/v1"
    client = TorcClient(url)
    request.addfinalizer(client.close)
    wait_until(client.ping, timeout=30, what=f"the server on {node} answering")

    spec = _spec(tmp_path, SWEEP.replace('"1:200"', '"1:20"'))
    workflow_id = str(torc_json(url, "workflows", "create", str(spec), cwd=tmp_path)["id"])
    torc(url, "workflows", "initialize", workflow_id, cwd=tmp_path)
    runners = torc_json(
        url,
        "slurm",
        "schedule-nodes",
        workflow_id,
        "-o",
        str(tmp_path / "out"),
        "-p",
        "0.5",
        cwd=tmp_path,
    )
    _finish([str(r["slurm_job_id"]) for r in runners])
    assert set(_statuses(client, int(workflow_id)).values()) == {"completed"}
    nodes = {
        n["hostname"] for n in client.iter_pages("/compute_nodes", workflow_id=int(workflow_id))
    }
    assert nodes and node not in nodes  # the runner had an allocation of its own
    subprocess.run(["scancel", submitted], check=True)
    assert wait_for_job(submitted).startswith("CANCELLED")


HERD = """
name: herd
compute_node_expiration_buffer_seconds: 10
compute_node_wait_for_new_jobs_seconds: 2
execution_config: {mode: direct}
jobs:
  - name: j{i}
    command: "true"
    parameters: {i: "1:50"}
"""


def test_fifty_runners_started_at_once_spread_their_first_requests_over_the_window(
    server: ServerProcess, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from datetime import datetime

    from pytorc.slurm.jitter import delay_window
    from pytorc.slurm.schedule import runner_program

    workflow_id = _create(server, tmp_path, HERD)
    window = delay_window(50)
    out = tmp_path / "out"
    script = tmp_path / "herd.sbatch"
    runner = (
        f"{runner_program()} {server.url} {workflow_id} {out} -p 0.5 --max-parallel-jobs 1"
        f" --startup-delay-seconds {window:g}"
    )
    script.write_text(
        "#!/bin/bash\n#SBATCH --nodes=1\n#SBATCH --exclusive\n#SBATCH --time=00:05:00\n"
        f"#SBATCH --output={tmp_path}/herd.out\n"
        f"for i in $(seq 50); do {runner} & done\nwait\n"
    )
    submitted = subprocess.run(
        ["sbatch", "--parsable", str(script)], capture_output=True, text=True, check=True
    ).stdout.strip()
    request.addfinalizer(lambda: subprocess.run(["scancel", submitted], check=False))
    assert wait_for_job(submitted, deadline_s=window + 90) == "COMPLETED"

    client = TorcClient(server.url)
    request.addfinalizer(client.close)
    assert set(_statuses(client, workflow_id).values()) == {"completed"}
    nodes = list(client.iter_pages("/compute_nodes", workflow_id=workflow_id))
    assert len(nodes) == 50
    arrivals = sorted(
        datetime.fromisoformat(n["start_time"].replace("Z", "+00:00")).timestamp() for n in nodes
    )
    offsets = [t - arrivals[0] for t in arrivals]
    assert offsets[-1] >= 0.6 * window, offsets  # spread over the window, not one burst
    quarters = [
        sum(1 for o in offsets if q * window / 4 <= o < (q + 1) * window / 4) for q in range(4)
    ]
    assert all(count >= 4 for count in quarters), quarters
    log = (tmp_path / "herd.out").read_text()
    assert "ERROR" not in log and "Traceback" not in log
    assert " 500 " not in server.stderr_path.read_text()


PLANNED = """
name: slurm-planned
compute_node_expiration_buffer_seconds: 10
compute_node_wait_for_new_jobs_seconds: 2
resource_requirements:
  - {name: tiny, num_cpus: 1, memory: 100m, runtime: PT1M}
jobs:
  - {name: prep, command: "true", resource_requirements: tiny}
  - name: work_{i}
    command: "true"
    resource_requirements: tiny
    depends_on: [prep]
    parameters: {i: "1:8"}
"""


def test_submit_slurm_plans_from_the_clusters_profile_and_runs_to_completion(
    server: ServerProcess, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    out = tmp_path / "out"
    answer = torc_json(
        server.url,
        "submit-slurm",
        str(_spec(tmp_path, PLANNED)),
        "-a",
        "lab",
        "-o",
        str(out),
        cwd=tmp_path,
    )
    workflow_id = answer["workflow_id"]
    client = TorcClient(server.url)
    request.addfinalizer(client.close)
    wait_until(
        lambda: client.workflow_status(workflow_id)["is_complete"],
        timeout=180,
        what="the planned workflow to complete",
        interval=0.5,
    )
    assert set(_statuses(client, workflow_id).values()) == {"completed"}
    schedulers = {
        s["name"] for s in client.iter_pages("/slurm_schedulers", workflow_id=workflow_id)
    }
    assert schedulers == {"tiny_scheduler", "tiny_deferred_scheduler"}
    # Every allocation the workflow submitted ends; the first runner submits the deferred ones
    # (if they are still needed) before it ends, so list them once it has.
    _finish(answer["slurm_job_ids"])
    scheduled = client.iter_pages("/scheduled_compute_nodes", workflow_id=workflow_id)
    _finish([str(s["scheduler_id"]) for s in scheduled], deadline_s=60)


MULTI_NODE = """
name: slurm-multi-node
compute_node_expiration_buffer_seconds: 10
compute_node_wait_for_new_jobs_seconds: 2
resource_requirements:
  - {name: two_nodes, num_cpus: 1, memory: 100m, runtime: PT1M, num_nodes: 2}
jobs:
  - {name: mpi_like, command: hostname, resource_requirements: two_nodes}
slurm_schedulers:
  - {name: pair, account: lab, nodes: 2, walltime: "00:05:00", extra: --exclusive}
"""


def test_a_multi_node_job_runs_one_task_on_each_of_its_nodes(
    server: ServerProcess, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    workflow_id = _create(server, tmp_path, MULTI_NODE)
    _finish(_schedule(server, tmp_path, workflow_id), deadline_s=120)
    client = TorcClient(server.url)
    request.addfinalizer(client.close)
    assert _statuses(client, workflow_id) == {"mpi_like": "completed"}
    [stdout] = (tmp_path / "out" / "job_stdio").glob("*.o")
    hosts = stdout.read_text().split()
    assert len(hosts) == 2 and len(set(hosts)) == 2, hosts


def test_sync_status_after_scancel_of_a_live_allocation_leaves_no_job_running(
    server: ServerProcess, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    workflow_id, slurm_job, client = _running_on_cluster(server, tmp_path)
    request.addfinalizer(client.close)
    subprocess.run(["scancel", slurm_job], check=True)  # SIGTERM: the runner reports its jobs
    _finish([slurm_job], deadline_s=60)
    torc(server.url, "workflows", "sync-status", str(workflow_id), cwd=tmp_path)
    assert set(_statuses(client, workflow_id).values()) <= {"terminated", "failed"}
    [scheduled] = client.iter_pages("/scheduled_compute_nodes", workflow_id=workflow_id)
    assert scheduled["status"] == "complete"


def test_runners_in_allocations_authenticate_without_the_password_showing(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import bcrypt

    password = "allocation-Secret-42"
    users = tmp_path / "users"
    users.write_text(f"alice:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()}\n")
    server = start_server(
        tmp_path / "server",
        "--auth-file",
        str(users),
        "--require-auth",
        "--log-level",
        "trace",
        ping_auth=("alice", password),
    )
    request.addfinalizer(server.stop)
    env = cli_env(tmp_path, user="alice", TORC_PASSWORD=password)
    spec = _spec(
        tmp_path,
        "name: authed\njobs:\n  - {name: dump, command: 'env'}\n"
        "slurm_schedulers:\n  - {name: n, account: lab, walltime: '00:05:00'}\n"
        "compute_node_wait_for_new_jobs_seconds: 2\n",
    )
    workflow = json.loads(
        torc(
            server.url, "-f", "json", "workflows", "create", str(spec), cwd=tmp_path, env=env
        ).stdout
    )["id"]
    torc(server.url, "workflows", "initialize", str(workflow), cwd=tmp_path, env=env)
    out = tmp_path / "out"
    submitted = json.loads(
        torc(
            server.url,
            "-f",
            "json",
            "slurm",
            "schedule-nodes",
            str(workflow),
            "-o",
            str(out),
            "-p",
            "0.5",
            "--keep-submission-scripts",
            cwd=tmp_path,
            env=env,
        ).stdout
    )
    _finish([str(s["slurm_job_id"]) for s in submitted])
    with TorcClient(server.url, auth=("alice", password)) as client:
        assert _statuses(client, workflow) == {"dump": "completed"}
    assert (out / ".torc_credentials").stat().st_mode & 0o777 == 0o600
    [job_env] = (out / "job_stdio").glob("*.o")
    texts = {
        p.name: p.read_text()
        for p in (*out.glob("*.sh"), *out.glob("*.log"), *out.glob("slurm_output_*"), job_env)
    }
    texts["server log"] = server.stderr_path.read_text()
    token = base64.b64encode(f"alice:{password}".encode()).decode()
    leaks = [name for name, text in texts.items() if password in text or token in text]
    assert not leaks
    assert "TORC_PASSWORD" not in job_env.read_text()
    assert "TORC_CREDENTIALS_FILE" not in job_env.read_text()
