"""Crash paths with real processes: the server or a runner killed with SIGKILL mid-run.

Each job appends its name to a log when it starts, so a test can count that every job ran,
and ran once, whatever was killed."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from cli_helpers import TORC, cli_env, torc
from helpers import ServerProcess, compute_node, start_server, wait_until


def _create(url: str, tmp_path: Path, spec: dict[str, Any]) -> int:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    out = torc(url, "-f", "json", "workflows", "create", str(path), cwd=tmp_path).stdout
    return int(json.loads(out)["id"])


def _logging_sweep(url: str, tmp_path: Path, name: str, n: int, log: Path) -> int:
    """A workflow of n jobs j1..jN, each appending its name to `log` when it runs."""
    job = {"name": "j{i}", "command": f"echo j{{i}} >> {log}", "parameters": {"i": f"1:{n}"}}
    return _create(url, tmp_path, {"name": name, "jobs": [job]})


def _lines(path: Path) -> list[str]:
    return path.read_text().split("\n")[:-1] if path.exists() else []


def _statuses(url: str, workflow_id: int) -> dict[str, str]:
    jobs: dict[str, str] = {}
    offset = 0
    while True:
        page = httpx.get(
            f"{url}/jobs", params={"workflow_id": workflow_id, "offset": offset, "limit": 10000}
        ).json()
        jobs.update({j["name"]: j["status"] for j in page["items"]})
        if not page["has_more"]:
            return jobs
        offset += len(page["items"])


class Runners:
    """`torc run WF` processes; any still running at the end are killed and reaped."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, url: str, workflow_id: int, *flags: str) -> subprocess.Popen[str]:
        n = len(self.procs)
        with (
            open(self.tmp_path / f"runner{n}.out", "w") as out,
            open(self.tmp_path / f"runner{n}.err", "w") as err,
        ):
            proc = subprocess.Popen(
                [TORC, "--url", url, "-f", "json", "run", str(workflow_id), "-p", "0.2", *flags],
                stdout=out,
                stderr=err,
                text=True,
                cwd=self.tmp_path,
                env=cli_env(self.tmp_path),
            )
        self.procs.append(proc)
        return proc

    def stderr(self) -> str:
        return "\n".join(
            f"runner{n}: " + (self.tmp_path / f"runner{n}.err").read_text()[-3000:]
            for n in range(len(self.procs))
        )

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


@pytest.fixture
def runners(tmp_path: Path) -> Iterator[Runners]:
    started = Runners(tmp_path)
    yield started
    started.close()


def test_server_killed_for_60_s_mid_run_loses_no_job_and_runs_none_twice(
    tmp_path: Path, runners: Runners
) -> None:
    """kill -9 of the server (file database) in the middle of 2,000 jobs on 2 runners, down for
    a minute, restarted on the same port and file: the runners kept their jobs running and
    their results, and every job ran and completed exactly once."""
    log = tmp_path / "ran.log"
    srv = start_server(tmp_path / "srv")
    port, database = srv.port, srv.db_path
    try:
        wf = _logging_sweep(srv.url, tmp_path, "server-crash", 2000, log)
        first = [runners.start(srv.url, wf, "-o", str(tmp_path / f"out{n}")) for n in range(2)]
        wait_until(lambda: len(_lines(log)) >= 500, timeout=120, what="500 jobs to run")
        srv.stop(signal.SIGKILL)
        killed_at = len(_lines(log))
        down_until = time.monotonic() + 60
        # The outage: both runners must ride it out, not exit.
        while time.monotonic() < down_until:
            assert all(p.poll() is None for p in first), runners.stderr()
            time.sleep(1)
        srv = start_server(tmp_path / "srv", "--port", str(port), database=database)
        assert srv.port == port
        for proc in first:
            proc.wait(timeout=300)
        assert [p.returncode for p in first] == [0, 0], runners.stderr()
        assert "server unreachable" in runners.stderr()
        statuses = _statuses(srv.url, wf)
        assert Counter(statuses.values()) == {"completed": 2000}
        ran = Counter(_lines(log))
        assert len(ran) == 2000 and set(ran.values()) == {1}, ran.most_common(3)
        results = httpx.get(f"{srv.url}/results", params={"workflow_id": wf, "limit": 10000}).json()
        assert results["total_count"] == 2000
        print(f"killed with {killed_at} of 2000 run; after restart: 2000 completed, each once")
    finally:
        srv.stop(signal.SIGKILL)


