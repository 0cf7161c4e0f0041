"""Events: what a run records, the live stream, and `torc events ...` against a real server."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

import httpx

from cli_helpers import TORC, cli_env, torc
from helpers import ServerProcess, start_server, wait_until


def _create(url: str, tmp_path: Path, spec: dict[str, Any]) -> int:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    out = torc(url, "-f", "json", "workflows", "create", str(path), cwd=tmp_path).stdout
    return int(json.loads(out)["id"])


def _categories(url: str, workflow_id: int) -> list[str]:
    items = httpx.get(f"{url}/events", params={"workflow_id": workflow_id}).json()["items"]
    return [e["data"]["category"] for e in items]


def _lines_into(stream: IO[str], sink: queue.Queue[tuple[float, str]]) -> None:
    for line in stream:
        sink.put((time.time(), line))


def test_monitor_shows_a_failure_within_a_second(server: ServerProcess, tmp_path: Path) -> None:
    go, failed_at = tmp_path / "go", tmp_path / "failed_at"
    wf = _create(
        server.url,
        tmp_path,
        {
            "name": "watched",
            "jobs": [
                {
                    "name": "doomed",
                    "command": f"while [ ! -e {go} ]; do sleep 0.05; done;"
                    f" date +%s.%N > {failed_at}; exit 3",
                }
            ],
        },
    )
    monitor = subprocess.Popen(
        [TORC, "--url", server.url, "events", "monitor", str(wf), "--level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=cli_env(tmp_path),
    )
    runner = subprocess.Popen(
        [TORC, "--url", server.url, "-f", "json", "run", str(wf), "-p", "0.2", "-o", "out"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
        env=cli_env(tmp_path),
    )
    try:
        assert monitor.stderr is not None and monitor.stdout is not None
        assert "watching workflow" in monitor.stderr.readline()  # connected to the stream
        lines: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=_lines_into, args=(monitor.stdout, lines), daemon=True).start()
        go.touch()
        seen_at, line = lines.get(timeout=30)
        assert "job_failed" in line and "doomed" in line and "return code 3" in line, line
        delay = seen_at - float(failed_at.read_text())
        assert delay < 1.0, f"the failure took {delay:.2f} s to show"
        assert runner.wait(timeout=60) != 0
    finally:
        for proc in (monitor, runner):
            proc.kill()
            proc.wait()
        for pipe in (monitor.stdout, monitor.stderr):
            if pipe is not None:
                pipe.close()
    print(f"failure shown by `torc events monitor` {delay * 1000:.0f} ms after the job exited")


def test_a_run_records_runners_failures_and_completion(
    server: ServerProcess, tmp_path: Path
) -> None:
    wf = _create(
        server.url,
        tmp_path,
        {
            "name": "recorded",
            "jobs": [
                {"name": "fine", "command": "true"},
                {"name": "broken", "command": "exit 2"},
            ],
        },
    )
    torc(server.url, "-f", "json", "run", str(wf), "-o", "out", cwd=tmp_path, expect=None)
    categories = _categories(server.url, wf)
    for expected in (
        "workflow_started",
        "compute_node_started",
        "job_failed",
        "workflow_completed",
        "compute_node_stopped",
    ):
        assert expected in categories, categories
    assert categories.count("job_failed") == 1
    items = httpx.get(f"{server.url}/events", params={"workflow_id": wf}).json()["items"]
    [failed] = [e["data"] for e in items if e["data"]["category"] == "job_failed"]
    assert failed["job_name"] == "broken" and failed["return_code"] == 2
    assert failed["severity"] == "error"
    table = torc(server.url, "events", "list", str(wf), cwd=tmp_path).stdout
    assert "job broken" in table and "return code 2" in table


def test_stream_replays_after_an_id_and_refuses_what_it_cannot_serve(
    server: ServerProcess, tmp_path: Path
) -> None:
    wf = _create(server.url, tmp_path, {"name": "s", "jobs": [{"name": "a", "command": "true"}]})
    for n in range(3):
        httpx.post(
            f"{server.url}/events",
            json={"workflow_id": wf, "timestamp": n, "data": {"category": "note", "n": n}},
        ).raise_for_status()
    ids = [
        e["id"]
        for e in httpx.get(f"{server.url}/events", params={"workflow_id": wf}).json()["items"]
    ]
    frames: list[dict[str, Any]] = []
    with httpx.stream(
        "GET",
        f"{server.url}/workflows/{wf}/events/stream",
        params={"since_id": ids[0]},
        timeout=10,
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        for line in answer.iter_lines():
            if line.startswith("data:"):
                frames.append(json.loads(line[5:]))
            if len(frames) == len(ids) - 1:
                break
    assert [f["id"] for f in frames] == ids[1:]
    assert all(f["event_type"] for f in frames)
    missing = httpx.get(f"{server.url}/workflows/999999/events/stream", timeout=10)
    assert missing.status_code == 404
    bad = httpx.get(f"{server.url}/workflows/{wf}/events/stream?level=loud", timeout=10)
    assert bad.status_code == 422 and "level" in bad.text


def test_events_create_latest_and_delete_commands(server: ServerProcess, tmp_path: Path) -> None:
    wf = _create(server.url, tmp_path, {"name": "c", "jobs": [{"name": "a", "command": "true"}]})
    note = {"category": "note", "message": "inputs refreshed"}
    made = json.loads(
        torc(
            server.url,
            "-f",
            "json",
            "events",
            "create",
            str(wf),
            "-d",
            json.dumps(note),
            cwd=tmp_path,
        ).stdout
    )
    assert made["data"] == note
    latest = json.loads(
        torc(server.url, "-f", "json", "events", "get-latest-event", str(wf), cwd=tmp_path).stdout
    )
    assert latest["id"] == made["id"]
    torc(server.url, "events", "delete", str(made["id"]), cwd=tmp_path)
    assert httpx.get(f"{server.url}/events/{made['id']}").status_code == 404
    bad = torc(server.url, "events", "create", str(wf), "-d", "{nope", cwd=tmp_path, expect=2)
    assert "not JSON" in bad.stderr


def test_stream_ends_when_the_server_stops(tmp_path: Path) -> None:
    """An open event stream must not hold up a server's graceful shutdown."""
    srv = start_server(tmp_path / "srv")
    wf = httpx.post(f"{srv.url}/workflows", json={"name": "w", "user": "u"}).json()["id"]
    with httpx.stream("GET", f"{srv.url}/workflows/{wf}/events/stream", timeout=30) as answer:
        assert answer.status_code == 200
        asked = time.monotonic()
        assert srv.stop() == 0
        assert time.monotonic() - asked < 5
    wait_until(lambda: not srv.alive(), what="the server to exit")
