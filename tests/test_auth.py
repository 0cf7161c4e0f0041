"""HTTP Basic authentication against a bcrypt htpasswd file, on a real server: every operation
refuses missing or wrong credentials, a whole run works with them, no secret leaks into logs or
job environments, and a storm of wrong passwords does not slow good requests."""

from __future__ import annotations

import base64
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli_helpers import TORC, cli_env
from helpers import ServerProcess, start_server

BIN = Path(sys.executable).parent
PASSWORD = "s3cret-Pa55word-for-tests"


def htpasswd(*args: str, password: str | None = PASSWORD) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "torc-htpasswd"), *args],
        input=f"{password}\n" if password else "",
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def auth_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "htpasswd"
    assert htpasswd("add", "--file", str(path), "alice", "--cost", "12").returncode == 0
    return path


@pytest.fixture(scope="module")
def secured(auth_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("secured")
    with start_server(
        workdir,
        "--auth-file",
        str(auth_file),
        "--require-auth",
        "--log-level",
        "trace",
        ping_auth=("alice", PASSWORD),
    ) as server:
        yield server


def test_torc_htpasswd_adds_verifies_lists_and_removes_users(tmp_path: Path) -> None:
    path = tmp_path / "users"
    assert htpasswd("add", "--file", str(path), "bob", "--cost", "4").returncode == 0
    assert (path.stat().st_mode & 0o777) == 0o600
    line = path.read_text().strip()
    assert line.startswith("bob:$2b$04$") and PASSWORD not in path.read_text()
    assert htpasswd("verify", "--file", str(path), "bob").returncode == 0
    assert htpasswd("verify", "--file", str(path), "bob", password="wrong").returncode == 1
    assert htpasswd("list", "--file", str(path)).stdout.split() == ["bob"]
    assert htpasswd("hash", "carol", "--cost", "4").stdout.startswith("carol:$2b$04$")
    bad = htpasswd("add", "--file", str(path), "a:b", "--cost", "4")
    assert bad.returncode == 2 and "no colons" in bad.stderr
    assert htpasswd("remove", "--file", str(path), "bob").returncode == 0
    assert htpasswd("list", "--file", str(path)).stdout.split() == []


def _operations(url: str) -> list[tuple[str, str]]:
    schema = httpx.get(f"{url}/openapi.json", auth=("alice", PASSWORD), timeout=30).json()
    found = []
    for path, item in schema["paths"].items():
        concrete = path.replace("{", "").replace("}", "")
        concrete = "/".join("1" if part.endswith("id") else part for part in concrete.split("/"))
        for method in item:
            found.append((method.upper(), concrete.removeprefix("/torc-service/v1")))
    return found


def test_every_operation_refuses_missing_and_wrong_credentials(secured: ServerProcess) -> None:
    operations = _operations(secured.url)
    assert len(operations) > 100
    with httpx.Client(base_url=secured.url, timeout=30) as http:
        for method, path in operations:
            for auth in (None, ("alice", "wrong"), ("mallory", PASSWORD)):
                answer = http.request(method, path, auth=auth, json={})
                assert answer.status_code == 401, (method, path, auth, answer.text)
                assert answer.headers["www-authenticate"] == 'Basic realm="torc"'
        assert http.get("/ping", auth=("alice", PASSWORD)).status_code == 200


def test_a_whole_run_works_with_credentials_and_leaks_no_secret(
    secured: ServerProcess, tmp_path: Path
) -> None:
    spec = tmp_path / "wf.yaml"
    spec.write_text(
        "name: authed\njobs:\n  - {name: dump, command: 'env > env.txt'}\n"
        "  - {name: after, command: 'true', depends_on: [dump]}\n"
    )
    env = cli_env(tmp_path, user="alice", TORC_PASSWORD=PASSWORD)
    done = subprocess.run(
        [
            str(TORC),
            "--url",
            secured.url,
            "--log-level",
            "trace",
            "run",
            str(spec),
            "-o",
            str(tmp_path / "out"),
            "-p",
            "0.2",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    denied = subprocess.run(
        [str(TORC), "--url", secured.url, "workflows", "list"],
        cwd=tmp_path,
        env=cli_env(tmp_path, user="alice"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert denied.returncode != 0 and "authentication required" in denied.stderr, denied.stderr
    token = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    places = {
        "job environment": (tmp_path / "env.txt").read_text(),
        "torc output": done.stdout + done.stderr + denied.stderr,
        "server log": secured.stderr_path.read_text(),
    }
    for where, text in places.items():
        assert PASSWORD not in text and token not in text, where
    assert "TORC_PASSWORD" not in places["job environment"]
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    from_file = subprocess.run(
        [str(TORC), "--url", secured.url, "--password-file", str(secret), "workflows", "list"],
        cwd=tmp_path,
        env=cli_env(tmp_path, user="alice"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert from_file.returncode == 0, from_file.stderr


def test_optional_auth_serves_anonymous_requests_and_refuses_wrong_ones(
    auth_file: Path, tmp_path: Path
) -> None:
    with start_server(tmp_path, "--auth-file", str(auth_file)) as server:
        assert httpx.get(f"{server.url}/ping", timeout=10).status_code == 200
        assert httpx.get(f"{server.url}/ping", auth=("alice", "no"), timeout=10).status_code == 401
        assert (
            httpx.get(f"{server.url}/ping", auth=("alice", PASSWORD), timeout=10).status_code == 200
        )


def test_reload_auth_rereads_the_file(auth_file: Path, tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text(auth_file.read_text())
    with start_server(
        tmp_path, "--auth-file", str(users), "--require-auth", ping_auth=("alice", PASSWORD)
    ) as server:
        assert (
            httpx.get(f"{server.url}/ping", auth=("dave", "pw-dave"), timeout=10).status_code == 401
        )
        assert (
            htpasswd(
                "add", "--file", str(users), "dave", "--cost", "4", password="pw-dave"
            ).returncode
            == 0
        )
        answer = httpx.post(f"{server.url}/admin/reload-auth", auth=("alice", PASSWORD), timeout=30)
        assert answer.status_code == 200 and answer.json()["user_count"] == 2
        assert (
            httpx.get(f"{server.url}/ping", auth=("dave", "pw-dave"), timeout=10).status_code == 200
        )


def test_a_failed_login_storm_does_not_slow_good_requests(secured: ServerProcess) -> None:
    good = httpx.Client(base_url=secured.url, auth=("alice", PASSWORD), timeout=60)

    def latencies(n: int) -> list[float]:
        out = []
        for _ in range(n):
            started = time.perf_counter()
            assert good.get("/workflows", params={"limit": 1}).status_code == 200
            out.append(time.perf_counter() - started)
        return out

    latencies(20)  # warm: the credentials are cached now
    calm = statistics.median(latencies(200))
    stop = threading.Event()
    refused = []

    def storm(k: int) -> None:
        with httpx.Client(base_url=secured.url, timeout=60) as bad:
            for i in range(50):
                answer = bad.get("/workflows", auth=("alice", f"guess-{k}-{i}"))
                refused.append(answer.status_code)

    threads = [threading.Thread(target=storm, args=(k,)) for k in range(20)]
    for t in threads:
        t.start()
    during = statistics.median(latencies(200))
    for t in threads:
        t.join(timeout=300)
    stop.set()
    good.close()
    assert len(refused) == 1000 and set(refused) == {401}
    assert during < 2 * calm + 0.005, (calm, during)  # +5 ms: timer noise on tiny medians


def test_listening_beyond_loopback_without_required_auth_warns(tmp_path: Path) -> None:
    with start_server(tmp_path / "open", "--host", "0.0.0.0") as server:
        server.stop()
    assert "without --require-auth: anyone who can reach this port" in (
        server.stderr_path.read_text()
    )
    with start_server(tmp_path / "local") as server:
        server.stop()
    assert "--require-auth" not in server.stderr_path.read_text()
