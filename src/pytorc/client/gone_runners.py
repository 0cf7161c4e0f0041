"""Runners of this host whose process is gone: found by pid, so their jobs need not wait for
the server's dead-runner timeout (`torc workflows sync-status`)."""

from __future__ import annotations

import socket
from datetime import datetime
from typing import Any

import psutil

from pytorc.client.api import TorcClient

PID_REUSE_SLACK_SECONDS = 5.0  # a process this much younger than its node is another process


def gone_local_runners(client: TorcClient, workflow_id: int) -> list[dict[str, Any]]:
    """The workflow's active local compute nodes on this host whose runner process no longer
    exists (or whose pid now names a younger process)."""
    host = socket.gethostname()
    return [
        node
        for node in client.iter_pages("/compute_nodes", workflow_id=workflow_id, is_active=True)
        if node["hostname"] == host
        and node.get("compute_node_type") == "local"  # Slurm's are sync_status's to judge
        and not _runs(int(node["pid"]), node.get("start_time"))
    ]


def _runs(pid: int, start_time: str | None) -> bool:
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        created = process.create_time()
    except psutil.Error:
        return False
    if not start_time:
        return True
    try:
        registered = datetime.fromisoformat(start_time.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return True
    return bool(created <= registered + PID_REUSE_SLACK_SECONDS)


def requeue(client: TorcClient, node: dict[str, Any]) -> list[int]:
    """Declare the node's runner dead on the server; the ids of the jobs made ready again."""
    reason = f"{node['hostname']} pid {node['pid']} no longer exists"
    answer = client.post(f"/compute_nodes/{node['id']}/declare_dead", {"reason": reason})
    return [int(i) for i in answer["requeued_job_ids"]]
