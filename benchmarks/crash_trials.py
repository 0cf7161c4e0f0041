"""Crash trials: kill -9 the server, or a runner, in the middle of a run; count what survived.

`--kill server`: N runners (`torc run WF`) work through the jobs; the server is killed with
SIGKILL once a third of them ran, kept down `--down` seconds, and restarted on the same port and
file. `--kill runner`: one of the runners is killed with SIGKILL instead and the others go on;
the server (`--dead-runner-timeout-secs`) requeues its jobs. Each job appends its name to a log,
so a trial counts jobs that never ran, ran twice, or were left unfinished, and the runners that
did not exit 0. Also reported: the time from a runner's death to the server requeueing its jobs.

    python benchmarks/crash_trials.py --kill server --runners 8 --jobs 1000 --trials 3
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_server import create_workflow, server_binary

TORC = str(Path(sys.executable).parent / "torc")


# Every server and runner a trial starts: killed when the trial ends, however it ends (an
# exception in a trial used to leave its server running).
STARTED: list[subprocess.Popen[Any]] = []


def start_server(workdir: Path, port: int, timeout: float) -> tuple[subprocess.Popen[str], str]:
    cmd = [server_binary(), "run", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--database", str(workdir / "crash.db"), "--log-level", "warn"]
    cmd += ["--dead-runner-timeout-secs", str(timeout)]
    with open(workdir / "server.stderr", "a") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=workdir)
    STARTED.append(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("TORC_SERVER_PORT="):
        sys.exit(f"torc-server did not start: {(workdir / 'server.stderr').read_text()}")
    url = f"http://127.0.0.1:{line.split('=', 1)[1].strip()}/torc-service/v1"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    sys.exit("torc-server did not answer /ping")


def statuses(url: str, wf: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    offset = 0
    while True:
        page = httpx.get(
            f"{url}/jobs", params={"workflow_id": wf, "offset": offset, "limit": 10000}
        ).json()
        counts.update(j["status"] for j in page["items"])
        if not page["has_more"]:
            return counts
        offset += len(page["items"])


def trial(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    log = workdir / "ran.log"
    server, url = start_server(workdir, 0, args.dead_runner_timeout)
    port = int(url.split(":")[2].split("/")[0])
    command = f"echo j{{i}} >> {log}; sleep {args.job_seconds}"
    job = {"name": "j{i}", "command": command, "parameters": {"i": f"1:{args.jobs}"}}
    wf = create_workflow(url, {"name": "crash", "jobs": [job]}, workdir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TORC_")}
    runners = [
        subprocess.Popen(
            [
                TORC,
                "--url",
                url,
                "-f",
                "json",
                "run",
                str(wf),
                "-p",
                "0.2",
                "--num-cpus",
                "2",
                "-o",
                str(workdir / f"out{n}"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / f"runner{n}.err", "w"),  # noqa: SIM115
            env=env,
            cwd=workdir,
        )
        for n in range(args.runners)
    ]
    STARTED.extend(runners)
    started = time.monotonic()
    while len(log.read_text().splitlines() if log.exists() else []) < args.jobs // 3:
        time.sleep(0.01)
    requeue_latency = None
    if args.kill == "server":
        server.kill()
        server.wait()
        time.sleep(args.down)
        server, url = start_server(workdir, port, args.dead_runner_timeout)
    else:
        runners[0].kill()
        killed = time.monotonic()
        while requeue_latency is None and time.monotonic() - killed < 120:
            events = httpx.get(f"{url}/events", params={"workflow_id": wf}).json()["items"]
            if any(e["data"].get("category") == "runner_declared_dead" for e in events):
                requeue_latency = time.monotonic() - killed
            time.sleep(0.05)
    codes = [p.wait(timeout=args.down + 600) for p in runners]
    seconds = time.monotonic() - started
    ran = Counter(log.read_text().split())
    counts = statuses(url, wf)
    server.send_signal(signal.SIGTERM)
    server.wait()
    expected_dead = 1 if args.kill == "runner" else 0
    return {
        "never_ran": args.jobs - len(ran),
        "ran_twice": sum(1 for n in ran.values() if n > 1),
        "not_completed": args.jobs - counts["completed"],
        "runners_failed": sum(1 for c in codes if c != 0) - expected_dead,
        "requeue_latency_s": None if requeue_latency is None else round(requeue_latency, 2),
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kill", choices=("server", "runner"), default="server")
    parser.add_argument("--runners", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--job-seconds", type=float, default=0.02)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--down", type=float, default=10.0, help="seconds the server stays down")
    parser.add_argument("--dead-runner-timeout", type=float, default=5.0)
    args = parser.parse_args()
    for n in range(args.trials):
        with tempfile.TemporaryDirectory(
            dir="/dev/shm" if Path("/dev/shm").is_dir() else None
        ) as d:
            try:
                print(f"trial {n + 1} (kill {args.kill}): {trial(args, Path(d))}", flush=True)
            finally:
                for proc in STARTED:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
                STARTED.clear()


if __name__ == "__main__":
    main()
