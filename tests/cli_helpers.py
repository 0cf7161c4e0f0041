"""Helpers for CLI tests: run the real `torc` console script, and stand in for a job runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from helpers import compute_node
from pytorc.client.api import TorcClient

TORC = Path(sys.executable).parent / "torc"


def cli_env(home: Path, user: str = "tester", **extra: str) -> dict[str, str]:
    """A clean environment: no TORC_* from the caller, an empty config dir, a chosen $USER."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TORC_")}
    env.update({"XDG_CONFIG_HOME": str(home / "xdg"), "USER": user, **extra})
    return env


def torc(
    url: str | None,
    *args: str,
    cwd: Path,
    user: str = "tester",
    expect: int | None = 0,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `torc [--url URL] ARGS` and check its exit status (expect=None: any)."""
    argv = [str(TORC), *(["--url", url] if url else []), *args]
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=env or cli_env(cwd, user),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if expect is not None:
        assert proc.returncode == expect, (
            f"{' '.join(args)} exited {proc.returncode}\nstdout: {proc.stdout}\n"
            f"stderr: {proc.stderr}"
        )
    return proc


def torc_json(url: str, *args: str, cwd: Path, user: str = "tester") -> Any:
    """Run `torc -f json ARGS` and parse what it printed."""
    return json.loads(torc(url, "-f", "json", *args, cwd=cwd, user=user).stdout)


def run_ready_jobs(
    client: TorcClient, workflow_id: int, cwd: Path, **node_fields: Any
) -> list[str]:
    """Run ready jobs with bash in `cwd` until none are left, the way a runner reports them
    (on one compute node; `node_fields` override its record).

    Outputs' modification times are recorded after each completed job, as Torc's runner does.
    Returns the names of the jobs run, in order.
    """
    run_id = client.get_workflow(workflow_id)["run_id"]
    node = client.post(
        "/compute_nodes",
        compute_node(workflow_id, **{"hostname": "test-runner", "pid": os.getpid(), **node_fields}),
    )
    ran = []
    while True:
        claimed = client.post(f"/workflows/{workflow_id}/claim_next_jobs", limit=100)["jobs"]
        if not claimed:
            break
        for job in claimed:
            client.put(f"/jobs/{job['id']}/start_job/{run_id}/{node['id']}")
            rc = subprocess.run(["bash", "-c", job["command"]], cwd=cwd).returncode
            status = "completed" if rc == 0 else "failed"
            result = {
                "job_id": job["id"],
                "workflow_id": workflow_id,
                "run_id": run_id,
                "compute_node_id": node["id"],
                "return_code": rc,
                "exec_time_minutes": 0.0,
                "completion_time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "status": status,
            }
            client.post(f"/jobs/{job['id']}/complete_job/{status}/{run_id}", result)
            ran.append(job["name"])
            if status == "completed":
                for file_id in client.get_job(job["id"]).get("output_file_ids") or []:
                    file = client.get_file(file_id)
                    path = cwd / file["path"]
                    if path.exists():
                        client.update_file(file_id, {**file, "st_mtime": path.stat().st_mtime})
    client.put(f"/compute_nodes/{node['id']}", {**node, "is_active": False})
    return ran


def statuses(client: TorcClient, workflow_id: int) -> dict[str, str]:
    return {j["name"]: j["status"] for j in client.iter_jobs(workflow_id)}
