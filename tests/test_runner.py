"""`torc run` end to end: real server, real CLI process, real bash jobs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from helpers import ServerProcess, start_server, wait_until

TORC = str(Path(sys.executable).parent / "torc")


def _spec(tmp_path: Path, spec: dict[str, Any], name: str = "spec.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(spec))
    return path


def _argv(server: ServerProcess, tmp_path: Path, spec: Path, *flags: str) -> list[str]:
    return [
        TORC,
        "--url",
        server.url,
        "-f",
        "json",
        "run",
        str(spec),
        "-o",
        str(tmp_path / "out"),
        "-p",
        "0.1",
        *flags,
    ]


Background = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def background() -> Iterator[Background]:
    """Start `torc run` without waiting for it; whatever still runs at the end is stopped."""
    started: list[subprocess.Popen[str]] = []

    def start(
        server: ServerProcess, tmp_path: Path, spec: Path, *flags: str
    ) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            _argv(server, tmp_path, spec, *flags),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        with proc:  # closes its pipes and waits
            if proc.poll() is None:  # a failed test: SIGTERM makes the runner end its jobs
                proc.terminate()
                try:
                    proc.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _workflow_id(server: ServerProcess, name: str) -> int:
    """The id of the workflow called `name`, once `torc run` has created it."""

    def find() -> int | None:
        items = httpx.get(f"{server.url}/workflows").json()["items"]
        return next((int(w["id"]) for w in items if w["name"] == name), None)

    return wait_until(find, timeout=30, what=f"workflow {name} to exist")


def _run(
    server: ServerProcess, tmp_path: Path, spec: Path, *flags: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _argv(server, tmp_path, spec, *flags),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=timeout,
    )


def _jobs(server: ServerProcess, workflow_id: int) -> dict[str, dict[str, Any]]:
    items = httpx.get(f"{server.url}/jobs", params={"workflow_id": workflow_id}).json()["items"]
    return {j["name"]: j for j in items}


def _job_pid(pid_file: Path, what: str) -> int:
    """The pid a job wrote (`echo $$ > FILE`), once it has written it."""
    wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), timeout=30, what=what)
    return int(pid_file.read_text())


def _summary(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.stdout, proc.stderr
    return dict(json.loads(proc.stdout))


def test_diamond_runs_in_dependency_order_and_records_outputs(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = _spec(
        tmp_path,
        {
            "name": "diamond",
            "files": [
                {"name": n, "path": str(tmp_path / f"{n}.txt")} for n in ("a", "l", "r", "j")
            ],
            "jobs": [
                {"name": "prep", "command": "echo prep > ${files.output.a}"},
                {
                    "name": "left",
                    "command": "cat ${files.input.a} > ${files.output.l}; echo L >> "
                    "${files.output.l}",
                },
                {
                    "name": "right",
                    "command": "cat ${files.input.a} > ${files.output.r}; echo R >> "
                    "${files.output.r}",
                },
                {
                    "name": "join",
                    "command": "cat ${files.input.l} ${files.input.r} > ${files.output.j}",
                },
            ],
        },
    )
    proc = _run(server, tmp_path, spec, "--max-parallel-jobs", "2")
    assert proc.returncode == 0, proc.stderr
    summary = _summary(proc)
    assert summary["completed"] == 4 and summary["is_complete"]
    assert (tmp_path / "j.txt").read_text() == "prep\nL\nprep\nR\n"
    files = httpx.get(f"{server.url}/files", params={"workflow_id": summary["workflow_id"]}).json()[
        "items"
    ]
    assert all(f["st_mtime"] for f in files)  # the runner recorded each output's mtime


def test_sweep_of_1000_jobs_on_two_slots_completes_every_job_once(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = _spec(
        tmp_path,
        {
            "name": "sweep",
            "jobs": [{"name": "j{i}", "command": "true", "parameters": {"i": "1:1000"}}],
        },
    )
    proc = _run(server, tmp_path, spec, "--max-parallel-jobs", "2")
    assert proc.returncode == 0, proc.stderr
    wf = _summary(proc)["workflow_id"]
    results = httpx.get(f"{server.url}/results", params={"workflow_id": wf}).json()
    assert results["total_count"] == 1000
    assert {r["return_code"] for r in results["items"]} == {0}
    assert len({r["job_id"] for r in results["items"]}) == 1000


def test_a_chain_is_reported_several_links_to_an_exchange(tmp_path: Path) -> None:
    """A chain runs on successor hints, and while plenty are in hand its results go several
    to an exchange: 60 links in at most 20 exchanges (one per link before), each job once, in
    order. The server's access log counts the exchanges."""
    log = tmp_path / "order.log"
    links = [
        {"name": f"c{i}", "command": f"echo c{i} >> {log}", "depends_on": [f"c{i - 1}"] * (i > 0)}
        for i in range(60)
    ]
    spec = _spec(tmp_path, {"name": "chain", "jobs": links})
    with start_server(tmp_path / "srv", "--log-level", "debug") as server:
        proc = _run(server, tmp_path, spec, "--max-parallel-jobs", "2")
        assert proc.returncode == 0, proc.stderr
        wf = _summary(proc)["workflow_id"]
        results = httpx.get(f"{server.url}/results", params={"workflow_id": wf}).json()
        exchanges = (tmp_path / "srv" / "server.stderr").read_text().count("/exchange_jobs ")
    assert results["total_count"] == 60
    assert log.read_text().split() == [f"c{i}" for i in range(60)]
    assert 0 < exchanges <= 20, exchanges


