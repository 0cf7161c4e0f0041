"""The record groups (jobs, files, user-data, resource-requirements, results, events,
compute-nodes, job-dependencies): `-f json` prints exactly what the API returns, and list
commands page through everything."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import run_ready_jobs, torc, torc_json
from helpers import ServerProcess
from pytorc.client.api import TorcClient


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[TorcClient]:
    with TorcClient(server.url) as c:
        yield c


def api_list(client: TorcClient, path: str, **params: Any) -> list[dict[str, Any]]:
    return list(client.iter_pages(path, **params))


def test_list_commands_page_like_the_api(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    wf = client.create_workflow({"name": f"paging-{uuid.uuid4().hex[:6]}", "user": "tester"})
    wf_id = str(wf["id"])
    jobs = [
        {"workflow_id": wf["id"], "name": f"job{n:02d}", "command": f"echo {n}"} for n in range(11)
    ]
    client.create_jobs(jobs)
    everything = torc_json(server.url, "jobs", "list", wf_id, cwd=tmp_path)
    assert everything == api_list(client, "/jobs", workflow_id=wf["id"])
    assert len(everything) == 11

    pages = [
        torc_json(server.url, "jobs", "list", wf_id, "-l", "3", "--offset", str(o), cwd=tmp_path)
        for o in range(0, 12, 3)
    ]
    assert [len(p) for p in pages] == [3, 3, 3, 2]
    assert [j for page in pages for j in page] == everything

    by_name = torc_json(
        server.url,
        "jobs",
        "list",
        wf_id,
        "--sort-by",
        "name",
        "--reverse-sort",
        "--limit",
        "4",
        cwd=tmp_path,
    )
    assert [j["name"] for j in by_name] == ["job10", "job09", "job08", "job07"]
    bad_sort = torc(server.url, "jobs", "list", wf_id, "--sort-by", "nope", cwd=tmp_path, expect=1)
    assert "nope" in bad_sort.stderr and bad_sort.stderr.count("\n") == 1

    # The client's own paging, with a small page size, joins pages the same way.
    with TorcClient(server.url, page_size=4) as small_pages:
        assert list(small_pages.iter_jobs(wf["id"])) == everything
        assert list(small_pages.iter_jobs(wf["id"], offset=2, limit=7)) == everything[2:9]


def test_record_commands_print_the_api_json(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    wf = client.create_workflow({"name": f"records-{uuid.uuid4().hex[:6]}", "user": "tester"})
    wf_id = str(wf["id"])

    def cli(*args: str) -> Any:
        return torc_json(server.url, *args, cwd=tmp_path)

    rr = cli("resource-requirements", "create", wf_id, "-n", "small", "--num-cpus", "2", "-m", "2g")
    assert rr == client.get_resource_requirements(rr["id"])
    assert (rr["num_cpus"], rr["memory"], rr["runtime"]) == (2, "2g", "P0DT1M")
    rr = cli("resource-requirements", "update", str(rr["id"]), "-r", "PT2H")
    assert rr["runtime"] == "PT2H"
    assert cli("resource-requirements", "get", str(rr["id"])) == rr
    listed = cli("resource-requirements", "list", wf_id)
    assert listed == api_list(client, "/resource_requirements", workflow_id=wf["id"])
    assert {r["name"] for r in listed} == {"default", "small"}

    src = cli("files", "create", wf_id, "-n", "src", "-p", "src.txt")
    dst = cli("files", "create", wf_id, "-n", "dst", "-p", "dst.txt")
    assert cli("files", "get", str(src["id"])) == client.get_file(src["id"])
    dst = cli("files", "update", str(dst["id"]), "-p", "out/dst.txt")
    assert dst["path"] == "out/dst.txt"

    first = cli(
        "jobs",
        "create",
        wf_id,
        "-n",
        "first",
        "-c",
        "echo hi > src.txt",
        "-o",
        str(src["id"]),
        "-r",
        str(rr["id"]),
    )
    second = cli(
        "jobs",
        "create",
        wf_id,
        "-n",
        "second",
        "-c",
        "mkdir -p out && cp src.txt out/dst.txt",
        "-i",
        str(src["id"]),
        "-o",
        str(dst["id"]),
        "-b",
        str(first["id"]),
    )
    assert cli("jobs", "get", str(second["id"])) == client.get_job(second["id"])
    assert second["depends_on_job_ids"] == [first["id"]]
    assert second["input_file_ids"] == [src["id"]]
    updated = cli(
        "jobs", "update", str(second["id"]), "-c", "mkdir -p out && cat src.txt > out/dst.txt"
    )
    assert updated == client.get_job(second["id"]) and updated["command"].startswith("mkdir")
    rel = cli("jobs", "list", wf_id, "--include-relationships")
    assert rel == api_list(client, "/jobs", workflow_id=wf["id"], include_relationships=True)
    downstream = cli("jobs", "list", wf_id, "--upstream-job-id", str(first["id"]))
    assert [j["name"] for j in downstream] == ["second"]

    ud = cli(
        "user-data",
        "create",
        wf_id,
        "-n",
        "cfg",
        "-d",
        '{"a": [1, 2]}',
        "--consumer-job-id",
        str(second["id"]),
    )
    assert ud["data"] == {"a": [1, 2]} and cli("user-data", "get", str(ud["id"])) == ud
    assert cli("user-data", "list", wf_id) == api_list(client, "/user_data", workflow_id=wf["id"])
    assert cli("user-data", "list", wf_id, "--consumer-job-id", str(second["id"])) == [ud]

    deps = cli("job-dependencies", "job-job", wf_id)
    assert deps == api_list(client, f"/workflows/{wf_id}/job_dependencies")
    assert [(d["job_name"], d["depends_on_job_name"]) for d in deps] == [("second", "first")]
    file_rel = cli("job-dependencies", "job-file", wf_id)
    assert file_rel == api_list(client, f"/workflows/{wf_id}/job_file_relationships")
    ud_rel = cli("job-dependencies", "job-user-data", wf_id)
    assert ud_rel == api_list(client, f"/workflows/{wf_id}/job_user_data_relationships")

    required = cli("files", "list-required-existing", wf_id)
    assert required == []  # src is produced by a job, nothing is complete yet
    torc(server.url, "workflows", "initialize", wf_id, cwd=tmp_path)
    assert run_ready_jobs(client, wf["id"], tmp_path) == ["first", "second"]
    assert (tmp_path / "out" / "dst.txt").read_text() == "hi\n"

    results = cli("results", "list", wf_id)
    assert results == api_list(client, "/results", workflow_id=wf["id"])
    assert [r["job_name"] for r in results] == ["first", "second"]
    assert cli("results", "get", str(results[0]["id"])) == results[0]
    assert cli("results", "list", wf_id, "-j", str(second["id"])) == results[1:]
    assert cli("results", "list", wf_id, "--failed") == []

    nodes = cli("compute-nodes", "list", wf_id)
    assert nodes == api_list(client, "/compute_nodes", workflow_id=wf["id"])
    assert cli("compute-nodes", "get", str(nodes[0]["id"])) == nodes[0]
    assert cli("files", "list", wf_id) == api_list(client, "/files", workflow_id=wf["id"])
    assert cli("files", "list", wf_id, "--produced-by-job-id", str(first["id"])) == [
        client.get_file(src["id"])
    ]

    events = cli("events", "list", wf_id)
    assert events == api_list(client, "/events", workflow_id=wf["id"])
    assert events, "initialize records an event"
    category = events[0]["data"]["category"]
    assert cli("events", "list", wf_id, "-t", category) == [
        e for e in events if e["data"].get("category") == category
    ]

    deleted = cli("jobs", "delete", str(second["id"]))
    assert [j["name"] for j in deleted] == ["second"]
    table = torc(server.url, "jobs", "list", wf_id, cwd=tmp_path).stdout
    assert "first" in table and "second" not in table


def test_jobs_create_from_file_names_jobs_after_existing_ones(
    server: ServerProcess, client: TorcClient, tmp_path: Path
) -> None:
    wf = client.create_workflow({"name": f"ff-{uuid.uuid4().hex[:6]}", "user": "tester"})
    client.create_jobs([{"workflow_id": wf["id"], "name": "job1", "command": "true"}])
    commands = tmp_path / "commands.txt"
    commands.write_text("# a comment\necho one\n\n  echo two  \n")
    made = torc_json(
        server.url,
        "jobs",
        "create-from-file",
        str(wf["id"]),
        str(commands),
        "--cpus-per-job",
        "2",
        "--memory-per-job",
        "3g",
        cwd=tmp_path,
    )
    assert [(j["name"], j["command"]) for j in made] == [("job2", "echo one"), ("job3", "echo two")]
    rr = client.get_resource_requirements(made[0]["resource_requirements_id"])
    assert (rr["num_cpus"], rr["memory"]) == (2, "3g")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    refused = torc(
        server.url, "jobs", "create-from-file", str(wf["id"]), str(empty), cwd=tmp_path, expect=1
    )
    assert "no commands" in refused.stderr
