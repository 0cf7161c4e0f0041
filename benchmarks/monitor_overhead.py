"""How much CPU the resource monitor's thread uses while it watches N running jobs.

Starts N jobs (`bash -c "sleep 1000 & sleep 1000 & wait"`: three processes each, the shape of a
job that runs a tool or two), watches them with one ResourceMonitor for a while, and prints the
monitor thread's CPU time per sampling round and as a share of one core at the chosen interval.

    python benchmarks/monitor_overhead.py --jobs 2 50 --interval 0.2 --seconds 10
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from pytorc.runner.monitor import ResourceMonitor

JOB = "sleep 1000 & sleep 1000 & wait"


def measure(jobs: int, interval: float, seconds: float, time_series: bool) -> dict[str, float]:
    procs = [subprocess.Popen(["bash", "-c", JOB], start_new_session=True) for _ in range(jobs)]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "samples.db" if time_series else None
        monitor = ResourceMonitor(interval, db, flush_interval=5.0)
        try:
            time.sleep(0.5)  # let every job start its children
            for i, proc in enumerate(procs):
                monitor.add(i, proc.pid)
            time.sleep(seconds)
            for i in range(jobs):
                monitor.remove(i)
        finally:
            monitor.close()
            for proc in procs:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    per_round = monitor.cpu_seconds / max(monitor.rounds, 1)
    return {
        "rounds": monitor.rounds,
        "cpu_s": monitor.cpu_seconds,
        "ms_per_round": 1000 * per_round,
        "core_percent": 100 * per_round / interval,
        "core_percent_at_10s": 100 * per_round / 10.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[2, 50])
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-time-series", action="store_true")
    args = parser.parse_args()
    processes = sum(1 for name in os.listdir("/proc") if name.isdigit())
    print(f"machine: {os.cpu_count()} CPUs, {processes} processes before the jobs start")
    print(
        "| jobs | processes watched | rounds | ms CPU per round | % of a core at "
        f"{args.interval:g} s | % of a core at 10 s |"
    )
    print("|---|---|---|---|---|---|")
    for jobs in args.jobs:
        r = measure(jobs, args.interval, args.seconds, not args.no_time_series)
        print(
            f"| {jobs} | {3 * jobs} | {r['rounds']:.0f} | {r['ms_per_round']:.2f} | "
            f"{r['core_percent']:.1f} | {r['core_percent_at_10s']:.2f} |"
        )


if __name__ == "__main__":
    main()
