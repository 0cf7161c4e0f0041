"""Kills a runner's jobs when the runner dies without stopping them (SIGKILL, the OOM killer).

Each job runs in a session and process group of its own, so nothing the kernel does to a dead
runner reaches it: it would run on, owned by nobody. The runner therefore starts this small
process beside it and writes `+PGID` to the guard's standard input as each job starts and `-PGID`
as it reaps it. When the runner exits, however it exits, the kernel closes that pipe; the guard
then does what the runner's own stop does to the groups still listed: SIGTERM, a grace period,
SIGKILL. A runner that exits cleanly has reaped every job, so the list is empty and the guard
just exits.

Why not a parent-death signal (prctl PR_SET_PDEATHSIG) in each job: it must be set between fork
and exec, where posix_spawn has no room (a full fork per job cost the runner half its main loop),
and it reaches only the job's first process, not the processes that one starts.

The guard runs as a script (`python -I -S guard.py GRACE`), standard library only, so that it
starts in ~10 ms; the runner imports this module for the Guard class.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import threading
import time

TERMINATION_GRACE = 3.0  # seconds from SIGTERM to SIGKILL, the runner's default and the guard's
READ_INTERVAL = 0.2  # seconds between the guard's reads: it wakes 5 times a second, not per job
PIPE_SIZE = 1 << 20  # ~65,000 jobs' lines between two reads, so the runner never waits on it


class Guard:
    """The runner's end: start the guard process, then tell it which groups to look after."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd = fd  # the pipe's write end; close-on-exec, so no job inherits it

    @classmethod
    def start(cls, grace: float) -> Guard:
        """Start the guard process (raises OSError if it cannot be started)."""
        read_end, write_end = os.pipe()
        with contextlib.suppress(OSError):  # the default 64 KiB may be all we are allowed
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        try:
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-I", "-S", __file__, repr(grace)],
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, read_end, 0),
                    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                ],
                setsid=True,  # out of the terminal's reach: a Ctrl-C is the runner's to handle
            )
        except OSError:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        return cls(pid, write_end)

    def watch(self, pgid: int) -> None:
        self._send(b"+%d\n" % pgid)

    def forget(self, pgid: int) -> None:
        self._send(b"-%d\n" % pgid)

    def _send(self, line: bytes) -> None:
        if self.fd < 0:
            return
        try:
            os.write(self.fd, line)  # a few bytes: a pipe write that short is never split
        except OSError:  # the guard is gone; the runner carries on without one
            os.close(self.fd)
            self.fd = -1

    def close(self) -> None:
        """End the guard: it exits at once when no group is listed.

        It is reaped by a thread: a guard still starting up (~10 ms) would otherwise hold up
        the end of a short run."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
            threading.Thread(target=_reap, args=(self.pid,), daemon=True).start()


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def read_groups(fd: int, interval: float = READ_INTERVAL) -> set[int]:
    """Follow the runner's `+PGID` / `-PGID` lines to end of file; the groups listed then.

    Reads every `interval` seconds rather than whenever a line arrives: on a node busy with
    short jobs, a wake-up per job start and end cost the jobs measurable CPU."""
    groups: set[int] = set()
    partial = b""
    while chunk := os.read(fd, PIPE_SIZE):
        lines = (partial + chunk).split(b"\n")
        partial = lines.pop()
        for line in lines:
            if line.startswith(b"+"):
                groups.add(int(line[1:]))
            elif line.startswith(b"-"):
                groups.discard(int(line[1:]))
        time.sleep(interval)
    return groups


def stop_groups(groups: set[int], grace: float) -> None:
    """SIGTERM each group, wait up to `grace` seconds for them to end, SIGKILL the rest."""
    alive = [g for g in groups if _signal(g, signal.SIGTERM)]
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [g for g in alive if _signal(g, 0)]
    for group in alive:
        _signal(group, signal.SIGKILL)


def _signal(pgid: int, sig: int) -> bool:
    """Send `sig` to the group; False when no process of it is left."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def main(argv: list[str]) -> None:
    grace = float(argv[1]) if len(argv) > 1 else 3.0
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner's Ctrl-C is not ours
    stop_groups(read_groups(0), grace)


if __name__ == "__main__":
    main(sys.argv)
