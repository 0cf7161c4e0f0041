"""Access control on a real server (--require-auth --enforce-access-control --admin-user):
a user cannot get, list, change, claim from or delete another's workflow or its records; an
admin can; an access group grants its members exactly the workflows shared with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest

from cli_helpers import cli_env, torc
from helpers import ServerProcess, start_server

USERS = ("alice", "bob", "carol", "dave")  # carol is the admin


def pw(user: str) -> str:
    return f"{user}-password"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("acl")
    users = workdir / "users"
    users.write_text(
        "".join(f"{u}:{bcrypt.hashpw(pw(u).encode(), bcrypt.gensalt(4)).decode()}\n" for u in USERS)
    )
    with start_server(
        workdir,
        "--auth-file",
        str(users),
        "--require-auth",
        "--enforce-access-control",
        "--admin-user",
        "carol",
        ping_auth=("alice", pw("alice")),
    ) as server:
        yield server


def client(server: ServerProcess, user: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, auth=(user, pw(user)), timeout=30)


@pytest.fixture(scope="module")
def alices(guarded: ServerProcess) -> dict[str, Any]:
    """Alice's workflow with one job and one file."""
    with client(guarded, "alice") as alice:
        wf = alice.post("/workflows", json={"name": "private", "user": "alice"}).json()
        job = alice.post("/jobs", json={"workflow_id": wf["id"], "name": "j", "command": "true"})
        file = alice.post("/files", json={"workflow_id": wf["id"], "name": "f", "path": "f.txt"})
        return {"workflow": wf, "job": job.json(), "file": file.json()}


def test_another_user_cannot_touch_the_workflow_or_its_records(
    guarded: ServerProcess, alices: dict[str, Any]
) -> None:
    wid, jid, fid = alices["workflow"]["id"], alices["job"]["id"], alices["file"]["id"]
    attempts = [
        ("GET", f"/workflows/{wid}", None),
        ("PUT", f"/workflows/{wid}", {**alices["workflow"], "description": "mine now"}),
        ("DELETE", f"/workflows/{wid}", None),
        ("GET", "/jobs", {"workflow_id": wid}),
        ("GET", f"/jobs/{jid}", None),
        ("DELETE", f"/files/{fid}", None),
        ("POST", "/jobs", {"workflow_id": wid, "name": "evil", "command": "id"}),
        ("POST", "/bulk_jobs", {"jobs": [{"workflow_id": wid, "name": "evil", "command": "id"}]}),
        ("POST", f"/workflows/{wid}/initialize_jobs", None),
        ("POST", f"/workflows/{wid}/claim_next_jobs", None),
        ("PUT", f"/workflows/{wid}/cancel", None),
    ]
    with client(guarded, "bob") as bob:
        for method, path, body in attempts:
            if method == "GET" and body:
                answer = bob.get(path, params=body)
            else:
                answer = bob.request(method, path, json=body)
            assert answer.status_code == 403, (method, path, answer.text)
        listed = bob.get("/workflows").json()
        assert listed["items"] == [] and listed["total_count"] == 0  # not even a count leaks
    with client(guarded, "alice") as alice:
        assert alice.get(f"/workflows/{wid}").json()["description"] is None
        assert [
            j["name"] for j in alice.get("/jobs", params={"workflow_id": wid}).json()["items"]
        ] == ["j"]


def test_an_admin_can_and_a_group_grants_exactly_what_is_shared(
    guarded: ServerProcess, alices: dict[str, Any]
) -> None:
    wid = alices["workflow"]["id"]
    with (
        client(guarded, "carol") as carol,
        client(guarded, "bob") as bob,
        client(guarded, "dave") as dave,
    ):
        assert carol.get(f"/workflows/{wid}").status_code == 200
        assert wid in [w["id"] for w in carol.get("/workflows").json()["items"]]
        assert bob.post("/access_groups", json={"name": "b-team"}).status_code == 403
        group = carol.post("/access_groups", json={"name": "team"}).json()
        carol.post(
            f"/access_groups/{group['id']}/members",
            json={"user_name": "bob", "group_id": group["id"], "role": "member"},
        )
        assert carol.post(f"/workflows/{wid}/access_groups/{group['id']}").status_code == 200
        assert bob.get(f"/workflows/{wid}").status_code == 200
        assert [w["id"] for w in bob.get("/workflows").json()["items"]] == [wid]
        assert dave.get(f"/workflows/{wid}").status_code == 403
        assert bob.get("/users/dave/groups").status_code == 403
        assert bob.get("/users/bob/groups").status_code == 200
        assert bob.post("/workflows", json={"name": "x", "user": "alice"}).status_code == 403


def test_a_run_works_for_its_owner_under_access_control(
    guarded: ServerProcess, tmp_path: Path
) -> None:
    spec = tmp_path / "wf.yaml"
    spec.write_text(
        "name: owned\njobs:\n  - {name: a, command: 'true'}\n"
        "  - {name: b, command: 'true', depends_on: [a]}\n"
    )
    env = cli_env(tmp_path, user="dave", TORC_PASSWORD=pw("dave"))
    done = torc(
        guarded.url,
        "run",
        str(spec),
        "-o",
        str(tmp_path / "out"),
        "-p",
        "0.2",
        cwd=tmp_path,
        env=env,
    )
    assert "2 completed" in done.stdout
