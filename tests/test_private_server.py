"""Private servers you can find again: a standalone run says where its database is and how to
look at it; `-s` without a database says so instead of making an empty one; a command that
cannot reach a server points at the database of earlier runs here."""

from __future__ import annotations

import socket
from pathlib import Path

from cli_helpers import torc


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_standalone_run_can_be_found_again(tmp_path: Path) -> None:
    missing = torc(None, "-s", "workflows", "status", "1", cwd=tmp_path, expect=1)
    assert "no standalone database here: torc_output/torc.db does not exist" in missing.stderr
    assert not (tmp_path / "torc_output").exists()  # nothing was made
    spec = tmp_path / "one.yaml"
    spec.write_text("name: findable\njobs:\n  - {name: a, command: echo a}\n")
    run = torc(None, "-s", "run", str(spec), "-p", "0.1", cwd=tmp_path)
    hint = run.stdout.strip().splitlines()[-1]
    assert hint.startswith("private server database: torc_output/torc.db; look at it again:")
    again = hint.split("look at it again: torc ")[1].split()
    status = torc(None, *again, cwd=tmp_path)
    assert "findable" in status.stdout
    url = f"http://127.0.0.1:{_closed_port()}/torc-service/v1"
    away = torc(url, "workflows", "list", cwd=tmp_path, expect=1)
    assert "the workflows of earlier runs here are in torc_output/torc.db" in away.stderr
