"""How many jobs per second one client can push through claim -> start -> complete.

Starts a torc-server on a temporary SQLite file, loads N independent jobs per variant through
POST /bulk_jobs, initializes them, registers a compute node, then times, over one keep-alive
httpx.Client:

  one-by-one  claim_next_jobs?limit=1, start_job, complete_job          (3 requests per job)
  batched     claim_next_jobs?limit=B, start_job each, batch_complete_jobs (B + 2 per B jobs)
  ping        the same number of GET /ping as there are jobs            (the floor)

and prints jobs/s, ms per job and ms per job as a multiple of one /ping round trip.

    python benchmarks/claim_throughput.py [--jobs 5000] [--batch 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bench_server import running_server

BULK_CHUNK = 1000


@dataclass
class Measurement:
    name: str
    jobs: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.jobs / self.seconds

    @property
    def ms_per_job(self) -> float:
        return 1000 * self.seconds / self.jobs


SPENT: dict[str, list[float]] = defaultdict(list)  # operation -> seconds of each request


def call(http: httpx.Client, method: str, path: str, op: str = "", **kwargs: Any) -> Any:
    """One request; exits on an error answer. With `op`, its duration is recorded under it."""
    start = time.perf_counter()
    response = http.request(method, path, **kwargs)
    if op:
        SPENT[op].append(time.perf_counter() - start)
    if response.status_code >= 300:
        sys.exit(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
    return response.json()


def prepare_workflow(http: httpx.Client, name: str, jobs: int) -> tuple[int, int, int]:
    """A workflow of `jobs` independent ready jobs and one compute node: (wf, run_id, node)."""
    wf = call(http, "POST", "/workflows", json={"name": name, "user": "bench"})
    for start in range(0, jobs, BULK_CHUNK):
        chunk = [
            {"workflow_id": wf["id"], "name": f"job{i}", "command": "true"}
            for i in range(start, min(start + BULK_CHUNK, jobs))
        ]
        call(http, "POST", "/bulk_jobs", json={"jobs": chunk})
    call(http, "POST", f"/workflows/{wf['id']}/initialize_jobs")
    node = call(http, "POST", "/compute_nodes", json=node_body(wf["id"]))
    run_id = call(http, "GET", f"/workflows/{wf['id']}")["run_id"]
    return wf["id"], run_id, node["id"]


def node_body(workflow_id: int) -> dict[str, Any]:
    """The compute node the benchmark's client claims as."""
    return {
        "workflow_id": workflow_id,
        "hostname": "bench-host",
        "pid": os.getpid(),
        "start_time": now(),
        "num_cpus": 2,
        "memory_gb": 4.0,
        "num_gpus": 0,
        "num_nodes": 1,
        "compute_node_type": "local",
        "is_active": True,
    }


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def result(wf: int, job: int, run_id: int, node: int) -> dict[str, Any]:
    return {
        "workflow_id": wf,
        "job_id": job,
        "run_id": run_id,
        "compute_node_id": node,
        "return_code": 0,
        "exec_time_minutes": 0.0,
        "completion_time": now(),
        "status": "completed",
    }


def one_by_one(http: httpx.Client, wf: int, run_id: int, node: int, stop: int = 0) -> int:
    """Jobs through claim, start and complete one at a time, until none is left (or `stop`)."""
    done = 0
    while not stop or done < stop:
        claimed = call(
            http,
            "POST",
            f"/workflows/{wf}/claim_next_jobs",
            "claim_next_jobs?limit=1",
            params={"limit": 1},
        )
        if not claimed.get("jobs"):
            return done
        job = claimed["jobs"][0]["id"]
        call(http, "PUT", f"/jobs/{job}/start_job/{run_id}/{node}", "start_job")
        call(
            http,
            "POST",
            f"/jobs/{job}/complete_job/completed/{run_id}",
            "complete_job",
            json=result(wf, job, run_id, node),
        )
        done += 1
    return done


