"""The `torc-server` process: startup line, settings layers, logs, signals, durability."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from helpers import BIN, SERVER, ServerProcess, clean_env, start_server


def launch(workdir: Path, *args: str, env: dict[str, str] | None = None) -> ServerProcess:
    """`torc-server run ARGS` in `workdir` with only the settings given; waits for /ping."""
    return start_server(workdir, *args, env=env, defaults=False)


def run_to_exit(
    workdir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a torc-server expected to refuse to start."""
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [SERVER, "run", *args],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env or clean_env(workdir),
        timeout=30,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_line(server: ServerProcess) -> str:
    """The 'settings:' line the server logs before it answers."""
    for line in server.stderr_path.read_text().splitlines():
        if "settings:" in line:
            return line
    raise AssertionError(f"no settings line in {server.stderr_path.read_text()!r}")


def create_workflow(server: ServerProcess, name: str) -> int:
    response = httpx.post(f"{server.url}/workflows", json={"name": name, "user": "tester"})
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


def workflow_names(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM workflow ORDER BY id")]


# --- startup -------------------------------------------------------------------------------


def test_port_zero_announces_the_port_on_the_first_stdout_line(tmp_path: Path) -> None:
    # start_server reads the first stdout line and refuses anything but TORC_SERVER_PORT=<port>.
    args = ("--port", "0", "--host", "127.0.0.1", "--database", ":memory:")
    with launch(tmp_path, *args) as server:
        assert server.port > 0
        version = httpx.get(server.url + "/version", timeout=2).json()
        assert version["api_version"] == "0.21.0"
        assert server.stop() == 0


def test_memory_database_serves_and_leaves_no_file(tmp_path: Path) -> None:
    with launch(tmp_path, "--port", "0", "--host", "127.0.0.1", "--database", ":memory:") as server:
        wf = create_workflow(server, "in-memory")
        got = httpx.get(f"{server.url}/workflows/{wf}").json()
        assert got["name"] == "in-memory"
        assert server.stop() == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["server.stderr"]


def test_a_port_in_use_is_an_error_not_a_hang(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_to_exit(
            tmp_path, "--host", "127.0.0.1", "--port", str(port), "--database", ":memory:"
        )
    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_database_that_cannot_be_opened_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a-directory.db").mkdir()
    done = run_to_exit(tmp_path, "--port", "0", "--database", str(tmp_path / "a-directory.db"))
    assert done.returncode != 0
    assert "cannot open database" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_database_in_a_missing_directory_is_refused_not_created(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir" / "torc.db"
    done = run_to_exit(tmp_path, "--port", "0", "--database", str(target))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"the directory of database {target} does not exist" in done.stderr
    assert not (tmp_path / "no").exists()


def test_a_second_server_on_one_database_is_refused_and_a_killed_ones_is_not(
    tmp_path: Path,
) -> None:
    db = tmp_path / "one.db"
    with launch(tmp_path, "--port", "0", "--database", str(db)) as first:
        done = run_to_exit(tmp_path, "--port", "0", "--database", str(db))
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert f"already served by another torc-server (pid {first.proc.pid})" in done.stderr
        create_workflow(first, "kept")
        first.stop(signal.SIGKILL)
    with launch(tmp_path, "--port", "0", "--database", str(db)) as second:  # the lock died
        assert httpx.get(f"{second.url}/ping").status_code == 200
    assert workflow_names(db) == ["kept"]


# --- settings layers -----------------------------------------------------------------------


def write_layers(workdir: Path, port: int) -> None:
    """A user config and a ./torc.toml that disagree, so we can tell which one won."""
    user = workdir / "xdg" / "torc" / "config.toml"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(
        "[server]\n"
        f'host = "127.0.0.1"\nport = {port}\nthreads = 2\n'
        'completion_check_interval_secs = 11.0\nlog_level = "error"\ndatabase = "user.db"\n'
    )
    (workdir / "torc.toml").write_text(
        "[server]\n"
        'threads = 3\ncompletion_check_interval_secs = 12.0\nlog_level = "info"\n'
        'database = "project.db"\n'
    )


def test_user_config_then_project_file_then_env_then_flags(tmp_path: Path) -> None:
    port = free_port()
    write_layers(tmp_path / "files", port)
    with launch(tmp_path / "files") as server:
        assert server.port == port  # only the user config sets a port
        line = settings_line(server)  # logged at all: torc.toml's log_level beat "error"
        assert "threads=3 (database pool 5)" in line
        assert "completion_check_interval_secs=12 " in line
        assert (tmp_path / "files" / "project.db").exists()
        assert not (tmp_path / "files" / "user.db").exists()
        assert server.stop() == 0

    write_layers(tmp_path / "env", port)
    env = clean_env(
        tmp_path / "env",
        TORC_SERVER__THREADS="4",
        TORC_SERVER__PORT="0",
        TORC_SERVER__COMPLETION_CHECK_INTERVAL_SECS="13",
    )
    with launch(tmp_path / "env", env=env) as server:
        assert "threads=4 (database pool 6)" in settings_line(server)
        assert "completion_check_interval_secs=13 " in settings_line(server)
        assert server.stop() == 0

    # Torc's dedicated variable outranks the generic one; a flag outranks both.
    env["TORC_COMPLETION_CHECK_INTERVAL_SECS"] = "14"
    with launch(tmp_path / "env", env=env) as server:
        assert "completion_check_interval_secs=14 " in settings_line(server)
        assert server.stop() == 0
    with launch(tmp_path / "env", "--threads", "8", "-c", "15", "--port", "0", env=env) as server:
        line = settings_line(server)
        assert "threads=8 (database pool 10)" in line
        assert "completion_check_interval_secs=15 " in line
        assert server.stop() == 0


def test_warm_up_is_on_unless_a_flag_or_the_environment_turns_it_off(tmp_path: Path) -> None:
    write_layers(tmp_path, free_port())
    env = clean_env(tmp_path, TORC_SERVER__PORT="0")
    for extra, expected in (({}, "True"), ({"TORC_SERVER__WARM_UP": "false"}, "False")):
        with launch(tmp_path, env={**env, **extra}) as server:
            assert f"warm_up={expected}" in settings_line(server)
            assert server.stop() == 0
    with launch(tmp_path, "--no-warm-up", env=env) as server:
        assert "warm_up=False" in settings_line(server)
        assert httpx.get(f"{server.url}/workflows").status_code == 200  # still serves
        assert server.stop() == 0


def test_log_level_from_the_environment_silences_info(tmp_path: Path) -> None:
    write_layers(tmp_path, free_port())
    env = clean_env(tmp_path, TORC_SERVER__LOG_LEVEL="error", TORC_SERVER__PORT="0")
    with launch(tmp_path, env=env) as server:
        # Startup logging happens before the server answers, so absence now is final.
        assert "settings:" not in server.stderr_path.read_text()
        assert server.stop() == 0


def test_database_url_is_used_when_no_flag_or_file_names_a_database(tmp_path: Path) -> None:
    target = tmp_path / "from-env.db"
    env = clean_env(tmp_path, DATABASE_URL=f"sqlite:{target}")
    with launch(tmp_path, "--host", "127.0.0.1", "--port", "0", env=env) as server:
        create_workflow(server, "via-database-url")
        assert server.stop() == 0
    assert workflow_names(target) == ["via-database-url"]


def test_bad_value_in_torc_toml_stops_startup_naming_the_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "torc.toml").write_text('[server]\nthreads = "lots"\n')
    done = run_to_exit(tmp_path, "--port", "0", "--database", ":memory:")
    assert done.returncode != 0
    assert done.stdout == ""
    assert "server.threads" in done.stderr
    assert str(tmp_path / "torc.toml") in done.stderr


def test_unparseable_torc_toml_stops_startup_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "torc.toml").write_text("[server\nport = 1\n")
    done = run_to_exit(tmp_path, "--port", "0", "--database", ":memory:")
    assert done.returncode != 0
    assert str(tmp_path / "torc.toml") in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_flag_value_is_refused_naming_the_flag(tmp_path: Path) -> None:
    done = run_to_exit(tmp_path, "--port", "0", "--threads", "0", "--database", ":memory:")
    assert done.returncode != 0
    assert "--threads" in done.stderr


# --- logs ----------------------------------------------------------------------------------


def test_log_dir_flag_writes_a_log_file(tmp_path: Path) -> None:
    logs = tmp_path / "logs" / "nested"
    with start_server(tmp_path, "--log-dir", str(logs), database=":memory:") as server:
        create_workflow(server, "logged")
        assert server.stop() == 0
    text = (logs / "torc-server.log").read_text()
    assert "serving :memory:" in text
    assert "database closed" in text


def test_torc_log_dir_environment_variable_writes_a_log_file(tmp_path: Path) -> None:
    logs = tmp_path / "env-logs"
    with start_server(tmp_path, database=":memory:", env={"TORC_LOG_DIR": str(logs)}) as server:
        assert server.stop() == 0
    assert "serving :memory:" in (logs / "torc-server.log").read_text()


def test_json_logs_write_one_json_object_per_file_line_and_keep_the_console_readable(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    # The start-up line logs the database path: quotes, a backslash and a newline in it.
    db = tmp_path / 'say "hi"\\ to\nlogs.db'
    with start_server(tmp_path, "--log-dir", str(logs), "--json-logs", database=str(db)) as server:
        create_workflow(server, "json-logged")
        assert server.stop() == 0
    lines = (logs / "torc-server.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line, not only the first
    assert {"timestamp", "level", "target", "message"} <= set(records[0])
    assert any(
        r["message"].endswith(f"serving {db} on http://127.0.0.1:{server.port}") for r in records
    )
    assert any(r["message"] == "database closed" for r in records)
    console = server.stderr_path.read_text()
    assert "database closed" in console
    assert not console.lstrip().startswith("{")


def test_json_logs_without_a_log_dir_say_they_do_nothing(tmp_path: Path) -> None:
    with start_server(tmp_path, "--json-logs", database=":memory:") as server:
        assert server.stop() == 0
    assert "without --log-dir it does nothing" in server.stderr_path.read_text()


# --- security settings that cannot work ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "config", "expected"),
    [
        (["--require-auth"], "", "--require-auth needs --auth-file"),
        ([], "[server]\nauth_file = 'users.htpasswd'\n", "cannot read auth file users.htpasswd"),
        (["--auth-file", "bad"], "", "bad:1: not a `user:bcrypt-hash` line"),
        (["--https"], "", "TLS needs both --tls-cert and --tls-key"),
        (["--tls-cert", "bad", "--tls-key", "bad"], "", "cannot use TLS certificate bad"),
        (
            [],
            "[server]\nenforce_access_control = true\n",
            "enforce_access_control (from ",
        ),
    ],
    ids=[
        "require-auth-alone",
        "missing-auth-file",
        "malformed-auth-file",
        "https-alone",
        "bad-certificate",
        "access-control-without-auth",
    ],
)
def test_security_settings_that_cannot_work_stop_start_up(
    tmp_path: Path, args: list[str], config: str, expected: str
) -> None:
    if config:
        (tmp_path / "torc.toml").write_text(config)
    (tmp_path / "bad").write_text("alice:plaintext\n")
    done = run_to_exit(tmp_path, "--port", "0", "--database", ":memory:", *args)
    assert done.returncode == 2 and done.stdout == ""
    assert expected in done.stderr and "Traceback" not in done.stderr


def test_slurm_job_runner_outside_an_allocation_says_so() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    done = subprocess.run(
        [str(BIN / "torc-slurm-job-runner"), "http://localhost:8080/torc-service/v1", "1", "out"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "SLURM_JOB_ID is not set" in done.stderr and "torc run" in done.stderr
    assert "Traceback" not in done.stderr


# --- shutdown and durability ---------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_cleanly_leaving_a_consistent_file(tmp_path: Path, sig: int) -> None:
    db = tmp_path / "torc.db"
    with start_server(tmp_path, database=str(db)) as server:
        for i in range(20):
            create_workflow(server, f"wf-{i}")
        assert server.stop(sig) == 0
    assert "Traceback" not in server.stderr_path.read_text()
    # A clean close folds the WAL back into the main file and removes it.
    assert not Path(f"{db}-wal").exists()
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert workflow_names(db) == [f"wf-{i}" for i in range(20)]


def test_shutdown_on_stdin_eof_stops_cleanly_when_the_owner_closes_the_pipe(
    tmp_path: Path,
) -> None:
    """What `torc -s` relies on: the server ends when its owner closes the pipe or dies."""
    db = tmp_path / "torc.db"
    with start_server(tmp_path, "--shutdown-on-stdin-eof", database=str(db), stdin=True) as server:
        proc = server.proc
        assert proc.stdin is not None
        proc.stdin.write("anything written is ignored\n")
        proc.stdin.flush()
        create_workflow(server, "before-eof")
        assert proc.poll() is None
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    log = server.stderr_path.read_text()
    assert "standard input closed: shutting down" in log and "database closed" in log
    assert "Traceback" not in log and not Path(f"{db}-wal").exists()
    assert workflow_names(db) == ["before-eof"]


def test_migrations_are_recorded_and_a_restart_keeps_the_data(tmp_path: Path) -> None:
    db = tmp_path / "torc.db"
    with start_server(tmp_path, database=str(db)) as server:
        first = create_workflow(server, "before-restart")
        assert server.stop() == 0
    with closing(sqlite3.connect(db)) as conn:
        applied = [r[0] for r in conn.execute("SELECT name FROM schema_migration ORDER BY name")]
    assert applied and applied[0].startswith("0001_")
    assert all(name.endswith(".sql") for name in applied)

    with start_server(tmp_path, database=str(db)) as server:
        assert httpx.get(f"{server.url}/workflows/{first}").json()["name"] == "before-restart"
        second = create_workflow(server, "after-restart")
        assert second > first
        assert server.stop() == 0
    with closing(sqlite3.connect(db)) as conn:
        again = [r[0] for r in conn.execute("SELECT name FROM schema_migration ORDER BY name")]
    assert again == applied  # nothing applied twice
    assert workflow_names(db) == ["before-restart", "after-restart"]


def test_a_request_in_flight_at_sigterm_is_finished(tmp_path: Path) -> None:
    db = tmp_path / "torc.db"
    with start_server(tmp_path, database=str(db)) as server:
        body = json.dumps({"name": "in-flight", "user": "tester"}).encode()
        head = (
            f"POST /torc-service/v1/workflows HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as conn:
            conn.sendall(head + body[:10])
            # The server handles ready sockets in order: once it has answered a later request on
            # another connection, it has read our headers, so the request is in flight.
            assert httpx.get(f"{server.url}/ping").status_code == 200
            server.proc.send_signal(signal.SIGTERM)
            conn.sendall(body[10:])
            reply = b""
            while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
        assert server.proc.wait(timeout=40) == 0
    assert workflow_names(db) == ["in-flight"]


def test_the_collector_is_off_during_start_up_and_on_once_the_app_is_ready(tmp_path: Path) -> None:
    """main() turns garbage collection off for start-up; the lifespan must turn it back on, or
    a long-running server would never free reference cycles."""
    script = f"""
import asyncio, gc
from pytorc.config import ServerSettings
from pytorc.server.app import create_app
from pytorc.server.db.connection import Database

gc.disable()  # as torc-server's main() leaves it
app = create_app(ServerSettings(warm_up=False), Database({str(tmp_path / "gc.db")!r}))

async def serve() -> None:
    async with app.router.lifespan_context(app):
        print("enabled" if gc.isenabled() else "disabled", gc.get_freeze_count() > 1000)

asyncio.run(serve())
"""
    out = subprocess.run([str(BIN / "python"), "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["enabled", "True"]
