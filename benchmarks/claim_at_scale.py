"""Is the cost of a job's claim, start and completion flat in the workflow's size?

For each --sizes N a fresh server gets one workflow of N ready jobs (a job sweep, expanded by
the server), then --count jobs go through claim -> start -> complete one at a time and
--count in batches of 10 (claim_throughput.py's loops); reported: ms per job at each size and
the ratio to the smallest size, beside /ping in the same run.

    python benchmarks/claim_at_scale.py --sizes 10000,1000000 --count 2000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_server import running_server, timed
from claim_throughput import batched, call, node_body, one_by_one, ping_loop


def ready_workflow(http: httpx.Client, size: int) -> tuple[int, int, int]:
    """A workflow of `size` ready jobs and a compute node: (workflow, run_id, node)."""
    wf = call(http, "POST", "/workflows", json={"name": "scale", "user": "bench"})["id"]
    template = {"workflow_id": wf, "name": "job{i}", "command": "true"}
    body = {"job": template, "parameters": {"i": f"1:{size}"}}
    call(http, "POST", f"/workflows/{wf}/job_sweeps", json=body)
    call(http, "POST", f"/workflows/{wf}/initialize_jobs")
    node_id = call(http, "POST", "/compute_nodes", json=node_body(wf))["id"]
    return wf, call(http, "GET", f"/workflows/{wf}")["run_id"], node_id


def measure(size: int, count: int) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory() as d,
        running_server(Path(d)) as url,
        httpx.Client(base_url=url, timeout=600) as http,
    ):
        wf, run_id, node = ready_workflow(http, size)
        ping = timed(lambda: ping_loop(http, count))
        single = timed(lambda: one_by_one(http, wf, run_id, node, stop=count))
        many = timed(lambda: batched(http, wf, run_id, node, 10, stop=count))
    return {
        "ping_ms": 1000 * ping / count,
        "one_by_one_ms_per_job": 1000 * single / count,
        "batched_ms_per_job": 1000 * many / count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--count", type=int, default=2000, help="jobs timed per variant")
    args = parser.parse_args()
    base: dict[str, float] | None = None
    for size in (int(s) for s in args.sizes.split(",")):
        found = measure(size, args.count)
        base = base or found
        ratios = {k: round(v / base[k], 2) for k, v in found.items()}
        print({"jobs": size, **{k: round(v, 3) for k, v in found.items()}, "vs_first": ratios})


if __name__ == "__main__":
    main()
