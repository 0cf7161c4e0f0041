"""Small conventions a new user expects: -h, a server URL without the API's base path."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import torc, torc_json
from helpers import ServerProcess


@pytest.mark.parametrize("command", [[], ["workflows"], ["workflows", "list"], ["jobs", "logs"]])
def test_dash_h_is_help_everywhere(tmp_path: Path, command: list[str]) -> None:
    short = torc(None, *command, "-h", cwd=tmp_path)
    assert short.stdout.startswith("Usage: torc") and "--help" in short.stdout
    assert short.stdout == torc(None, *command, "--help", cwd=tmp_path).stdout


def test_a_server_url_without_the_base_path_reaches_the_api(
    server: ServerProcess, tmp_path: Path
) -> None:
    bare = server.url.removesuffix("/torc-service/v1")
    assert bare != server.url
    made = torc_json(bare + "/", "workflows", "new", "-n", "bare_url", cwd=tmp_path)
    listed = torc_json(server.url, "workflows", "list", cwd=tmp_path)
    assert made["id"] in [w["id"] for w in listed]