def test_runners_started_together_on_a_new_workflow_initialize_it_once(
    tmp_path: Path, runners: Runners
) -> None:
    """Three `torc run ID` started at once on a 5,000-job workflow never initialized: one
    starts run 1 and initializes it, the others wait for that and run with it; none resets
    what another began (they used to: jobs refused as run twice, runners stopping early)."""
    log = tmp_path / "ran.log"
    srv = start_server(tmp_path / "srv")
    try:
        wf = _logging_sweep(srv.url, tmp_path, "together", 5000, log)
        procs = [runners.start(srv.url, wf, "-o", str(tmp_path / f"out{n}")) for n in range(3)]
        for proc in procs:
            proc.wait(timeout=300)
        assert [p.returncode for p in procs] == [0, 0, 0], runners.stderr()
        assert Counter(_statuses(srv.url, wf).values()) == {"completed": 5000}
        ran = Counter(_lines(log))
        assert len(ran) == 5000 and set(ran.values()) == {1}, ran.most_common(3)
        assert httpx.get(f"{srv.url}/workflows/{wf}").json()["run_id"] == 1
        events = httpx.get(f"{srv.url}/events", params={"workflow_id": wf, "limit": 1000}).json()
        started = [e for e in events["items"] if e["data"].get("category") == "workflow_started"]
        assert len(started) == 1, started
    finally:
        srv.stop(signal.SIGKILL)


def test_runner_killed_mid_run_its_jobs_die_and_are_requeued_to_another(
    tmp_path: Path, runners: Runners
) -> None:
    starts, pids = tmp_path / "starts.log", tmp_path / "pids.log"
    with start_server(tmp_path / "srv", "--dead-runner-timeout-secs", "3") as srv:
        wf = _create(
            srv.url,
            tmp_path,
            {
                "name": "runner-crash",
                "jobs": [
                    {
                        "name": "s{i}",
                        "command": f"echo s{{i}} >> {starts}; echo $$ >> {pids}; sleep 1.5",
                        "parameters": {"i": "1:12"},
                    }
                ],
            },
        )
        doomed = runners.start(srv.url, wf, "-o", str(tmp_path / "out0"), "--num-cpus", "2")

        def two_done_two_running() -> bool:
            counts = Counter(_statuses(srv.url, wf).values())
            return counts["completed"] >= 2 and counts["running"] == 2

        wait_until(two_done_two_running, timeout=60, what="2 jobs done and 2 running")
        before = _statuses(srv.url, wf)
        job_pids = [int(p) for p in _lines(pids)]
        doomed.kill()
        killed = time.monotonic()
        doomed.wait()
        completed_before = {name for name, s in before.items() if s == "completed"}
        running = [p for p in job_pids if psutil.pid_exists(p)]
        wait_until(
            lambda: not any(_alive(p) for p in running),
            timeout=2,
            what=f"the killed runner's jobs {running} to end",
        )

        def requeued() -> list[Any]:
            events = httpx.get(f"{srv.url}/events", params={"workflow_id": wf}).json()["items"]
            return [e for e in events if e["data"].get("category") == "runner_declared_dead"]

        dead = wait_until(requeued, timeout=15, what="the runner to be declared dead")
        latency = time.monotonic() - killed
        assert len(dead[0]["data"]["job_ids"]) >= 2  # its two running jobs, and any claimed
        # Silence counts from its last heartbeat (about a second apart while jobs run), so the
        # requeue may come up to a heartbeat sooner than the timeout after the kill.
        assert 3 - 1.5 <= latency < 3 + 5, latency
        rescuer = runners.start(srv.url, wf, "-o", str(tmp_path / "out1"))
        rescuer.wait(timeout=120)
        assert rescuer.returncode == 0, runners.stderr()
        assert Counter(_statuses(srv.url, wf).values()) == {"completed": 12}
        ran = Counter(_lines(starts))
        assert all(ran[name] == 1 for name in completed_before), ran
        assert set(ran) == {f"s{i}" for i in range(1, 13)}
        results = httpx.get(f"{srv.url}/results", params={"workflow_id": wf}).json()["items"]
        assert Counter(r["status"] for r in results) == {"completed": 12}
        print(f"requeue latency after SIGKILL: {latency:.2f} s (timeout 3 s)")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def quick_server(tmp_path: Path) -> Iterator[ServerProcess]:
    with start_server(tmp_path / "srv", "--dead-runner-timeout-secs", "1") as srv:
        yield srv


