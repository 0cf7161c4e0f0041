"""Many runners claiming one workflow at once: every job handed out and completed exactly once,
through Torc's routes (torc-client) and through pytorc's exchange_jobs round trip."""

from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any, NamedTuple

from torc.api import iter_documents
from torc.openapi_client.models import (
    BatchCompleteJobsRequest,
    ComputeNodeModel,
    ComputeNodesResources,
    JobCompletionEntry,
    JobModel,
    JobsModel,
    ResultModel,
    WorkflowModel,
)

from helpers import ServerProcess, compute_node, published_api

N_JOBS = 5_000
N_RUNNERS = 8


def _runner(url: str, wf: int, seed: int) -> list[int]:
    """One runner process: claim (by count or by resources), start, complete until none are left."""
    with published_api(url) as api:
        return _claim_until_done(api, wf, seed)


def _claim_until_done(api: Any, wf: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    node = api.create_compute_node(
        ComputeNodeModel(**compute_node(wf, hostname=f"runner{seed}", pid=seed))
    ).id
    claimed: list[int] = []
    while True:
        if rng.random() < 0.5:
            jobs = api.claim_next_jobs(wf, limit=rng.randint(1, 8)).jobs
        else:
            free = ComputeNodesResources(
                num_cpus=rng.randint(1, 4), memory_gb=8.0, num_gpus=0, num_nodes=1
            )
            jobs = api.claim_jobs_based_on_resources(wf, 8, free).jobs
        if not jobs:
            if (
                api.is_workflow_complete(wf).is_complete
                or not api.list_jobs(wf, status="ready", limit=1).items
            ):
                return claimed
            continue
        for job in jobs:
            api.start_job(job.id, 1, node)
        now = datetime.now(UTC).isoformat()
        results = {
            job.id: ResultModel(
                job_id=job.id,
                workflow_id=wf,
                run_id=1,
                compute_node_id=node,
                return_code=0,
                exec_time_minutes=0.0,
                completion_time=now,
                status="completed",
            )
            for job in jobs
        }
        if rng.random() < 0.5:
            answer = api.batch_complete_jobs(
                wf,
                BatchCompleteJobsRequest(
                    completions=[
                        JobCompletionEntry(job_id=j, run_id=1, status="completed", result=r)
                        for j, r in results.items()
                    ]
                ),
            )
            assert not answer.errors, answer.errors
        else:
            for job_id, result in results.items():
                api.complete_job(job_id, "completed", 1, result)
        claimed.extend(results)


def test_eight_runners_claim_and_complete_every_job_exactly_once(
    server: ServerProcess, api: Any
) -> None:
    wf = api.create_workflow(WorkflowModel(name="race", user="tester")).id
    for start in range(0, N_JOBS, 1000):
        api.create_jobs(
            JobsModel(
                jobs=[
                    JobModel(workflow_id=wf, name=f"r{i}", command="true", priority=i % 3)
                    for i in range(start, start + 1000)
                ]
            )
        )
    api.reset_workflow_status(wf)  # run 1, as `torc run` starts it
    api.initialize_jobs(wf)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(N_RUNNERS) as pool:
        per_runner = pool.starmap(_runner, [(server.url, wf, seed) for seed in range(N_RUNNERS)])
    claims = Counter(job for runner in per_runner for job in runner)
    assert len(claims) == N_JOBS and set(claims.values()) == {1}
    assert sum(1 for runner in per_runner if runner) >= 2  # the claims really interleaved
    jobs = list(iter_documents(api.list_jobs, wf))
    assert {j.status for j in jobs} == {"completed"} and len(jobs) == N_JOBS
    results = list(iter_documents(api.list_results, wf, all_runs=True))
    assert len(results) == N_JOBS and len({r.job_id for r in results}) == N_JOBS
    assert api.is_workflow_complete(wf).is_complete


# --- exchange_jobs: the runner's round trip ---------------------------------------------------

EXCHANGE_JOBS = 3_000
EXCHANGE_RUNNERS = 4
UPSTREAM = 1_000  # j0..j999 never fail; j2000..j2999 each wait for one of them
MAY_FAIL = range(1_000, 2_000)  # no job depends on these


class Exchanged(NamedTuple):
    """What one runner process was told by the server, answer by answer."""

    claimed: list[int]
    started: list[int]
    completed: list[int]
    failed: list[int]
    released: list[int]
    errors: list[dict[str, Any]]


def _exchange_runner(url: str, wf: int, seed: int) -> Exchanged:
    """One runner process speaking only exchange_jobs, in random rhythms: a claimed job is
    started (or, now and then, handed back) in a later round trip, and completed in the same
    one or a later one; completions that release dependents travel with the next claim."""
    from pytorc.client.api import TorcClient

    rng = random.Random(seed)
    seen = Exchanged([], [], [], [], [], [])
    with TorcClient(url, retry_seconds=30) as client:
        run_id = client.get_workflow(wf)["run_id"]
        node = client.post("/compute_nodes", compute_node(wf, hostname=f"x{seed}", pid=seed))
        names: dict[int, str] = {}
        held: list[int] = []  # claimed, not started
        running: list[int] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            release = [j for j in held if rng.random() < 0.05]
            started = [j for j in held if j not in release]
            running += started
            done = [j for j in running if rng.random() < 0.6]
            running = [j for j in running if j not in done]
            completions = [_completion(wf, run_id, node["id"], j, names[j], rng) for j in done]
            limit = rng.randint(0, 12)
            claim: dict[str, Any] = {"limit": limit}
            if rng.random() < 0.5:
                claim["resources"] = {"num_cpus": limit, "memory_gb": 64.0, "num_gpus": 0}
                claim["resources"]["num_nodes"] = 1
            answer = client.post(
                f"/workflows/{wf}/exchange_jobs",
                {
                    "run_id": run_id,
                    "compute_node_id": node["id"],
                    "started": [{"job_id": j} for j in started],
                    "completions": completions,
                    "release": release,
                    "claim": claim,
                },
            )
            assert answer["started"] == started and answer["released"] == release, answer
            assert answer["completed"] == done, answer
            seen.started.extend(started)
            seen.released.extend(release)
            seen.errors.extend(answer["errors"])
            for entry in completions:
                kind = seen.completed if entry["status"] == "completed" else seen.failed
                kind.append(entry["job_id"])
            held = [int(job["id"]) for job in answer["jobs"]]
            names.update((int(job["id"]), job["name"]) for job in answer["jobs"])
            seen.claimed.extend(held)
            if answer["is_complete"]:
                assert not held and not running, answer
                return seen
            if not (held or running or answer["jobs"]):
                time.sleep(0.005)  # others hold the rest: a runner's poll, kept short
        raise AssertionError(f"runner {seed}: workflow {wf} not complete after 120 s")


def _completion(
    wf: int, run_id: int, node: int, job: int, name: str, rng: random.Random
) -> dict[str, Any]:
    fails = int(name[1:]) in MAY_FAIL and rng.random() < 0.1
    status = "failed" if fails else "completed"
    result = {
        "job_id": job,
        "workflow_id": wf,
        "run_id": run_id,
        "compute_node_id": node,
        "return_code": 1 if fails else 0,
        "exec_time_minutes": 0.0,
        "completion_time": datetime.now(UTC).isoformat(),
        "status": status,
    }
    return {"job_id": job, "run_id": run_id, "status": status, "result": result}


def test_runner_processes_exchanging_jobs_end_every_job_exactly_once(
    server: ServerProcess,
) -> None:
    from pytorc.client.api import TorcClient

    with TorcClient(server.url) as client:
        wf = client.create_workflow({"name": "exchange-race", "user": "tester"})["id"]
        jobs = [
            {"workflow_id": wf, "name": f"j{i}", "command": "true"}
            | ({"depends_on_job_names": [f"j{i - 2 * UPSTREAM}"]} if i >= 2 * UPSTREAM else {})
            for i in range(EXCHANGE_JOBS)
        ]
        ids = {job["name"]: int(job["id"]) for job in client.create_jobs(jobs)}
        client.reset_workflow_status(wf)  # run 1, as `torc run` starts it
        client.initialize_jobs(wf)
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(EXCHANGE_RUNNERS) as pool:
            runners = pool.starmap(
                _exchange_runner, [(server.url, wf, seed) for seed in range(EXCHANGE_RUNNERS)]
            )
        statuses = {int(j["id"]): j["status"] for j in client.iter_jobs(wf)}
        results = list(client.iter_results(wf, all_runs=True))
        assert client.is_complete(wf)["is_complete"]

    assert [e for r in runners for e in r.errors] == []
    ended = Counter(j for r in runners for j in r.completed + r.failed)
    assert set(ended) == set(ids.values()) and set(ended.values()) == {1}  # each once
    started = Counter(j for r in runners for j in r.started)
    assert started == ended  # started once, by the runner that ended it
    claimed = Counter(j for r in runners for j in r.claimed)
    released = Counter(j for r in runners for j in r.released)
    assert claimed == started + released  # never handed to a second runner while held
    assert sum(released.values()) > 0 and sum(1 for r in runners if r.completed) >= 2
    failed = {j for r in runners for j in r.failed}
    assert failed and {ids[f"j{i}"] for i in MAY_FAIL} >= failed
    assert statuses == {j: "failed" if j in failed else "completed" for j in ids.values()}
    assert Counter(r["job_id"] for r in results) == ended  # one result per job
    assert {r["job_id"] for r in results if r["return_code"] != 0} == failed
