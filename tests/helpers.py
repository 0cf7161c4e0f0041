"""Test helpers: a real torc-server process, polling with a deadline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
BIN = Path(sys.executable).parent


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    what: str = "condition",
    interval: float = 0.02,
) -> T:
    """Poll `predicate` until it returns a truthy value; fail naming `what` and the last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = predicate()
        except Exception as exc:  # keep polling through transient errors, but report them
            last = exc
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what}; last saw {last!r}"
            )
        time.sleep(interval)


@dataclass
class ServerProcess:
    proc: subprocess.Popen[str]
    port: int
    db_path: str
    stderr_path: Path
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}/torc-service/v1"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode


def start_server(
    workdir: Path,
    *args: str,
    database: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 20,
) -> ServerProcess:
    """Start `torc-server run --port 0` in `workdir` and wait until /ping answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = database or str(workdir / "torc.db")
    full_env = {**os.environ, "XDG_CONFIG_HOME": str(workdir / "xdg"), **(env or {})}
    stderr_path = workdir / "server.stderr"
    cmd = [
        str(BIN / "torc-server"),
        "run",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        "--database",
        db,
        "--completion-check-interval-secs",
        "0.5",
        *args,
    ]
    with open(stderr_path, "w") as err:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=workdir, env=full_env
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("TORC_SERVER_PORT="):
        proc.kill()
        raise AssertionError(f"no port line; got {line!r}; stderr: {stderr_path.read_text()}")
    server = ServerProcess(proc, int(line.split("=", 1)[1]), db, stderr_path)
    wait_until(
        lambda: httpx.get(server.url + "/ping", timeout=2).status_code == 200,
        timeout=timeout,
        what="torc-server answering /ping",
    )
    return server
