"""Resuming after Ctrl-C: `torc run ID` runs the interrupted jobs again and what they unblock;
`torc run SPEC` points at the unfinished workflow made from the same spec."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from helpers import ServerProcess, wait_until

TORC = str(Path(sys.executable).parent / "torc")


def _torc(server: ServerProcess, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [TORC, "--url", server.url, "-f", "json", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path)


def _jobs(server: ServerProcess, wf: int) -> dict[str, dict[str, object]]:
    items = httpx.get(f"{server.url}/jobs", params={"workflow_id": wf}).json()["items"]
    return {job["name"]: job for job in items}


def test_run_id_resumes_what_ctrl_c_interrupted(server: ServerProcess, tmp_path: Path) -> None:
    spec = tmp_path / "resume.yaml"
    spec.write_text(
        "name: resumable\njobs:\n  - {name: quick, command: echo quick}\n"
        "  - {name: slow, command: sleep 2, depends_on: [quick]}\n"
        "  - {name: last, command: echo last, depends_on: [slow]}\n"
    )
    argv = [TORC, "--url", server.url, "-f", "json", "run", str(spec), "-p", "0.1"]
    first = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def listed() -> list[dict[str, object]]:
        query = {"name": "resumable"}
        return list(httpx.get(f"{server.url}/workflows", params=query).json()["items"])

    wait_until(listed, timeout=30, what="the workflow")
    wf = int(str(listed()[-1]["id"]))
    wait_until(lambda: _jobs(server, wf)["slow"]["status"] == "running", timeout=30, what="slow")
    first.send_signal(signal.SIGINT)
    out, _ = first.communicate(timeout=30)
    assert first.returncode == 1 and json.loads(out)["exit_reason"] == "stopped by SIGINT"
    assert {n: j["status"] for n, j in _jobs(server, wf).items()} == {
        "quick": "completed", "slow": "terminated", "last": "canceled",
    }  # fmt: skip
    dry = _torc(server, tmp_path, "run", str(wf), "--dry-run")
    assert json.loads(dry.stdout)["interrupted_jobs_to_run_again"] == ["slow"]
    note = _torc(server, tmp_path, "run", str(spec), "--dry-run")
    assert note.returncode == 0 and json.loads(note.stdout)["workflow_name"] == "resumable"
    again = _torc(server, tmp_path, "run", str(wf), "-p", "0.1")
    assert again.returncode == 0, again.stderr
    assert f"resuming workflow {wf}: 1 interrupted job(s) run again: slow" in again.stderr
    jobs = _jobs(server, wf)
    assert {n: j["status"] for n, j in jobs.items()} == dict.fromkeys(jobs, "completed")
    assert jobs["slow"]["attempt_id"] == 2 and jobs["quick"]["attempt_id"] == 1
    results = httpx.get(f"{server.url}/results", params={"workflow_id": wf}).json()["items"]
    assert sorted(r["job_id"] for r in results) == sorted(j["id"] for j in jobs.values())


def test_run_spec_says_how_to_resume_an_unfinished_workflow_from_it(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = tmp_path / "wide.yaml"
    spec.write_text(
        "name: too_wide_to_finish\nresource_requirements:\n"
        "  - {name: wide, num_cpus: 64, memory: 1g}\n"
        "jobs:\n  - {name: w, command: 'true', resource_requirements: wide}\n"
    )
    first = _torc(server, tmp_path, "run", str(spec), "-p", "0.1", "--num-cpus", "2")
    assert first.returncode == 1
    wf = json.loads(first.stdout)["workflow_id"]
    second = _torc(server, tmp_path, "run", str(spec), "-p", "0.1", "--num-cpus", "2")
    assert f"note: workflow {wf} (too_wide_to_finish) from this spec is unfinished" in second.stderr
    assert json.loads(second.stdout)["workflow_id"] != wf  # not a terminal: a new one
    third = _torc(server, tmp_path, "run", str(spec), "--new", "-p", "0.1", "--num-cpus", "2")
    assert "note:" not in third.stderr