def batched(http: httpx.Client, wf: int, run_id: int, node: int, batch: int, stop: int = 0) -> int:
    done = 0
    while not stop or done < stop:
        claimed = call(
            http,
            "POST",
            f"/workflows/{wf}/claim_next_jobs",
            f"claim_next_jobs?limit={batch}",
            params={"limit": batch},
        )
        ids = [j["id"] for j in claimed.get("jobs") or []]
        if not ids:
            return done
        for job in ids:
            call(http, "PUT", f"/jobs/{job}/start_job/{run_id}/{node}", "start_job")
        completions = [
            {
                "job_id": job,
                "run_id": run_id,
                "status": "completed",
                "result": result(wf, job, run_id, node),
            }
            for job in ids
        ]
        answer = call(
            http,
            "POST",
            f"/workflows/{wf}/batch_complete_jobs",
            f"batch_complete_jobs ({batch} jobs)",
            json={"completions": completions},
        )
        if answer.get("errors"):
            sys.exit(f"batch_complete_jobs reported errors: {answer['errors'][:3]}")
        done += len(ids)
    return done


def timed(name: str, expected: int, work: Callable[[], int]) -> Measurement:
    start = time.perf_counter()
    count = work()
    seconds = time.perf_counter() - start
    if count != expected:
        sys.exit(f"{name}: processed {count} jobs, expected {expected}")
    return Measurement(name, count, seconds)


def ping_loop(http: httpx.Client, count: int) -> int:
    for _ in range(count):
        call(http, "GET", "/ping", "ping")
    return count


def report(rows: list[Measurement], ping: Measurement) -> str:
    lines = [
        f"{'variant':<34} {'jobs':>6} {'seconds':>8} {'jobs/s':>7} {'ms/job':>7} {'x ping':>6}",
        "-" * 73,
    ]
    for row in [*rows, ping]:
        lines.append(
            f"{row.name:<34} {row.jobs:>6} {row.seconds:>8.2f} {row.per_second:>7.0f} "
            f"{row.ms_per_job:>7.2f} {row.ms_per_job / ping.ms_per_job:>6.1f}"
        )
    lines += ["", f"{'request':<34} {'count':>6} {'median ms':>10} {'p95 ms':>8}", "-" * 61]
    for op, spent in SPENT.items():
        ordered = sorted(spent)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        lines.append(
            f"{op:<34} {len(spent):>6} {1000 * statistics.median(spent):>10.2f} {1000 * p95:>8.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5000, help="jobs per variant (default 5000)")
    parser.add_argument("--batch", type=int, default=10, help="claim size of the batched variant")
    parser.add_argument("--threads", type=int, default=1, help="torc-server --threads")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="torc-bench-") as tmp,
        running_server(Path(tmp), args.threads) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        print(f"torc-server on a file database in {tmp}; {args.jobs} jobs per variant")
        start = time.perf_counter()
        single = prepare_workflow(http, "bench-one-by-one", args.jobs)
        multi = prepare_workflow(http, "bench-batched", args.jobs)
        print(
            f"setup (bulk_jobs x {2 * -(-args.jobs // BULK_CHUNK)}, initialize_jobs x 2): "
            f"{time.perf_counter() - start:.2f} s\n"
        )
        rows = [
            timed("claim 1 + start + complete_job", args.jobs, lambda: one_by_one(http, *single)),
            timed(
                f"claim {args.batch} + start + batch_complete",
                args.jobs,
                lambda: batched(http, *multi, args.batch),
            ),
        ]
        ping = timed("GET /ping (baseline)", args.jobs, lambda: ping_loop(http, args.jobs))
        for wf, _, _ in (single, multi):
            status = call(http, "GET", f"/workflows/{wf}/status")
            if not status.get("is_complete"):
                sys.exit(f"workflow {wf} is not complete after the run: {status}")
    print(report(rows, ping))


if __name__ == "__main__":
    main()
