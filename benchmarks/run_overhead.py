"""`torc run` against xargs, with both of xargs's shells, interleaved in one run.

The peer benchmark's baseline runs each job with `sh -c` (dash); pytorc's runner, like Torc's,
runs `bash -c`, whose start-up alone costs about three times dash's. This script times, in turn:

    xargs -P SLOTS sh -c true      the peer benchmark's baseline
    xargs -P SLOTS bash -c true    the same jobs through bash: what no runner using bash can beat
    torc run spec.json             create + initialize + run, as the torc-py adapter calls it

and reports medians and each one's ratio to the first two. Usage:

    python benchmarks/run_overhead.py [--jobs 2000] [--slots 2] [--reps 5] [--chain]

--chain makes every job depend on the one before (the peer benchmark's W3 shape); xargs then
runs one job at a time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_server import running_server


def _xargs(shell: str, commands: Path, slots: int) -> float:
    started = time.perf_counter()
    with open(commands, "rb") as stdin:
        subprocess.run(
            ["xargs", "-P", str(slots), "-n", "1", "-d", "\n", shell, "-c"],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            check=True,
        )
    return time.perf_counter() - started


def _torc_run(torc: str, url: str, spec: Path, slots: int, out: Path) -> float:
    cmd = [torc, "--url", url, "-f", "json", "run", str(spec)]
    cmd += ["--max-parallel-jobs", str(slots), "-p", "0.1", "-o", str(out)]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"torc run failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = json.loads(done.stdout)
    if summary["jobs_by_status"]["completed"] != summary["jobs_run_here"]:
        sys.exit(f"not every job completed: {summary['jobs_by_status']}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--chain", action="store_true", help="each job after the one before")
    args = parser.parse_args()
    torc = str(Path(sys.executable).parent / "torc")
    if not Path(torc).exists():
        torc = shutil.which("torc") or sys.exit("torc not found; install pytorc first")
    slots = 1 if args.chain else args.slots
    with tempfile.TemporaryDirectory(prefix="torc-run-overhead-") as tmp:
        work = Path(tmp)
        commands = work / "commands.txt"
        commands.write_text("true\n" * args.jobs)
        times: dict[str, list[float]] = {"xargs sh": [], "xargs bash": [], "torc run": []}
        with running_server(work) as url:
            for rep in range(args.reps):
                spec = work / f"spec{rep}.json"
                jobs = [
                    {
                        "name": f"j{i}",
                        "command": "true",
                        "depends_on": [f"j{i - 1}"] if args.chain and i else [],
                    }
                    for i in range(args.jobs)
                ]
                spec.write_text(json.dumps({"name": f"overhead-{rep}", "jobs": jobs}))
                times["xargs sh"].append(_xargs("sh", commands, slots))
                times["xargs bash"].append(_xargs("bash", commands, slots))
                times["torc run"].append(_torc_run(torc, url, spec, args.slots, work / "out"))
    shape = f"chain of {args.jobs}" if args.chain else f"{args.jobs} independent"
    print(f"{shape} x `true`, {args.slots} slots, median of {args.reps} (interleaved)")
    print(f"{'':12} {'wall s':>8} {'x xargs sh':>11} {'x xargs bash':>13}")
    base_sh = statistics.median(times["xargs sh"])
    base_bash = statistics.median(times["xargs bash"])
    for name, values in times.items():
        wall = statistics.median(values)
        print(f"{name:12} {wall:8.3f} {wall / base_sh:11.2f} {wall / base_bash:13.2f}")


if __name__ == "__main__":
    main()