@pytest.mark.parametrize(
    ("flags", "most_held"), [(["--max-parallel-jobs", "1"], 2), (["--num-cpus", "1"], 1)]
)
def test_a_runner_leaves_long_jobs_it_cannot_start_yet_to_other_runners(
    server: ServerProcess, tmp_path: Path, background: Background, flags: list[str], most_held: int
) -> None:
    """One slot (or one CPU), 2-second jobs: the first runner holds at most one job beyond the
    one it runs (none, claiming by resources), so a second runner that starts later still finds
    work. (A fixed prefetch claimed them all.)"""
    spec = _spec(
        tmp_path,
        {
            "name": f"shared-{flags[0]}",  # the server outlives one parametrization
            "jobs": [
                {"name": f"long{i}", "command": f"touch {tmp_path}/started{i}; sleep 2"}
                for i in range(3)
            ],
        },
    )
    first = background(server, tmp_path, spec, *flags)
    wf = _workflow_id(server, f"shared-{flags[0]}")
    wait_until(
        lambda: any((tmp_path / f"started{i}").exists() for i in range(3)),
        timeout=30,
        what="the first runner to start a job",
    )
    held = [j for j in _jobs(server, wf).values() if j["status"] in ("pending", "running")]
    assert len(held) <= most_held, [(j["name"], j["status"]) for j in held]
    argv = [TORC, "--url", server.url, "-f", "json", "run", str(wf), *flags]
    second = subprocess.run(
        [*argv, "-o", str(tmp_path / "out2"), "-p", "0.1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert second.returncode == 0, second.stderr
    ran = {json.loads(out)["jobs_run_here"], _summary(second)["jobs_run_here"]}
    assert ran == {1, 2}
    assert {j["status"] for j in _jobs(server, wf).values()} == {"completed"}


def test_failed_job_cancels_its_dependents_and_the_run_exits_nonzero(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = _spec(
        tmp_path,
        {
            "name": "failing",
            "jobs": [
                {"name": "root", "command": "exit 3"},
                {"name": "child", "command": "true", "depends_on": ["root"]},
                {"name": "grandchild", "command": "true", "depends_on": ["child"]},
                {"name": "other", "command": "true"},
            ],
        },
    )
    proc = _run(server, tmp_path, spec)
    assert proc.returncode == 1
    summary = _summary(proc)
    jobs = _jobs(server, summary["workflow_id"])
    assert {n: j["status"] for n, j in jobs.items()} == {
        "root": "failed",
        "child": "canceled",
        "grandchild": "canceled",
        "other": "completed",
    }
    result = httpx.get(
        f"{server.url}/results",
        params={"workflow_id": summary["workflow_id"], "job_id": jobs["root"]["id"]},
    ).json()["items"][0]
    assert result["return_code"] == 3


def test_a_workflow_that_cannot_initialize_is_an_error_and_no_job_runs(
    server: ServerProcess, tmp_path: Path
) -> None:
    """`torc run ID` initializes in a helper thread; the server's refusal must still reach
    the user as one error line and a non-zero exit, with nothing started."""
    with httpx.Client(base_url=server.url) as api:
        wf = api.post("/workflows", json={"name": "cyclic", "user": "u"}).json()["id"]
        a, b = api.post(
            "/bulk_jobs",
            json={
                "jobs": [
                    {"workflow_id": wf, "name": "a", "command": "true"},
                    {
                        "workflow_id": wf,
                        "name": "b",
                        "command": "true",
                        "depends_on_job_names": ["a"],
                    },
                ]
            },
        ).json()["jobs"]
        job_a = api.get(f"/jobs/{a['id']}").json()
        job_a["depends_on_job_ids"] = [b["id"]]  # a <- b <- a
        assert api.put(f"/jobs/{a['id']}", json=job_a).status_code == 200
    argv = _argv(server, tmp_path, tmp_path / "unused.json")
    argv[argv.index(str(tmp_path / "unused.json"))] = str(wf)
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 1
    assert "cycle" in proc.stderr and "Traceback" not in proc.stderr
    assert {j["status"] for j in _jobs(server, wf).values()} == {"uninitialized"}


def test_a_job_that_skips_its_declared_output_fails(server: ServerProcess, tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        {
            "name": "outputs",
            "files": [
                {"name": "made", "path": str(tmp_path / "made.txt")},
                {"name": "skipped", "path": str(tmp_path / "skipped.txt")},
            ],
            "jobs": [
                {"name": "writer", "command": "touch ${files.output.made}"},
                {"name": "liar", "command": "echo ${files.output.skipped} > /dev/null"},
            ],
        },
    )
    proc = _run(server, tmp_path, spec)
    assert proc.returncode == 1
    jobs = _jobs(server, _summary(proc)["workflow_id"])
    assert jobs["writer"]["status"] == "completed" and jobs["liar"]["status"] == "failed"


def test_jobs_get_torc_environment_and_their_own_stdio_files(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = _spec(
        tmp_path,
        {
            "name": "env",
            "jobs": [
                {
                    "name": "show",
                    "command": "echo $TORC_JOB_NAME $TORC_WORKFLOW_ID $TORC_JOB_ID "
                    "$TORC_ATTEMPT_ID $TORC_API_URL; echo oops >&2",
                }
            ],
        },
    )
    proc = _run(server, tmp_path, spec)
    assert proc.returncode == 0, proc.stderr
    wf = _summary(proc)["workflow_id"]
    job = _jobs(server, wf)["show"]
    run_id = httpx.get(f"{server.url}/workflows/{wf}").json()["run_id"]
    stem = tmp_path / "out" / "job_stdio" / f"job_wf{wf}_j{job['id']}_r{run_id}_a1"
    assert Path(f"{stem}.o").read_text().split() == [
        "show",
        str(wf),
        str(job["id"]),
        "1",
        server.url,
    ]
    assert Path(f"{stem}.e").read_text() == "oops\n"


def test_stdio_files_and_results_carry_the_run_id_of_each_run(
    server: ServerProcess, tmp_path: Path
) -> None:
    """`torc run SPEC` starts run 1 of the new workflow (created at run 0); initializing it
    again starts run 2, and `torc run ID` then names its files after run 2."""
    spec = _spec(tmp_path, {"name": "runs", "jobs": [{"name": "say", "command": "echo hi"}]})
    proc = _run(server, tmp_path, spec)
    assert proc.returncode == 0, proc.stderr
    wf = _summary(proc)["workflow_id"]
    assert httpx.get(f"{server.url}/workflows/{wf}").json()["run_id"] == 1
    again = [TORC, "--url", server.url, "workflows", "initialize", str(wf), "--no-prompts"]
    subprocess.run(again, check=True, capture_output=True, cwd=tmp_path, timeout=60)
    argv = _argv(server, tmp_path, spec)
    argv[argv.index(str(spec))] = str(wf)
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    job = _jobs(server, wf)["say"]["id"]
    stdio = tmp_path / "out" / "job_stdio"
    assert sorted(p.name for p in stdio.glob("*.o")) == [
        f"job_wf{wf}_j{job}_r1_a1.o",
        f"job_wf{wf}_j{job}_r2_a1.o",
    ]
    results = httpx.get(
        f"{server.url}/results", params={"workflow_id": wf, "all_runs": True}
    ).json()["items"]
    assert sorted(r["run_id"] for r in results) == [1, 2]


def test_jobs_needing_more_memory_than_the_runner_has_are_never_claimed(
    server: ServerProcess, tmp_path: Path, background: Background
) -> None:
    spec = _spec(
        tmp_path,
        {
            "name": "memory",
            "compute_node_wait_for_new_jobs_seconds": 2,
            "resource_requirements": [
                {"name": "huge", "num_cpus": 1, "memory": "512g"},
                {"name": "small", "num_cpus": 1, "memory": "100m"},
            ],
            "jobs": [
                {"name": "big", "command": "true", "resource_requirements": "huge"},
                {"name": "nap", "command": "sleep 3", "resource_requirements": "small"},
            ],
        },
    )
    runner = background(server, tmp_path, spec, "--memory-gb", "2")
    wf = _workflow_id(server, "memory")
    wait_until(
        lambda: _jobs(server, wf)["nap"]["status"] == "running", timeout=30, what="nap running"
    )
    big = _jobs(server, wf)["big"]["id"]
    explained = subprocess.run(
        [TORC, "--url", server.url, "explain", str(big)], capture_output=True, text=True
    )
    assert explained.returncode == 0, explained.stderr
    assert "memory" in explained.stdout.lower()
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == 1, err  # the run ended with work left
    jobs = _jobs(server, wf)
    assert jobs["nap"]["status"] == "completed" and jobs["big"]["status"] == "ready"
    summary = json.loads(out)
    # Said at once (while nap ran), and the run ended as soon as nothing else could change.
    assert f"job {big} (big) can never run on this runner: it needs 512 GiB memory > 2 GiB" in err
    assert summary["exit_reason"] == (
        "nothing left that this runner can run: ready jobs need more than it has:"
        f" big (job {big}) needs 512 GiB memory > 2 GiB"
    )
    assert summary["jobs_left"] == 1


def test_cancel_from_another_shell_kills_running_jobs_within_5_seconds(
    server: ServerProcess, tmp_path: Path, background: Background
) -> None:
    spec = _spec(
        tmp_path,
        {
            "name": "to-cancel",
            "jobs": [
                {"name": f"long{i}", "command": f"echo $$ > {tmp_path}/pid{i}; exec sleep 120"}
                for i in range(2)
            ],
        },
    )
    runner = background(server, tmp_path, spec, "--max-parallel-jobs", "2")
    pids = [_job_pid(tmp_path / f"pid{i}", f"job long{i} running") for i in range(2)]
    wf = _workflow_id(server, "to-cancel")
    started = time.monotonic()
    cancel = subprocess.run(
        [TORC, "--url", server.url, "workflows", "cancel", str(wf)], capture_output=True, text=True
    )
    assert cancel.returncode == 0, cancel.stderr
    runner.communicate(timeout=30)
    for pid in pids:
        wait_until(lambda pid=pid: not _alive(pid), timeout=5, what=f"job process {pid} gone")
    assert time.monotonic() - started < 5
    assert {j["status"] for j in _jobs(server, wf).values()} == {"canceled"}


def test_a_runner_left_with_only_jobs_too_big_for_it_stops_at_once(
    server: ServerProcess, tmp_path: Path
) -> None:
    """Nothing claimed or running anywhere, and every ready job too big: the runner says so and
    ends (exit 1, work left) instead of idling for compute_node_wait_for_new_jobs_seconds."""
    spec = _spec(
        tmp_path,
        {
            "name": "too_big",
            "compute_node_wait_for_new_jobs_seconds": 3600,
            "resource_requirements": [{"name": "wide", "num_cpus": 64, "memory": "1g"}],
            "jobs": [{"name": "wide_job", "command": "true", "resource_requirements": "wide"}],
        },
    )
    done = subprocess.run(
        _argv(server, tmp_path, spec, "--num-cpus", "2"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert summary["exit_reason"].startswith("nothing left that this runner can run")
    assert "wide_job (job " in summary["exit_reason"] and "64 CPUs > 2" in summary["exit_reason"]


def test_sigterm_to_the_runner_terminates_its_jobs(
    server: ServerProcess, tmp_path: Path, background: Background
) -> None:
    spec = _spec(
        tmp_path,
        {
            "name": "to-term",
            "jobs": [{"name": "long", "command": f"echo $$ > {tmp_path}/pid; exec sleep 120"}],
        },
    )
    runner = background(server, tmp_path, spec)
    pid = _job_pid(tmp_path / "pid", "the job running")
    runner.send_signal(signal.SIGTERM)
    out, _ = runner.communicate(timeout=30)
    assert runner.returncode == 1
    assert not _alive(pid)
    wf = json.loads(out)["workflow_id"]
    assert _jobs(server, wf)["long"]["status"] == "terminated"


def test_sigterm_hands_back_claimed_jobs_and_another_runner_runs_each_once(
    server: ServerProcess, tmp_path: Path, background: Background
) -> None:
    """Two slots hold two running jobs and two claimed spares; SIGTERM leaves no job pending,
    and a second runner runs every job the first did not start exactly once."""
    go, log = tmp_path / "go", tmp_path / "ran.log"
    names = [f"j{i}" for i in range(6)]
    spec = _spec(
        tmp_path,
        {
            "name": "hand-back",
            "jobs": [
                {"name": n, "command": f"[ -e {go} ] || sleep 120; echo {n} >> {log}"}
                for n in names
            ],
        },
    )
    first = background(server, tmp_path, spec, "--max-parallel-jobs", "2")
    wf = _workflow_id(server, "hand-back")

    def holding() -> dict[str, list[str]] | None:
        by_status: dict[str, list[str]] = {}
        for name, job in _jobs(server, wf).items():
            by_status.setdefault(job["status"], []).append(name)
        held = len(by_status.get("running", [])) == 2 and len(by_status.get("pending", [])) == 2
        return by_status if held else None

    held = wait_until(holding, timeout=30, what="2 jobs running and 2 claimed spares")
    first.send_signal(signal.SIGTERM)
    out, err = first.communicate(timeout=30)
    assert json.loads(out)["handed_back"] == 2, err
    after = {n: j["status"] for n, j in _jobs(server, wf).items()}
    assert "pending" not in after.values()
    assert {n for n, s in after.items() if s == "terminated"} == set(held["running"])
    unstarted = sorted(n for n, s in after.items() if s == "ready")
    assert len(unstarted) == 4 and set(held["pending"]) <= set(unstarted)

    go.touch()
    second = subprocess.run(
        [TORC, "--url", server.url, "-f", "json", "run", str(wf), "-o", str(tmp_path / "out2")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    summary = _summary(second)
    # The second run resumes: the two jobs the stop killed run again (attempt 2), beside the
    # four never started; each finishes exactly once.
    killed = sorted(held["running"])
    assert f"2 interrupted job(s) run again: {', '.join(killed)}" in second.stderr
    assert summary["completed"] == 6 and summary["is_complete"], second.stderr
    assert sorted(log.read_text().split()) == names  # each ran to its end once
    results = httpx.get(f"{server.url}/results", params={"workflow_id": wf}).json()["items"]
    jobs = _jobs(server, wf)
    completed = Counter(r["job_id"] for r in results if r["return_code"] == 0)
    assert completed == Counter(jobs[n]["id"] for n in names)
    assert {n: jobs[n]["attempt_id"] for n in killed} == dict.fromkeys(killed, 2)


def test_sigterm_while_the_server_is_down_stops_the_runner_within_seconds(
    tmp_path: Path, background: Background
) -> None:
    # The runner waits minutes for a server that went away; a stop signal must not.
    with start_server(tmp_path / "srv") as srv:
        spec = _spec(
            tmp_path,
            {
                "name": "server-gone",
                "jobs": [
                    {"name": "first", "command": f"echo $$ > {tmp_path}/pid; sleep 1"},
                    {"name": "second", "command": "true", "depends_on": ["first"]},
                ],
            },
        )
        runner = background(srv, tmp_path, spec)
        job = _job_pid(tmp_path / "pid", "the first job running")
        srv.stop(signal.SIGKILL)
        wait_until(lambda: not _alive(job), timeout=30, what="the first job to end")
        # The runner is now retrying its report of `first` against the dead server.
        asked = time.monotonic()
        runner.send_signal(signal.SIGTERM)
        runner.communicate(timeout=60)
        assert time.monotonic() - asked < 20
        assert runner.returncode != 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of an exited child still answers kill(0); read its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("flags", [["-s"], []], ids=["asked", "no-server-configured"])
def test_standalone_mode_needs_no_server(tmp_path: Path, flags: list[str]) -> None:
    spec = _spec(
        tmp_path,
        {
            "name": "alone",
            "jobs": [
                {"name": "a", "command": "true"},
                {"name": "b", "command": "true", "depends_on": ["a"]},
            ],
        },
    )
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    env.pop("TORC_API_URL", None)
    proc = subprocess.run(
        [TORC, *flags, "-f", "json", "run", str(spec), "-o", "out"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["completed"] == 2
    assert (tmp_path / "torc_output" / "torc.db").exists()


def _gone(proc: psutil.Process) -> bool:
    """True once the process has ended (a zombie nobody reaped counts as ended)."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_killed_standalone_run_leaves_no_server_and_no_job_behind(tmp_path: Path) -> None:
    """SIGKILL gives `torc -s run` no chance to clean up: its private server must stop by
    itself, and its jobs (each in its own process group) must die with it, children too."""
    spec = _spec(
        tmp_path,
        {
            "name": "killed",
            "jobs": [
                {"name": "direct", "command": f"echo $$ > {tmp_path}/direct; exec sleep 300"},
                {
                    "name": "tree",
                    "command": f"sleep 300 & echo $! > {tmp_path}/child; echo $$ > {tmp_path}/tree"
                    "; wait",
                },
            ],
        },
    )
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    torc = subprocess.Popen(
        [TORC, "-s", "-f", "json", "run", str(spec), "-o", "out", "--max-parallel-jobs", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
        env=env,
    )
    left: list[psutil.Process] = []
    try:
        pids = [_job_pid(tmp_path / name, f"job {name}") for name in ("direct", "tree", "child")]
        left = [psutil.Process(pid) for pid in pids]
        children = psutil.Process(torc.pid).children()
        servers = [c for c in children if "torc-server" in " ".join(c.cmdline())]
        assert len(servers) == 1, [c.cmdline() for c in children]
        left += servers
        torc.kill()
        torc.wait(timeout=10)
        for proc in left:
            wait_until(lambda proc=proc: _gone(proc), timeout=20, what=f"{proc} to end")
    finally:
        torc.kill()
        torc.wait(timeout=10)
        for proc in left:  # a failed test leaves nothing running either
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()


def test_in_memory_runs_on_a_private_server_and_leaves_a_snapshot_to_resume_from(
    tmp_path: Path,
) -> None:
    spec = _spec(tmp_path, {"name": "mem", "jobs": [{"name": "a", "command": "true"}]})
    # A configured server URL that answers nothing: --in-memory must not use it.
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    env["TORC_API_URL"] = "http://127.0.0.1:9/torc-service/v1"

    def torc_here(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TORC, *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
        )

    proc = torc_here("--in-memory", "-f", "json", "run", str(spec), "-o", "out")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["completed"] == 1
    # The final snapshot is the default database of -s: the next command finds the run.
    listed = torc_here("-s", "-f", "json", "workflows", "list")
    assert [w["name"] for w in json.loads(listed.stdout)] == ["mem"], listed.stderr
    elsewhere = torc_here("--in-memory", "--db", "kept.db", "run", str(spec), "-o", "out")
    assert elsewhere.returncode == 0 and (tmp_path / "kept.db").is_file(), elsewhere.stderr
    nothing = torc_here("--in-memory", "--db", ":memory:", "run", str(spec), "-o", "out")
    assert nothing.returncode == 0, nothing.stderr
    assert not (tmp_path / ":memory:").exists()
    misused = torc_here("--snapshot-interval-seconds", "5", "run", str(spec))
    assert misused.returncode == 1 and "--in-memory only" in misused.stderr
