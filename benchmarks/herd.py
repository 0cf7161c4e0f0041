"""A thundering herd: N runners' connections reach one server at once.

--processes x --threads clients (1,000 by default: 10 x 100) each open their own connection at
the same moment and run the runner's loop against one workflow of --jobs jobs: exchange_jobs
claims one job, reports its start and completion in the next exchange, until nothing is left.
Reported: each client's first answer's latency (p50, p99, max; fair service means no client
waits while others are served), every answer by status code (those the client retried, such as
a 503 from a saturated server, counted apart from the final ones), requests that failed for
good, and jobs completed more than once (must be 0). `--loop asyncio|uvloop` picks the
server's event loop; `--max-in-flight N` sets the server's admission limit (503 + Retry-After
past it). An exchange is answered within one turn of the server's loop (its write runs inline
when the writer is free), so even a limit of 2 sheds nothing here: what waits is in the
kernel's socket buffers, served in turn, not in the server.

    python benchmarks/herd.py --processes 10 --threads 100 --jobs 20000
    python benchmarks/herd.py --max-in-flight 100
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_server import running_server

from pytorc.client.api import TorcClient
from pytorc.errors import ApiError

TORC = str(Path(sys.executable).parent / "torc")


def client_loop(url: str, wf: int, run_id: int, node: int, go: float) -> dict[str, Any]:
    """One runner's connection: claim one, report it done, repeat; what it saw."""
    while time.time() < go:
        time.sleep(0.001)
    client = TorcClient(url, retry_seconds=120)
    first: float | None = None
    done: list[int] = []
    errors: Counter[str] = Counter()
    answers: Counter[str] = Counter()

    def retried(failure: str, seconds: float) -> None:
        code = re.match(r"server answered (\d+)", failure)
        answers[f"{code[1] if code else 'no answer'} (retried)"] += 1

    path = f"/workflows/{wf}/exchange_jobs"
    report: dict[str, Any] = {"started": [], "completions": []}
    start = time.time()
    while True:
        body = {"run_id": run_id, "compute_node_id": node, "claim": {"limit": 1}, **report}
        try:
            answer = client.request("POST", path, json=body, on_retry=retried)
            answers["200"] += 1
        except ApiError as exc:
            errors[f"{exc.status}"] += 1
            break
        if first is None:
            first = time.time() - start
        done += answer["completed"]
        jobs = answer["jobs"]
        if not jobs:
            break
        job = jobs[0]["id"]
        result = {
            "job_id": job,
            "workflow_id": wf,
            "run_id": run_id,
            "compute_node_id": node,
            "return_code": 0,
            "exec_time_minutes": 0.0,
            "completion_time": "2026-12-04T00:00:00Z",
            "status": "completed",
        }
        report = {
            "started": [{"job_id": job}],
            "completions": [
                {"job_id": job, "run_id": run_id, "status": "completed", "result": result}
            ],
        }
    client.close()
    return {"first": first, "done": done, "errors": dict(errors), "answers": dict(answers)}


def process_main(args: tuple[str, int, int, int, float, int]) -> list[dict[str, Any]]:
    url, wf, run_id, node, go, threads = args
    out: list[dict[str, Any]] = []
    lock = threading.Lock()

    def run() -> None:
        result = client_loop(url, wf, run_id, node, go)
        with lock:
            out.append(result)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=10)
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    parser.add_argument("--max-in-flight", type=int, help="the server's admission limit")
    args = parser.parse_args()
    loop_flag: tuple[str, ...] = () if args.loop == "auto" else ("--event-loop", args.loop)
    if args.max_in_flight:
        loop_flag += ("--max-in-flight-requests", str(args.max_in_flight))
    with tempfile.TemporaryDirectory() as d, running_server(Path(d), args=loop_flag) as url:
        spec = Path(d) / "spec.json"
        job = {"name": "j{i}", "command": "true", "parameters": {"i": f"1:{args.jobs}"}}
        spec.write_text(json.dumps({"name": "herd", "jobs": [job]}))
        out = subprocess.run(
            [TORC, "--url", url, "-f", "json", "workflows", "create", str(spec)],
            capture_output=True,
            text=True,
            check=True,
        )
        wf = int(json.loads(out.stdout)["id"])
        with TorcClient(url) as client:
            client.post(f"/workflows/{wf}/reset_status")
            client.post(f"/workflows/{wf}/initialize_jobs")
            run_id = int(client.get_workflow(wf)["run_id"])
            node = client.post(
                "/compute_nodes",
                {
                    "workflow_id": wf,
                    "hostname": "herd",
                    "pid": 1,
                    "start_time": "x",
                    "num_cpus": 1,
                    "memory_gb": 1.0,
                    "num_gpus": 0,
                    "num_nodes": 1,
                    "compute_node_type": "local",
                    "is_active": True,
                },
            )["id"]
        go = time.time() + 2.0
        started = time.monotonic()
        with multiprocessing.Pool(args.processes) as pool:
            parts = pool.map(
                process_main, [(url, wf, run_id, node, go, args.threads)] * args.processes
            )
        seconds = time.monotonic() - started - 2.0
    results = [r for part in parts for r in part]
    firsts = sorted(r["first"] for r in results if r["first"] is not None)
    done = Counter(j for r in results for j in r["done"])
    errors: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    for r in results:
        errors.update(r["errors"])
        answers.update(r["answers"])
    q = statistics.quantiles(firsts, n=100) if len(firsts) > 1 else firsts * 99
    print(
        {
            "loop": args.loop,
            "clients": len(results),
            "first_answer_p50_s": round(q[49], 3),
            "first_answer_p99_s": round(q[98], 3),
            "first_answer_max_s": round(firsts[-1], 3) if firsts else None,
            "never_answered": len(results) - len(firsts),
            "jobs_completed": len(done),
            "completed_twice": sum(1 for n in done.values() if n > 1),
            "answers": dict(sorted(answers.items())),
            "failed_for_good": dict(errors),
            "seconds": round(seconds, 1),
        },
        flush=True,
    )


if __name__ == "__main__":
    main()
