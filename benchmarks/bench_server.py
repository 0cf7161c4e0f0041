"""A torc-server process for the benchmark scripts: started on a fresh file database, stopped."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx


def server_binary() -> str:
    beside = Path(sys.executable).parent / "torc-server"
    found = str(beside) if beside.exists() else shutil.which("torc-server")
    if found is None:
        sys.exit("torc-server not found; install pytorc first (make venv && pip install -e .)")
    return found


@contextmanager
def running_server(
    workdir: Path,
    threads: int = 1,
    args: tuple[str, ...] = (),
    auth: tuple[str, str] | None = None,
) -> Iterator[str]:
    """A torc-server on a fresh file database in `workdir` (more flags in `args`; `auth`: the
    credentials it requires); yields its API base URL."""
    cmd = [server_binary(), "run", "--host", "127.0.0.1", "--port", "0"]
    cmd += ["--threads", str(threads), "--database", str(workdir / "bench.db")]
    cmd += ["--log-level", "warn", *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TORC_")}
    with open(workdir / "server.stderr", "w") as err:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=workdir
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("TORC_SERVER_PORT="):
            sys.exit(f"torc-server did not start: {(workdir / 'server.stderr').read_text()}")
        url = f"http://127.0.0.1:{int(line.split('=', 1)[1])}/torc-service/v1"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/ping", timeout=2, auth=auth).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                sys.exit("torc-server did not answer /ping within 30 s")
            time.sleep(0.05)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def create_workflow(url: str, spec: dict[str, Any], workdir: Path) -> int:
    """`torc workflows create` of `spec` (written to workdir/spec.json) on the server at
    `url`, through the real CLI, without the caller's TORC_* settings; the new workflow's id."""
    path = workdir / "spec.json"
    path.write_text(json.dumps(spec))
    torc = str(Path(sys.executable).parent / "torc")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TORC_")}
    made = subprocess.run(
        [torc, "--url", url, "-f", "json", "workflows", "create", str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return int(json.loads(made.stdout)["id"])


def timed(work: Callable[[], object]) -> float:
    """Seconds one call of `work` takes."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started
