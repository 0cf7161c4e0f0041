"""A private torc-server for one command (`torc -s run spec.yaml`): started, used, stopped.

The server ends with its owner however the owner ends: it reads its standard input, a pipe
whose write end only the owner holds, and shuts down when that reaches end of file
(`--shutdown-on-stdin-eof`), which the kernel brings about when the owner dies, SIGKILL included.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from pytorc.client.transport import ping
from pytorc.errors import TorcError

DEFAULT_DB = Path("torc_output") / "torc.db"


def database_of(database: str | None) -> str:
    """The database a private server uses: the one named, else ./torc_output/torc.db."""
    return database or str(DEFAULT_DB)


def _server_command() -> str:
    beside = Path(sys.executable).parent / "torc-server"
    return str(beside) if beside.exists() else "torc-server"


class StandaloneServer:
    """torc-server on a free loopback port with its own database; a context manager."""

    def __init__(
        self,
        database: str | None = None,
        startup_timeout: float = 30.0,
        snapshot_path: str | None = None,
        snapshot_interval: float | None = None,
    ) -> None:
        """`snapshot_path`: where an in-memory server leaves its final snapshot (and periodic
        ones every `snapshot_interval` seconds)."""
        self.database = database_of(database)
        self.snapshot_path = snapshot_path
        self.snapshot_interval = snapshot_interval
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> StandaloneServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> str:
        self.launch()
        return self.wait_ready()

    def launch(self) -> None:
        """Start the process without waiting for it; wait_ready() waits."""
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            _server_command(),
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--database",
            self.database,
            "--completion-check-interval-secs",
            "5",
            "--no-warm-up",  # a few requests, to a few routes: preparing all would cost more
            "--shutdown-on-stdin-eof",
        ]
        if self.snapshot_path is not None:
            Path(self.snapshot_path).parent.mkdir(parents=True, exist_ok=True)
            cmd += ["--snapshot-path", self.snapshot_path, "--snapshot-keep", "1"]
        if self.snapshot_interval:
            cmd += ["--snapshot-interval-seconds", str(self.snapshot_interval)]
        # The pipe is close-on-exec on our side: no job we start holds it open after we die.
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a Ctrl-C at the terminal is ours to handle, not its
        )

    def wait_ready(self) -> str:
        """The server's API URL, once it answers."""
        assert self.proc is not None and self.proc.stdout is not None
        if self.url:
            return self.url
        line = self.proc.stdout.readline()
        if not line.startswith("TORC_SERVER_PORT="):
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.proc.wait()
            raise TorcError(f"the standalone torc-server did not start: {err.strip()[-500:]}")
        url = f"http://127.0.0.1:{int(line.split('=', 1)[1])}/torc-service/v1"
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if ping(url, timeout=2):
                self.url = url
                return url
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise TorcError(f"the standalone torc-server at {url} did not answer")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc.stdin is not None:
            self.proc.stdin.close()


def server_answers(url: str, timeout: float = 1.0) -> bool:
    return ping(url, timeout)
