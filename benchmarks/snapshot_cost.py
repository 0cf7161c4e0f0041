"""What a snapshot costs: its time, and /ping latency while the server writes it.

A server (file or in-memory database) holds a workflow of --jobs jobs; the script sends SIGUSR1
and pings the server every 5 ms until it prints TORC_SNAPSHOT_DONE, then reports the snapshot's
time and size and the pings' median and worst latency during it, beside the same pings with no
snapshot (the baseline of the same run).

    python benchmarks/snapshot_cost.py --jobs 200000
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_server import server_binary

TORC = str(Path(sys.executable).parent / "torc")


def pings(url: str, stop: threading.Event) -> list[float]:
    """Round trips of /ping, in seconds, until `stop` is set."""
    out = []
    with httpx.Client() as client:
        while not stop.is_set():
            t = time.perf_counter()
            client.get(f"{url}/ping")
            out.append(time.perf_counter() - t)
            time.sleep(0.005)
    return out


def measure(database: str, jobs: int, workdir: Path) -> dict[str, object]:
    snap = workdir / "snap.db"
    cmd = [server_binary(), "run", "--host", "127.0.0.1", "--port", "0", "--database", database]
    cmd += ["--snapshot-path", str(snap), "--log-level", "warn"]
    with open(workdir / "server.stderr", "w") as err:
        server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=workdir)
    assert server.stdout is not None
    port = server.stdout.readline().split("=", 1)[1].strip()
    url = f"http://127.0.0.1:{port}/torc-service/v1"
    spec = workdir / "spec.json"
    job = {"name": "j{i}", "command": "true", "parameters": {"i": f"1:{jobs}"}}
    spec.write_text(json.dumps({"name": "big", "jobs": [job]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TORC_")}
    subprocess.run(
        [TORC, "--url", url, "workflows", "create", str(spec)],
        check=True,
        capture_output=True,
        env=env,
    )
    stop = threading.Event()
    result: list[list[float]] = []
    baseline_thread = threading.Thread(target=lambda: result.append(pings(url, stop)))
    baseline_thread.start()
    time.sleep(1.0)
    stop.set()
    baseline_thread.join()
    stop = threading.Event()
    during_thread = threading.Thread(target=lambda: result.append(pings(url, stop)))
    during_thread.start()
    started = time.perf_counter()
    server.send_signal(signal.SIGUSR1)
    line = server.stdout.readline()
    seconds = time.perf_counter() - started
    stop.set()
    during_thread.join()
    server.send_signal(signal.SIGTERM)
    server.wait()
    assert line.startswith("TORC_SNAPSHOT_DONE="), line
    base, during = result
    return {
        "database": "memory" if database == ":memory:" else "file",
        "jobs": jobs,
        "snapshot_s": round(seconds, 3),
        "snapshot_mb": round(snap.stat().st_size / 2**20, 1),
        "ping_ms_median_baseline": round(statistics.median(base) * 1000, 2),
        "ping_ms_median_during": round(statistics.median(during) * 1000, 2),
        "ping_ms_max_during": round(max(during) * 1000, 2),
        "pings_during": len(during),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200_000)
    args = parser.parse_args()
    for kind in ("file", "memory"):
        shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
        with tempfile.TemporaryDirectory(dir=shm) as d:
            database = ":memory:" if kind == "memory" else str(Path(d) / "live.db")
            print(measure(database, args.jobs, Path(d)), flush=True)


if __name__ == "__main__":
    main()
