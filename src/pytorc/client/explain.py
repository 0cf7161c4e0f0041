"""Why is a job not running? A read-only diagnosis built from the server's records.

Blocked jobs: the unfinished upstream jobs, and the jobs at the head of each waiting chain.
Ready jobs: whether any active runner (compute node) is big enough for its resource requirements
and long-lived enough for its runtime, and whether a scheduler pin keeps it from those runners.
Canceled or failed jobs: the failed upstream that caused the cancellation, and the latest result.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from pytorc.client.api import TorcClient
from pytorc.units import duration_seconds, memory_bytes

STDERR_LINES = 5  # of a failed job's stderr, in its explanation

_DONE = frozenset({"completed", "failed", "canceled", "terminated", "disabled"})
_FAILING = frozenset({"failed", "canceled", "terminated"})
_MAX_WALK = 500  # upstream jobs fetched (one GET each) when following a chain; bounds the cost


def explain_job(client: TorcClient, job_id: int) -> dict[str, Any]:
    """A structured answer: `reasons` (sentences) plus the records behind them."""
    job = client.get_job(job_id)
    workflow = client.get_workflow(job["workflow_id"])
    status = job["status"]
    answer: dict[str, Any] = {
        "job_id": job_id,
        "job_name": job["name"],
        "workflow_id": job["workflow_id"],
        "status": status,
        "reasons": [],
    }
    reasons: list[str] = answer["reasons"]
    if workflow.get("is_canceled"):
        reasons.append(f"workflow {workflow['id']} is canceled; reset it to run again")
    if status in ("uninitialized", "blocked"):
        _explain_waiting(client, job, answer)
    elif status == "ready":
        _explain_ready(client, job, answer)
    elif status in ("pending", "running"):
        node = job.get("compute_node_id")
        where = f" on compute node {node}" if node is not None else ""
        since = f" since {job['start_time']}" if job.get("start_time") else ""
        reasons.append(f"job is {status}{where}{since}")
    elif status == "disabled":
        reasons.append("job is disabled and will not run")
    else:
        _explain_finished(client, job, answer)
    return answer


def _upstream(client: TorcClient, job: dict[str, Any]) -> list[dict[str, Any]]:
    return [client.get_job(u) for u in job.get("depends_on_job_ids") or []]


def _brief(job: dict[str, Any]) -> dict[str, Any]:
    return {"id": job["id"], "name": job["name"], "status": job["status"]}


def _explain_waiting(client: TorcClient, job: dict[str, Any], answer: dict[str, Any]) -> None:
    reasons: list[str] = answer["reasons"]
    if job["status"] == "uninitialized":
        reasons.append(
            "job is uninitialized: initialize the workflow"
            f" (torc workflows initialize {job['workflow_id']})"
        )
    blockers = [u for u in _upstream(client, job) if u["status"] not in _DONE]
    answer["blocking_jobs"] = [_brief(u) for u in blockers]
    if blockers:
        listed = ", ".join(f"{u['name']} (id {u['id']}, {u['status']})" for u in blockers)
        reasons.append(f"waiting for {len(blockers)} upstream job(s): {listed}")
        heads = _chain_heads(client, blockers)
        answer["root_blocking_jobs"] = [_brief(h) for h in heads]
        if heads and {h["id"] for h in heads} != {b["id"] for b in blockers}:
            listed = ", ".join(f"{h['name']} (id {h['id']}, {h['status']})" for h in heads)
            reasons.append(f"the chain is held up at: {listed}")
    elif job["status"] == "blocked":
        reasons.append("all upstream jobs are done; the server will release it on its next pass")


def _chain_heads(client: TorcClient, blockers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Walk up through blocked upstream jobs to the unfinished ones that are not blocked."""
    heads: dict[int, dict[str, Any]] = {}
    seen = {b["id"] for b in blockers}
    queue = deque(blockers)
    while queue and len(seen) < _MAX_WALK:
        job = queue.popleft()
        if job["status"] != "blocked":
            heads[job["id"]] = job
            continue
        for up in _upstream(client, job):
            if up["id"] not in seen and up["status"] not in _DONE:
                seen.add(up["id"])
                queue.append(up)
    return sorted(heads.values(), key=lambda j: int(j["id"]))


def node_shortfalls(rr: dict[str, Any], node: dict[str, Any]) -> list[str]:
    """What the compute node lacks for these resource requirements; empty when it fits."""
    short = []
    for key in ("num_cpus", "num_gpus", "num_nodes"):
        need, have = int(rr.get(key) or 0), int(node.get(key) or 0)
        if need > have:
            short.append(f"{key} {need} > {have}")
    need_bytes = memory_bytes(rr.get("memory") or "0")
    have_bytes = float(node.get("memory_gb") or 0) * 1024**3
    if need_bytes > have_bytes:
        short.append(f"memory {rr.get('memory')} > {float(node.get('memory_gb') or 0):g} GiB")
    if node.get("time_limit") and rr.get("runtime"):
        need_s, have_s = duration_seconds(rr["runtime"]), duration_seconds(node["time_limit"])
        if need_s > have_s:
            short.append(f"runtime {rr['runtime']} > time limit {node['time_limit']}")
    return short


