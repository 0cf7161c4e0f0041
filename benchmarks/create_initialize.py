"""Creating and initializing big workflows: time per size, and the server's memory per job.

For each --sizes N, a fresh server takes a parameter sweep of N jobs from `torc workflows
create` (from 10,000 jobs the sweep is sent whole and expanded by the server; with --fan-in a
setup job comes before it and an aggregate job after all of it), then `torc workflows
initialize`;
reported: each command's wall time, jobs per second, and the server's peak resident memory
(from /proc, sampled every 50 ms) per job above its idle size.

    python benchmarks/create_initialize.py --sizes 10000,100000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from bench_server import create_workflow, running_server

TORC = str(Path(sys.executable).parent / "torc")


def server_process(url: str) -> psutil.Process:
    port = int(url.split(":")[2].split("/")[0])
    for conn in psutil.net_connections("tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
            return psutil.Process(conn.pid)
    sys.exit(f"no process listens on port {port}")


class PeakRss:
    """The largest resident size a process reaches while this runs."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.peak = process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def measure(size: int, fan_in: bool, chunk: int | None = None) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TORC_")}
    args = ("--chunk-jobs", str(chunk)) if chunk else ()
    with tempfile.TemporaryDirectory() as d, running_server(Path(d), args=args) as url:
        server = server_process(url)
        idle = server.memory_info().rss
        peak = PeakRss(server)
        job: dict[str, object] = {
            "name": "j{i}",
            "command": "echo {i}",
            "parameters": {"i": f"1:{size}"},
        }
        jobs = [job]
        if fan_in:
            job["depends_on"] = ["setup"]
            jobs = [
                {"name": "setup", "command": "true"},
                job,
                {"name": "aggregate", "command": "true", "depends_on_regexes": ["^j"]},
            ]
        started = time.perf_counter()
        wf = create_workflow(url, {"name": "sweep", "jobs": jobs}, Path(d))
        created = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run(
            [TORC, "--url", url, "workflows", "initialize", str(wf), "--no-prompts"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        initialized = time.perf_counter() - started
        top = peak.stop()
    return {
        "jobs": size,
        "fan_in": fan_in,
        "create_s": round(created, 2),
        "initialize_s": round(initialized, 2),
        "jobs_per_s": round(size / (created + initialized)),
        "server_peak_rss_mb": round(top / 2**20),
        "bytes_per_job": round((top - idle) / size),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--fan-in", action="store_true", help="setup -> sweep -> aggregate")
    parser.add_argument("--chunk", type=int, help="the server's --chunk-jobs")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        print(measure(size, args.fan_in, args.chunk), flush=True)


if __name__ == "__main__":
    main()
