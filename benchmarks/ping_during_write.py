"""How long /ping waits while the server does a long write and a runner writes elsewhere.

Starts a torc-server on a temporary SQLite file, loads a workflow of N independent jobs
(default 200,000) and a second small workflow, then at the same time:

  - initializes the big workflow (POST /workflows/{id}/initialize_jobs, one long transaction);
  - a "runner" claims, starts and completes jobs of the small workflow one by one;
  - a prober sends GET /ping every 10 ms on its own connection;

and prints the ping latencies seen while the initialize ran (p50, p99, max), the initialize's
duration, and the latencies of the runner's writes that overlapped it (median, max): the
server initializes a big workflow in chunks (--chunk-jobs) so that those writes go
in between instead of waiting for the whole of it.

    python benchmarks/ping_during_write.py [--jobs 200000] [--repeat 3] [--chunk 10000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from bench_server import running_server
from claim_throughput import call, prepare_workflow, result

BULK_CHUNK = 10_000


def load_jobs(http: httpx.Client, name: str, jobs: int) -> int:
    wf = call(http, "POST", "/workflows", json={"name": name, "user": "bench"})
    for start in range(0, jobs, BULK_CHUNK):
        chunk = [
            {"workflow_id": wf["id"], "name": f"job{i}", "command": "true"}
            for i in range(start, min(start + BULK_CHUNK, jobs))
        ]
        call(http, "POST", "/bulk_jobs", json={"jobs": chunk}, timeout=120)
    return int(wf["id"])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def one_round(url: str, jobs: int, small: int) -> dict[str, float]:
    with httpx.Client(base_url=url, timeout=120) as http:
        big = load_jobs(http, "big", jobs)
        wf, run_id, node = prepare_workflow(http, "small", small)
    stop = threading.Event()
    pings: list[tuple[float, float]] = []  # (sent, answered)
    runner_calls: list[tuple[float, float]] = []  # (sent, answered), each request

    def probe() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            while not stop.is_set():
                start = time.perf_counter()
                http.get("/ping").raise_for_status()
                pings.append((start, time.perf_counter()))
                time.sleep(0.01)

    def run_small() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            while not stop.is_set():
                start = time.perf_counter()
                claimed = call(
                    http, "POST", f"/workflows/{wf}/claim_next_jobs", params={"limit": 1}
                )
                runner_calls.append((start, time.perf_counter()))
                jobs_ = claimed.get("jobs") or []
                if not jobs_:
                    return
                job = jobs_[0]["id"]
                start = time.perf_counter()
                call(http, "PUT", f"/jobs/{job}/start_job/{run_id}/{node}")
                runner_calls.append((start, time.perf_counter()))
                start = time.perf_counter()
                call(
                    http,
                    "POST",
                    f"/jobs/{job}/complete_job/completed/{run_id}",
                    json=result(wf, job, run_id, node),
                )
                runner_calls.append((start, time.perf_counter()))

    threads = [threading.Thread(target=probe), threading.Thread(target=run_small)]
    for t in threads:
        t.start()
    time.sleep(0.3)  # both loops under way before the long write starts
    with httpx.Client(base_url=url, timeout=600) as http:
        start = time.perf_counter()
        call(http, "POST", f"/workflows/{big}/initialize_jobs")
        end = time.perf_counter()
    stop.set()
    for t in threads:
        t.join()
    init_seconds = end - start
    # Every request whose wait overlapped the initialize, including one it held up throughout.
    during = [answered - sent for sent, answered in pings if sent < end and answered > start]
    writes = [answered - sent for sent, answered in runner_calls if sent < end and answered > start]
    if not during or not writes:
        sys.exit("no ping or runner write completed during the initialize")
    return {
        "init_s": init_seconds,
        "pings": len(during),
        "p50_ms": 1000 * statistics.median(during),
        "p99_ms": 1000 * percentile(during, 0.99),
        "max_ms": 1000 * max(during),
        "writes": len(writes),
        "write_p50_ms": 1000 * statistics.median(writes),
        "write_max_ms": 1000 * max(writes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=20_000, help="jobs of the runner's workflow")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk", type=int, help="the server's --chunk-jobs")
    args = parser.parse_args()
    print(
        f"{'round':>5} {'init s':>7} {'pings':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'writes':>6} {'w p50 ms':>8} {'w max ms':>8}"
    )
    for i in range(args.repeat):
        server_args = ("--chunk-jobs", str(args.chunk)) if args.chunk else ()
        with (
            tempfile.TemporaryDirectory() as tmp,
            running_server(Path(tmp), args=server_args) as url,
        ):
            row = one_round(url, args.jobs, args.small)
        print(
            f"{i + 1:>5} {row['init_s']:>7.2f} {row['pings']:>6.0f} {row['p50_ms']:>7.1f} "
            f"{row['p99_ms']:>7.1f} {row['max_ms']:>7.1f} {row['writes']:>6.0f} "
            f"{row['write_p50_ms']:>8.1f} {row['write_max_ms']:>8.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
