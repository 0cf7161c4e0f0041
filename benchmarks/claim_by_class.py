"""A claim by resources among many ready jobs that do not fit: what one claim costs.

One workflow holds --jobs ready jobs that need 64 CPUs (no runner here has them), listed first
by priority, and 10 that need 1 CPU. A node offering 2 CPUs claims (`exchange_jobs` with a
resource claim): timed are a claim that finds the small jobs behind all the big ones, and a claim
that finds nothing because the small ones are taken. Each the median of --reps; `/ping` in the
same run is the floor.

    python benchmarks/claim_by_class.py --jobs 200000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_server import create_workflow, running_server, timed

TORC = str(Path(sys.executable).parent / "torc")
OFFER = {"num_cpus": 2, "memory_gb": 4.0, "num_gpus": 0, "num_nodes": 1}


def spec(jobs: int) -> dict[str, Any]:
    return {
        "name": "classes",
        "resource_requirements": [
            {"name": "big", "num_cpus": 64, "memory": "1g", "runtime": "PT1H"},
            {"name": "small", "num_cpus": 1, "memory": "100m", "runtime": "PT1M"},
        ],
        "jobs": [
            {"name": "big{i}", "command": "true", "resource_requirements": "big",
             "priority": 10, "parameters": {"i": f"1:{jobs}"}},
            {"name": "small{i}", "command": "true", "resource_requirements": "small",
             "parameters": {"i": "1:10"}},
        ],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d, running_server(Path(d)) as url:
        wf = create_workflow(url, spec(args.jobs), Path(d))
        with httpx.Client(base_url=url, timeout=300) as http:
            http.post(f"/workflows/{wf}/reset_status").raise_for_status()
            http.post(f"/workflows/{wf}/initialize_jobs").raise_for_status()
            node = http.post(
                "/compute_nodes",
                json={"workflow_id": wf, "hostname": "bench", "pid": 1, "start_time": "now",
                      "is_active": True, "num_cpus": 2, "memory_gb": 4.0, "num_gpus": 0,
                      "num_nodes": 1, "compute_node_type": "local"},
            ).json()["id"]  # fmt: skip
            found, empty, ping = [], [], []
            for _ in range(args.reps):
                found.append(claim(http, wf, node))  # takes 2 small jobs
                ping.append(timed(lambda: http.get("/ping").raise_for_status()))
            while claim_count(http, wf, node):
                pass
            for _ in range(args.reps):
                empty.append(claim(http, wf, node))
    print(f"{args.jobs} ready jobs that do not fit, 10 that do")
    print(f"claim that finds fitting jobs: {statistics.median(found) * 1000:8.2f} ms")
    print(f"claim that finds nothing:      {statistics.median(empty) * 1000:8.2f} ms")
    print(f"/ping:                         {statistics.median(ping) * 1000:8.2f} ms")


def _exchange(http: httpx.Client, wf: int, node: int) -> dict[str, Any]:
    body = {"run_id": 1, "compute_node_id": node, "claim": {"limit": 10, "resources": OFFER}}
    answer = http.post(f"/workflows/{wf}/exchange_jobs", json=body)
    answer.raise_for_status()
    return answer.json()  # type: ignore[no-any-return]


def claim(http: httpx.Client, wf: int, node: int) -> float:
    return timed(lambda: _exchange(http, wf, node))


def claim_count(http: httpx.Client, wf: int, node: int) -> int:
    return len(_exchange(http, wf, node)["jobs"])


if __name__ == "__main__":
    main()
