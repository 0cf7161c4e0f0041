"""`torc access-groups ...` against a real server: each command does what the API stores."""

from __future__ import annotations

import uuid
from pathlib import Path

from cli_helpers import torc, torc_json
from helpers import ServerProcess


def test_access_groups_round_trip_through_the_cli(server: ServerProcess, tmp_path: Path) -> None:
    def cli(*args: str) -> object:
        return torc_json(server.url, "access-groups", *args, cwd=tmp_path)

    name = f"team-{uuid.uuid4().hex[:6]}"
    group = cli("create", name, "-d", "the team")
    assert isinstance(group, dict) and group["name"] == name
    gid = str(group["id"])
    assert cli("get", gid)["description"] == "the team"  # type: ignore[index]
    assert name in [g["name"] for g in cli("list")]  # type: ignore[union-attr]
    cli("add-user", gid, "alice", "--role", "admin")
    cli("add-user", gid, "bob")
    members = cli("list-members", gid)
    assert sorted((m["user_name"], m["role"]) for m in members) == [  # type: ignore[union-attr]
        ("alice", "admin"),
        ("bob", "member"),
    ]
    assert [g["id"] for g in cli("list-user-groups", "alice")] == [group["id"]]  # type: ignore[union-attr]
    workflow = torc_json(server.url, "workflows", "new", "-n", "shared", cwd=tmp_path)
    wid = str(workflow["id"])
    cli("add-workflow", wid, gid)
    assert [g["id"] for g in cli("list-workflow-groups", wid)] == [group["id"]]  # type: ignore[union-attr]
    cli("remove-workflow", wid, gid)
    assert cli("list-workflow-groups", wid) == []
    cli("remove-user", gid, "bob")
    assert [m["user_name"] for m in cli("list-members", gid)] == ["alice"]  # type: ignore[union-attr]
    gone = torc(server.url, "access-groups", "delete", gid, cwd=tmp_path)
    assert f"deleted access group {gid}" in gone.stdout
    missing = torc(server.url, "access-groups", "get", gid, cwd=tmp_path, expect=None)
    assert missing.returncode != 0
