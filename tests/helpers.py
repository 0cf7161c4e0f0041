"""Test helpers: the one torc-server launcher, the one compute-node builder, polling with a
deadline, and the published client closed after use."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil

T = TypeVar("T")
BIN = Path(sys.executable).parent
SERVER = str(BIN / "torc-server")


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


def clean_env(workdir: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any Torc settings, with an empty user config dir."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith("TORC_") and k != "DATABASE_URL"
    }
    return {**env, "XDG_CONFIG_HOME": str(workdir / "xdg"), **extra}


@dataclass
class ServerProcess:
    """A running `torc-server`; as a context manager it is stopped, and seen gone, on exit."""

    proc: subprocess.Popen[str]
    port: int
    db_path: str
    stderr_path: Path
    url: str = field(init=False)
    started_at: float = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}/torc-service/v1"
        self.started_at = psutil.Process(self.proc.pid).create_time()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        assert not self.alive(), f"torc-server pid {self.proc.pid} still exists after stop()"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        """Signal the server (if it still runs), wait for it, close its pipes; its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        return self.proc.returncode

    def alive(self) -> bool:
        """True while this server's pid names this process (not a later one given its number)."""
        try:
            process = psutil.Process(self.proc.pid)
            return (
                process.create_time() == self.started_at
                and process.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.NoSuchProcess:
            return False


def start_server(
    workdir: Path,
    *args: str,
    database: str | None = None,
    env: dict[str, str] | None = None,
    defaults: bool = True,
    stdin: bool = False,
    timeout: float = 20,
    ping_auth: tuple[str, str] | None = None,
) -> ServerProcess:
    """Start `torc-server run` in `workdir` and wait until /ping answers.

    With `defaults`, the server listens on a free port of 127.0.0.1, keeps its database in
    `workdir/torc.db` (or `database`) and sweeps every 0.5 s; `args` come after those, so a
    flag given there wins. Without, `args` are the whole command line after `run` (tests of
    the settings layers). The environment is the caller's without any TORC_* setting, with an
    empty config dir, plus `env`. `stdin` gives the server a pipe as its standard input;
    `ping_auth`: the credentials of a server that requires them.
    Use the result in a `with` block (or call stop()): no test leaves a server running.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    db = (database or str(workdir / "torc.db")) if defaults else ""
    settings = ["--port", "0", "--host", "127.0.0.1", "--database", db] if defaults else []
    if defaults:
        settings += ["--completion-check-interval-secs", "0.5"]
    stderr_path = workdir / "server.stderr"
    with open(stderr_path, "w") as err:
        proc = subprocess.Popen(
            [SERVER, "run", *settings, *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            cwd=workdir,
            env=clean_env(workdir, **(env or {})),
        )
    assert proc.stdout is not None
    # The contract tests rely on: the first line on stdout announces the port.
    line = proc.stdout.readline()
    if not line.startswith("TORC_SERVER_PORT="):
        _reap(proc)
        raise AssertionError(f"first line {line!r}; stderr: {stderr_path.read_text()}")
    server = ServerProcess(proc, int(line.removeprefix("TORC_SERVER_PORT=")), db, stderr_path)
    try:
        wait_until(
            lambda: httpx.get(server.url + "/ping", timeout=2, auth=ping_auth).status_code == 200,
            timeout=timeout,
            what="torc-server answering /ping",
        )
    except BaseException:
        server.stop(signal.SIGKILL)
        raise
    return server


def _reap(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()


def compute_node(workflow_id: int, **fields: Any) -> dict[str, Any]:
    """The record a runner registers before it claims: a local, active node with 4 CPUs and
    8 GB (override any field); the body of POST /compute_nodes, or ComputeNodeModel(**it)."""
    return {
        "workflow_id": workflow_id,
        "hostname": "testhost",
        "pid": 1,
        "start_time": "2026-01-01T00:00:00Z",
        "num_cpus": 4,
        "memory_gb": 8.0,
        "num_gpus": 0,
        "num_nodes": 1,
        "compute_node_type": "local",
        "is_active": True,
        **fields,
    }


@contextlib.contextmanager
def published_api(url: str) -> Iterator[Any]:
    """torc-client 0.35.0's DefaultApi, unchanged, pointed at `url`; its sockets closed after.

    The generated ApiClient has no close(); its urllib3 pool is what holds the connections.
    """
    from torc.api import make_api

    api = make_api(url)
    try:
        yield api
    finally:
        api.api_client.rest_client.pool_manager.clear()


def initialize_in_one_transaction(
    conn: sqlite3.Connection, workflow_id: int, only_uninitialized: bool = False
) -> dict[str, Any]:
    """What the server's initialize_jobs does in chunks, in the caller's one transaction."""
    from pytorc.server.services import initialization

    plan = initialization.begin(conn, workflow_id, only_uninitialized, sys.maxsize)
    for first, last in plan.chunks:
        initialization.initialize_chunk(conn, plan, first, last)
    return initialization.finish(conn, plan)
