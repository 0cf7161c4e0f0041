"""One job's process: its own process group, reaped through a pidfd, killed as a group."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class JobProcess:
    job: dict[str, Any]
    pid: int
    started: float
    start_time: str
    stdout: str
    stderr: str
    pidfd: int = -1
    signaled: int = 0  # the signal we sent, if we killed it
    limit: str | None = None  # the resource limit it ran into (runner/limits.py), if any
    returncode: int | None = None
    rusage: Any = None
    ended: float = 0.0

    @property
    def job_id(self) -> int:
        return int(self.job["id"])

    def reap(self, block: bool = False) -> bool:
        """Collect the exit status if the process has ended; True when it has."""
        if self.returncode is not None:
            return True
        try:
            pid, status, rusage = os.wait4(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            pid, status, rusage = self.pid, 0, None
        if pid == 0:
            return False
        self.ended = time.monotonic()
        self.returncode = os.waitstatus_to_exitcode(status)
        self.rusage = rusage
        return True

    def close_fd(self) -> None:
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1

    def kill_group(self, sig: int) -> None:
        """Signal the job's whole process group (the job and everything it started)."""
        self.signaled = self.signaled or sig
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)


# Words bash runs itself (builtins and keywords): a command starting with one needs bash.
_BASH_WORD_LIST = (
    "alias bg bind break builtin caller case cd command compgen complete compopt continue "
    "coproc declare dirs disown do done echo elif else enable esac eval exec exit export fc fg "
    "fi for function getopts hash help history if in jobs kill let local logout mapfile popd "
    "printf pushd pwd read readarray readonly return select set shift shopt source suspend "
    "test then time times trap true false type typeset ulimit umask unalias unset until wait "
    "while . : [ [[ ]] { } !"
)
# Builtins whose program (/usr/bin/true) does exactly the same with plain arguments.
_SAME_AS_PROGRAM = frozenset({"true", "false"})
_BASH_WORDS = frozenset(_BASH_WORD_LIST.split()) - _SAME_AS_PROGRAM
# Characters with no meaning to bash inside a word: a command made only of these and spaces
# means exactly "run this program with these arguments".
_PLAIN = re.compile(r"[A-Za-z0-9_./,:+@%^-]+(?: +[A-Za-z0-9_./,:+@%^=-]+)*")


def job_argv(command: str, invocation_script: str | None, direct: bool = True) -> list[str]:
    """What to exec for a job (see _job_argv); sweeps repeat commands, so answers are cached."""
    return list(_job_argv(command, invocation_script, direct))


@functools.lru_cache(maxsize=4096)
def _job_argv(command: str, invocation_script: str | None, direct: bool) -> tuple[str, ...]:
    """What to exec: `bash -c` of the command (prefixed by its invocation script, if any).

    A command that is only a program and plain arguments (no quoting, variables, globs,
    redirections, operators or bash builtins) is exec'd directly: the same meaning, without
    bash's start-up, which costs more than the rest of a short job's overhead together.
    `direct=False` (a job that sets its own PATH) always goes through bash.
    """
    text = f"{invocation_script} {command}" if invocation_script else command
    stripped = text.strip()
    if direct and _PLAIN.fullmatch(stripped):
        words = stripped.split()
        if words[0] not in _BASH_WORDS and "=" not in words[0]:
            program = _which(words[0])
            if os.path.isabs(program) and os.access(program, os.X_OK):
                return (program, *words[1:])
    return ("bash", "-c", text)


_RESET_SIGNALS = frozenset({signal.SIGPIPE, signal.SIGXFSZ})  # Python ignores these
_WRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


@functools.cache
def _which(program: str) -> str:
    return shutil.which(program) or program


def spawn(
    job: dict[str, Any],
    argv: list[str],
    env: dict[str, str],
    stdout: str,
    stderr: str,
    start_time: str,
) -> JobProcess:
    """Start the job as the leader of a new session, stdio to its files.

    posix_spawn (a vfork under glibc) rather than subprocess: a runner holding threads and
    sockets pays for a full fork on every job, which profiling showed was half its main loop.
    """
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout, _WRITE, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, stderr, _WRITE, 0o644),
    ]
    pid = os.posix_spawn(
        _which(argv[0]), argv, env, file_actions=actions, setsid=True, setsigdef=_RESET_SIGNALS
    )
    proc = JobProcess(job, pid, time.monotonic(), start_time, stdout, stderr)
    try:
        proc.pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        proc.pidfd = -1  # no pidfd: the runner falls back to polling waitpid
    return proc


def terminate(procs: list[JobProcess], grace: float) -> None:
    """SIGTERM every group, wait up to `grace` seconds, then SIGKILL what is left."""
    for proc in procs:
        proc.kill_group(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not all(p.reap() for p in procs):
        time.sleep(0.02)
    for proc in procs:
        if not proc.reap():
            proc.kill_group(signal.SIGKILL)
            proc.reap(block=True)
