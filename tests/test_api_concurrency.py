"""Many runners claiming one workflow at once: every job handed out and completed exactly once."""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

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