def _workflow(url: str, n: int, **fields: Any) -> tuple[int, int, list[int]]:
    """A workflow of n ready jobs and one registered compute node: (workflow, node, job ids)."""
    body = {"name": "w", "user": "tester", **fields}
    wf = httpx.post(f"{url}/workflows", json=body).json()["id"]
    ids = [
        httpx.post(
            f"{url}/jobs", json={"workflow_id": wf, "name": f"j{i}", "command": "true"}
        ).json()["id"]
        for i in range(n)
    ]
    httpx.post(f"{url}/workflows/{wf}/reset_status").raise_for_status()  # run 1, as `torc run`
    httpx.post(f"{url}/workflows/{wf}/initialize_jobs").raise_for_status()
    node = httpx.post(f"{url}/compute_nodes", json=compute_node(wf)).json()["id"]
    return wf, node, ids


def _exchange(url: str, wf: int, node: int, **fields: Any) -> dict[str, Any]:
    answer = httpx.post(
        f"{url}/workflows/{wf}/exchange_jobs",
        json={"run_id": 1, "compute_node_id": node, **fields},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _done(wf: int, node: int, job_id: int) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "run_id": 1,
        "status": "completed",
        "result": {
            "job_id": job_id,
            "workflow_id": wf,
            "run_id": 1,
            "compute_node_id": node,
            "return_code": 0,
            "exec_time_minutes": 0.01,
            "completion_time": "2026-12-04T00:00:00Z",
            "status": "completed",
        },
    }


def test_a_resent_exchange_is_acknowledged_once_and_reclaim_returns_lost_claims(
    quick_server: ServerProcess,
) -> None:
    url = quick_server.url
    wf, node, _ = _workflow(url, 4)
    claimed = _exchange(url, wf, node, claim={"limit": 3})["jobs"]
    assert len(claimed) == 3
    # The runner never saw that answer: it resends with reclaim and gets the same jobs back.
    again = _exchange(url, wf, node, reclaim=True)
    assert sorted(j["id"] for j in again["jobs"]) == sorted(j["id"] for j in claimed)
    a = claimed[0]["id"]
    report = {"started": [{"job_id": a}], "completions": [_done(wf, node, a)]}
    first = _exchange(url, wf, node, **report)
    resent = _exchange(url, wf, node, **report)
    for answer in (first, resent):
        assert answer["started"] == [a] and answer["completed"] == [a], answer
        assert answer["errors"] == []
    results = httpx.get(f"{url}/results", params={"workflow_id": wf}).json()
    assert results["total_count"] == 1


def test_a_runner_declared_dead_gets_its_late_report_refused(quick_server: ServerProcess) -> None:
    url = quick_server.url
    wf, node, _ = _workflow(url, 2)
    [job] = _exchange(url, wf, node, claim={"limit": 1}, started=[])["jobs"]
    _exchange(url, wf, node, started=[{"job_id": job["id"]}])
    # Silent for longer than the timeout: the job is made ready again and the node inactive.
    wait_until(
        lambda: httpx.get(f"{url}/jobs/{job['id']}").json()["status"] == "ready",
        timeout=15,
        what="the silent runner's job to be requeued",
    )
    assert httpx.get(f"{url}/compute_nodes/{node}").json()["is_active"] is False
    late = _exchange(url, wf, node, completions=[_done(wf, node, job["id"])])
    assert late["completed"] == []
    assert [e["job_id"] for e in late["errors"]] == [job["id"]]
    assert "no longer held" in late["errors"][0]["message"]
    assert httpx.get(f"{url}/jobs/{job['id']}").json()["status"] == "ready"
    assert httpx.get(f"{url}/results", params={"workflow_id": wf}).json()["total_count"] == 0


def test_a_workflow_that_must_not_rerun_fails_a_dead_runners_running_jobs(
    quick_server: ServerProcess,
) -> None:
    url = quick_server.url
    wf, node, _ = _workflow(url, 2, execution_config={"dead_runner_action": "fail"})
    running, claimed = _exchange(url, wf, node, claim={"limit": 2})["jobs"]
    _exchange(url, wf, node, started=[{"job_id": running["id"]}])

    def settled() -> bool:
        return httpx.get(f"{url}/jobs/{running['id']}").json()["status"] == "failed"

    wait_until(settled, timeout=15, what="the dead runner's running job to fail")
    assert httpx.get(f"{url}/jobs/{claimed['id']}").json()["status"] == "ready"  # never started
    [result] = httpx.get(f"{url}/results", params={"workflow_id": wf}).json()["items"]
    assert result["job_id"] == running["id"] and result["return_code"] == -128
