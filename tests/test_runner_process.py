"""job_argv: when a job's command is exec'd directly and when it goes through `bash -c`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pytorc.runner.process import job_argv

SLEEP = shutil.which("sleep")


def bash(text: str) -> list[str]:
    return ["bash", "-c", text]


def test_a_program_with_plain_arguments_is_execd_directly_by_its_full_path() -> None:
    assert SLEEP is not None
    assert job_argv("sleep 1", None) == [SLEEP, "1"]
    assert job_argv("  sleep   1  ", None) == [SLEEP, "1"]  # spaces only separate words
    assert job_argv("/bin/sleep 0.5", None) == ["/bin/sleep", "0.5"]
    plain = "sleep 1 -x --n=3 a/b.txt x,y a:b +1 user@host 50% ^c"
    assert job_argv(plain, None) == [SLEEP, *plain.split()[1:]]


def test_true_and_false_run_their_programs_which_do_exactly_what_the_builtins_do() -> None:
    assert job_argv("true", None) == [shutil.which("true")]
    assert job_argv("false x", None) == [shutil.which("false"), "x"]


def test_the_invocation_script_is_the_program_and_the_command_its_arguments() -> None:
    assert job_argv("1", "sleep") == [SLEEP, "1"]
    assert job_argv("echo hi", "env") == [shutil.which("env"), "echo", "hi"]


@pytest.mark.parametrize(
    "command",
    [
        "echo hello",  # bash builtins and keywords
        "type true",
        "cd /tmp",
        "[ -f x ]",
        "if true",
        "FOO=1 sleep 1",  # an assignment before the program
        "sleep 1; sleep 2",  # operators, pipes, redirections, background
        "sleep 1 && true",
        "sleep 1 | cat",
        "sleep 1 > out.txt",
        "sleep 1 &",
        "sleep $N",  # expansions, quoting, globs, home, escapes, comments
        "sleep ${N}",
        "sleep $(echo 1)",
        "sleep `echo 1`",
        "sleep '1'",
        'sleep "1"',
        "ls *.txt",
        "ls file?.txt",
        "ls ~/x",
        "sleep 1\\ 2",
        "sleep 1 # comment",
        "sleep\t1",  # a tab is not a plain separator
        "sleep 1\nsleep 2",  # nor a newline
        "./relative-script.sh",  # a program not found as an absolute path
        "no-such-program-pytorc-test 1",
        "",
    ],
)
def test_anything_bash_would_read_differently_goes_through_bash(command: str) -> None:
    assert job_argv(command, None) == bash(command)


def test_the_bash_text_is_the_invocation_script_then_the_command_unstripped() -> None:
    assert job_argv("echo hi ", "ulimit -v 100;") == bash("ulimit -v 100; echo hi ")


def test_a_job_that_sets_its_own_path_always_goes_through_bash() -> None:
    assert job_argv("sleep 1", None, direct=False) == bash("sleep 1")


def test_programs_are_looked_up_in_the_runners_path_and_must_be_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = tmp_path / "pytorc-test-tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    data = tmp_path / "pytorc-test-data"
    data.write_text("not a program\n")
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert job_argv("pytorc-test-tool a", None) == [str(tool), "a"]
    assert job_argv(f"{data} a", None) == bash(f"{data} a")  # not executable: bash reports it


def test_each_call_returns_a_list_of_its_own() -> None:
    first = job_argv("sleep 2", None)
    first.append("changed")
    assert job_argv("sleep 2", None) == [SLEEP, "2"]
