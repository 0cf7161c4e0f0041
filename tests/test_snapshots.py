"""Snapshots of a real torc-server: SIGUSR1, the interval with rotation, the final one at
shutdown, and a new server resuming from one."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from helpers import ServerProcess, start_server, wait_until


def _done_line(server: ServerProcess) -> str:
    """The next TORC_SNAPSHOT_DONE=<path> the server prints."""
    assert server.proc.stdout is not None
    line = server.proc.stdout.readline().strip()
    assert line.startswith("TORC_SNAPSHOT_DONE="), line
    return line.removeprefix("TORC_SNAPSHOT_DONE=")


def _names(url: str) -> list[str]:
    return [w["name"] for w in httpx.get(f"{url}/workflows").json()["items"]]


def test_sigusr1_snapshots_an_in_memory_server_and_a_new_server_resumes_from_it(
    tmp_path: Path,
) -> None:
    snap = tmp_path / "snap.db"
    with start_server(tmp_path / "a", "--snapshot-path", str(snap), database=":memory:") as server:
        httpx.post(f"{server.url}/workflows", json={"name": "kept", "user": "u"})
        server.proc.send_signal(signal.SIGUSR1)
        assert _done_line(server) == str(snap)
        assert server.alive()  # SIGUSR1 snapshots; it does not stop the server
        httpx.post(f"{server.url}/workflows", json={"name": "later", "user": "u"})
        assert _names(server.url) == ["kept", "later"]
    with start_server(tmp_path / "b", database=str(snap)) as resumed:
        # The final snapshot at shutdown holds what came after the signalled one.
        assert _names(resumed.url) == ["kept", "later"]
    assert (tmp_path / "snap.db.1").is_file()  # the SIGUSR1 one, rotated


def test_interval_snapshots_of_a_file_database_rotate_and_keep_n(tmp_path: Path) -> None:
    snap = tmp_path / "snaps" / "s.db"
    with start_server(
        tmp_path / "srv",
        "--snapshot-path",
        str(snap),
        "--snapshot-keep",
        "2",
        "--snapshot-interval-seconds",
        "0.2",
    ) as server:
        httpx.post(f"{server.url}/workflows", json={"name": "w", "user": "u"})
        for _ in range(5):
            assert _done_line(server) == str(snap)
        assert _names(server.url) == ["w"]  # served between snapshots
    kept = sorted(p.name for p in snap.parent.iterdir())
    assert kept == ["s.db", "s.db.1", "s.db.2"], kept  # the newest and two older, no .tmp


def test_snapshot_settings_come_from_the_dedicated_environment_variables(
    tmp_path: Path,
) -> None:
    snap = tmp_path / "env.db"
    env = {"TORC_SERVER_SNAPSHOT_PATH": str(snap), "TORC_SERVER_SNAPSHOT_KEEP": "1"}
    with start_server(tmp_path / "srv", env=env, database=":memory:") as server:
        for _ in range(3):
            server.proc.send_signal(signal.SIGUSR1)
            assert _done_line(server) == str(snap)
    wait_until(lambda: not server.alive(), what="the server to exit")
    assert sorted(p.name for p in tmp_path.glob("env.db*")) == ["env.db", "env.db.1"]
    bad = start_server_error(tmp_path / "bad", "--snapshot-keep", "0")
    assert "snapshot_keep" in bad


def start_server_error(workdir: Path, *args: str) -> str:
    """The error a server refusing its settings prints (it must not start)."""
    import subprocess

    from helpers import SERVER, clean_env

    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [SERVER, "run", "--port", "0", "--database", ":memory:", *args],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=clean_env(workdir),
        timeout=30,
    )
    assert proc.returncode != 0 and not proc.stdout.startswith("TORC_SERVER_PORT=")
    return proc.stderr
