"""Reading a big workflow back: deep pages, the status counts, and paging through every job.

A server holds one workflow of --jobs jobs (a parameter sweep created through the CLI); timed
over HTTP, each the median of --reps: the first and the last page of `jobs?limit=100`,
`workflows/{id}/status`, and every job read in pages of 10,000. `/ping` in the same run is the
floor.

    python benchmarks/paging.py --jobs 200000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_server import create_workflow, running_server

TORC = str(Path(sys.executable).parent / "torc")


def timed(reps: int, work: Callable[[], object]) -> float:
    """Median seconds of `work` over `reps` runs."""
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        work()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d, running_server(Path(d)) as url:
        job = {"name": "j{i}", "command": "true", "parameters": {"i": f"1:{args.jobs}"}}
        wf = create_workflow(url, {"name": "big", "jobs": [job]}, Path(d))
        with httpx.Client(base_url=url, timeout=120) as http:

            def page(offset: int, limit: int = 100) -> dict[str, object]:
                answer = http.get(
                    "/jobs", params={"workflow_id": wf, "offset": offset, "limit": limit}
                )
                answer.raise_for_status()
                return dict(answer.json())

            def read_all() -> None:
                offset = 0
                while True:
                    got = page(offset, 10_000)
                    offset += int(got["count"])  # type: ignore[call-overload]
                    if not got["has_more"]:
                        break

            figures = {
                "jobs": args.jobs,
                "ping_ms": timed(args.reps, lambda: http.get("/ping")) * 1000,
                "first_page_ms": timed(args.reps, lambda: page(0)) * 1000,
                "last_page_ms": timed(args.reps, lambda: page(args.jobs - 100)) * 1000,
                "status_ms": timed(args.reps, lambda: http.get(f"/workflows/{wf}/status")) * 1000,
                "all_pages_of_10000_s": timed(max(1, args.reps // 2), read_all),
            }
    print({k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()})


if __name__ == "__main__":
    main()
