"""Long operations on a big workflow while another workflow is written to.

A fresh server takes setup -> j1..jN -> all (a sweep with a hub before it and a fan-in after
it: 2N edges), initializes it, then times one operation on it (`--op initialize`, `reset`
(reset_job_status), `cancel` or `delete`) while a prober adds a job to a second workflow every
10 ms; reported: the operation's time and the prober's writes that overlapped it (count, max).
A server that did the operation in one transaction made those writes wait for all of it.

    python benchmarks/big_workflow_ops.py --jobs 1000000 --op delete [--chunk 5000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_server import running_server

OPERATIONS = {
    "initialize": ("POST", "/workflows/{wf}/initialize_jobs"),
    "reset": ("POST", "/workflows/{wf}/reset_job_status"),
    "cancel": ("PUT", "/workflows/{wf}/cancel"),
    "delete": ("DELETE", "/workflows/{wf}"),
}


def big_workflow(c: httpx.Client, jobs: int) -> int:
    wf = c.post("/workflows", params={"creating": "true"}, json={"name": "big", "user": "b"})
    wf_id = int(wf.json()["id"])
    setup = c.post("/jobs", json={"workflow_id": wf_id, "name": "setup", "command": "true"})
    last = c.post("/jobs", json={"workflow_id": wf_id, "name": "all", "command": "true"})
    template = {"workflow_id": wf_id, "name": "j{i}", "command": "true"}
    sweep = c.post(
        f"/workflows/{wf_id}/job_sweeps",
        json={
            "job": {**template, "depends_on_job_ids": [setup.json()["id"]]},
            "parameters": {"i": f"1:{jobs}"},
            "dependent_job_ids": [last.json()["id"]],
        },
    )
    sweep.raise_for_status()
    for step in ("creation_complete", "reset_status", "initialize_jobs"):
        c.post(f"/workflows/{wf_id}/{step}").raise_for_status()
    return wf_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--op", choices=sorted(OPERATIONS), default="delete")
    parser.add_argument("--chunk", type=int, help="the server's --chunk-jobs")
    args = parser.parse_args()
    server_args = ("--chunk-jobs", str(args.chunk)) if args.chunk else ()
    with (
        tempfile.TemporaryDirectory() as d,
        running_server(Path(d), args=server_args) as url,
        httpx.Client(base_url=url, timeout=900) as c,
    ):
        wf = big_workflow(c, args.jobs)
        other = c.post("/workflows", json={"name": "other", "user": "b"}).json()["id"]
        stop = threading.Event()
        writes: list[tuple[float, float]] = []

        def probe() -> None:
            with httpx.Client(base_url=url, timeout=900) as p:
                while not stop.is_set():
                    sent = time.perf_counter()
                    job = {"workflow_id": other, "name": f"x{len(writes)}", "command": "true"}
                    p.post("/jobs", json=job).raise_for_status()
                    writes.append((sent, time.perf_counter()))
                    time.sleep(0.01)

        prober = threading.Thread(target=probe)
        prober.start()
        time.sleep(0.3)  # the prober under way before the operation starts
        method, path = OPERATIONS[args.op]
        start = time.perf_counter()
        c.request(method, path.format(wf=wf)).raise_for_status()
        end = time.perf_counter()
        stop.set()
        prober.join()
    during = [done - sent for sent, done in writes if sent < end and done > start]
    print(
        {
            "op": args.op,
            "jobs": args.jobs,
            "chunk": args.chunk,
            "op_s": round(end - start, 2),
            "writes_during": len(during),
            "write_max_ms": round(1000 * max(during)) if during else None,
        }
    )


if __name__ == "__main__":
    main()