def _explain_ready(client: TorcClient, job: dict[str, Any], answer: dict[str, Any]) -> None:
    reasons: list[str] = answer["reasons"]
    rr_id = job.get("resource_requirements_id")
    rr = client.get_resource_requirements(rr_id) if rr_id is not None else {}
    answer["resource_requirements"] = rr
    nodes = list(client.iter_compute_nodes(job["workflow_id"], is_active=True))
    checks = []
    for node in nodes:
        short = node_shortfalls(rr, node)
        checks.append(
            {
                "compute_node_id": node["id"],
                "hostname": node["hostname"],
                "scheduler_config_id": node.get("scheduler_config_id"),
                "fits": not short,
                "shortfalls": short,
            }
        )
    answer["compute_nodes"] = checks
    fitting = [c for c in checks if c["fits"]]
    answer["fits_any_runner"] = bool(fitting)
    scheduler = job.get("scheduler_id")
    answer["scheduler_id"] = scheduler
    needs = _needs(rr)
    if not nodes:
        reasons.append(
            f"job is ready ({needs}) but no runner is active for workflow {job['workflow_id']};"
            f" start one (torc run {job['workflow_id']}) or schedule nodes"
        )
    elif not fitting:
        worst = "; ".join(
            f"node {c['compute_node_id']}: " + ", ".join(c["shortfalls"]) for c in checks
        )
        reasons.append(
            f"job is ready ({needs}) but none of the {len(nodes)} active runner(s) could fit it:"
            f" {worst}"
        )
    else:
        reasons.append(
            f"job is ready ({needs}); {len(fitting)} of {len(nodes)} active runner(s) could fit it"
            " and will claim it when they have free resources"
        )
    if scheduler is not None:
        matching = [c for c in fitting if c["scheduler_config_id"] == scheduler]
        answer["scheduler_match"] = bool(matching)
        if not matching:
            reasons.append(
                f"job is pinned to scheduler {scheduler} and no fitting active runner belongs to"
                " it; runners with strict_scheduler_match will not take it"
            )


def _needs(rr: dict[str, Any]) -> str:
    if not rr:
        return "no resource requirements"
    return (
        f"needs {rr.get('num_cpus')} CPU, {rr.get('memory')} memory, {rr.get('num_gpus')} GPU,"
        f" {rr.get('num_nodes')} node, runtime {rr.get('runtime')}"
    )


def _latest_result(client: TorcClient, job: dict[str, Any]) -> dict[str, Any] | None:
    for result in client.iter_results(
        job["workflow_id"],
        job_id=job["id"],
        all_runs=True,
        sort_by="id",
        reverse_sort=True,
        limit=1,
    ):
        return result
    return None


def _explain_finished(client: TorcClient, job: dict[str, Any], answer: dict[str, Any]) -> None:
    reasons: list[str] = answer["reasons"]
    result = _latest_result(client, job)
    answer["latest_result"] = result
    if result is not None:
        reasons.append(
            f"job {job['status']}: latest result has return code {result['return_code']}"
            f" (run {result['run_id']}, attempt {result.get('attempt_id')},"
            f" {result['completion_time']})"
        )
    if job["status"] == "canceled":
        causes = [u for u in _upstream(client, job) if u["status"] in _FAILING]
        answer["failed_upstream"] = [_brief(u) for u in causes]
        if causes:
            listed = ", ".join(f"{u['name']} (id {u['id']}, {u['status']})" for u in causes)
            reasons.append(f"canceled because upstream job(s) did not succeed: {listed}")
            roots = _failure_roots(client, causes)
            answer["root_failed_jobs"] = [_brief(r) for r in roots]
            if {r["id"] for r in roots} != {c["id"] for c in causes}:
                listed = ", ".join(f"{r['name']} (id {r['id']}, {r['status']})" for r in roots)
                reasons.append(f"the cancellation started at: {listed}")
        elif result is None:
            reasons.append("canceled before it ran (the workflow was canceled)")
    elif job["status"] == "completed" and result is None:
        reasons.append("job completed")
    if result is not None and job["status"] in ("failed", "terminated", "pending_failed"):
        _explain_failure(client, job, result, answer)


def _explain_failure(
    client: TorcClient, job: dict[str, Any], result: dict[str, Any], answer: dict[str, Any]
) -> None:
    """The likely cause of a failure, and the end of its stderr (client/job_logs.py)."""
    from pytorc.client.diagnose import diagnose
    from pytorc.client.job_logs import stdio_of, tail

    rr_id = job.get("resource_requirements_id")
    requirement = client.get_resource_requirements(rr_id) if rr_id else None
    found = diagnose(result, requirement)
    answer["diagnosis"] = found.as_dict()
    answer["reasons"].append(f"likely cause: {found.cause} ({found.reason})")
    stderr = stdio_of(client, job).stderr
    answer["stderr"] = str(stderr) if stderr else None
    if stderr is None:
        return
    try:
        answer["stderr_tail"] = tail(stderr, STDERR_LINES)
    except OSError:
        answer["reasons"].append(f"stderr: {stderr} (not readable here)")
        return
    answer["reasons"].append(f"stderr: {stderr}")
    answer["reasons"] += [f"  | {line}" for line in answer["stderr_tail"]]


def _failure_roots(client: TorcClient, causes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Follow canceled upstream jobs up to the failed or terminated ones that started it."""
    roots: dict[int, dict[str, Any]] = {}
    seen = {c["id"] for c in causes}
    queue = deque(causes)
    while queue and len(seen) < _MAX_WALK:
        job = queue.popleft()
        failing_up = [u for u in _upstream(client, job) if u["status"] in _FAILING]
        if job["status"] != "canceled" or not failing_up:
            roots[job["id"]] = job
            continue
        for up in failing_up:
            if up["id"] not in seen:
                seen.add(up["id"])
                queue.append(up)
    return sorted(roots.values(), key=lambda j: int(j["id"]))
