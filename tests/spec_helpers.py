"""Reading a created workflow back from the server in a form that compares across creations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytorc.client.api import TorcClient

DATA = Path(__file__).parent / "data" / "spec"


def workflow_ids(client: TorcClient) -> set[int]:
    return {int(wf["id"]) for wf in client.iter_workflows()}


def _names(items: list[dict[str, Any]]) -> dict[int, str]:
    return {int(item["id"]): str(item["name"]) for item in items}


def server_state(client: TorcClient, workflow_id: int) -> dict[str, Any]:
    """Everything a spec creates, with ids replaced by names so two creations compare equal."""
    wf = client.get_workflow(workflow_id)
    files = list(client.iter_pages("/files", workflow_id=workflow_id))
    user_data = list(client.iter_user_data(workflow_id))
    rrs = list(client.iter_resource_requirements(workflow_id))
    schedulers = list(client.iter_slurm_schedulers(workflow_id))
    handlers = list(client.iter_failure_handlers(workflow_id))
    jobs = list(client.iter_jobs(workflow_id, include_relationships=True))
    file_names, ud_names, job_names = _names(files), _names(user_data), _names(jobs)
    rr_names, sched_names, handler_names = _names(rrs), _names(schedulers), _names(handlers)

    def job_state(job: dict[str, Any]) -> dict[str, Any]:
        return {
            "command": job["command"],
            "invocation_script": job["invocation_script"],
            "status": job["status"],
            "cancel_on_blocking_job_failure": job["cancel_on_blocking_job_failure"],
            "supports_termination": job["supports_termination"],
            "priority": job["priority"],
            "resource_requirements": rr_names.get(job["resource_requirements_id"]),
            "scheduler": sched_names.get(job["scheduler_id"]),
            "failure_handler": handler_names.get(job["failure_handler_id"]),
            "depends_on": sorted(job_names[i] for i in job["depends_on_job_ids"]),
            "input_files": sorted(file_names[i] for i in job["input_file_ids"]),
            "output_files": sorted(file_names[i] for i in job["output_file_ids"]),
            "input_user_data": sorted(ud_names[i] for i in job["input_user_data_ids"]),
            "output_user_data": sorted(ud_names[i] for i in job["output_user_data_ids"]),
        }

    def action_state(action: dict[str, Any]) -> dict[str, Any]:
        config = dict(action["action_config"])
        if "scheduler_id" in config:
            config["scheduler_id"] = sched_names[config["scheduler_id"]]
        return {
            "trigger_type": action["trigger_type"],
            "action_type": action["action_type"],
            "action_config": config,
            "jobs": sorted(job_names[i] for i in action["job_ids"] or []),
            "persistent": action["persistent"],
        }

    drop = {"id", "workflow_id"}
    return {
        "workflow": {k: v for k, v in wf.items() if k not in {"id", "timestamp"}},
        "jobs": {job["name"]: job_state(job) for job in jobs},
        "files": {f["name"]: f["path"] for f in files},
        "user_data": {u["name"]: (u["data"], u["is_ephemeral"]) for u in user_data},
        "resource_requirements": {
            rr["name"]: {k: v for k, v in rr.items() if k not in drop} for rr in rrs
        },
        "slurm_schedulers": {
            s["name"]: {k: v for k, v in s.items() if k not in drop} for s in schedulers
        },
        "failure_handlers": {h["name"]: json.loads(h["rules"]) for h in handlers},
        "actions": [action_state(a) for a in client.list_workflow_actions(workflow_id)],
    }
