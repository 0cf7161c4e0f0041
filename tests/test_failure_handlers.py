"""Failure handlers applied by a real runner: a matching failure is retried (attempt + 1) after
its recovery script while the rule allows, every failed attempt's result is kept, dependents
wait for the retry, and a failure no rule matches stays failed."""

from __future__ import annotations

from pathlib import Path

import httpx

from cli_helpers import torc, torc_json
from helpers import ServerProcess

SPEC = """
name: retried
failure_handlers:
  - name: flaky
    rules:
      - exit_codes: [3]
        max_retries: 2
        recovery_script: "echo $TORC_JOB_NAME $TORC_ATTEMPT_ID $TORC_RETURN_CODE >> recovered"
jobs:
  - name: third_time_lucky   # fails with 3 twice, then succeeds
    command: >-
      n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 3 ] || exit 3
    failure_handler: flaky
  - name: after
    command: "true"
    depends_on: [third_time_lucky]
  - name: wrong_code
    command: "exit 5"
    failure_handler: flaky
  - name: always_3
    command: "exit 3"
    failure_handler: flaky
"""


def test_failures_are_retried_as_the_handler_says(server: ServerProcess, tmp_path: Path) -> None:
    spec = tmp_path / "wf.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    out.mkdir()
    workflow_id = torc_json(server.url, "workflows", "create", str(spec), cwd=out)["id"]
    done = torc(server.url, "run", str(workflow_id), "-o", str(out), "-p", "0.2", cwd=out, expect=1)
    assert "warning" not in done.stderr
    jobs = {
        j["name"]: j
        for j in httpx.get(
            f"{server.url}/jobs", timeout=10, params={"workflow_id": workflow_id}
        ).json()["items"]
    }
    assert {n: (j["status"], j["attempt_id"]) for n, j in jobs.items()} == {
        "third_time_lucky": ("completed", 3),
        "after": ("completed", 1),
        "wrong_code": ("failed", 1),  # no rule for 5
        "always_3": ("failed", 3),  # two retries allowed, then it stays failed
    }
    results = httpx.get(
        f"{server.url}/results", timeout=10, params={"workflow_id": workflow_id, "all_runs": True}
    ).json()["items"]
    lucky = sorted(
        (r["attempt_id"], r["return_code"], r["status"])
        for r in results
        if r["job_id"] == jobs["third_time_lucky"]["id"]
    )
    assert lucky == [(1, 3, "failed"), (2, 3, "failed"), (3, 0, "completed")]
    recovered = (out / "recovered").read_text().splitlines()
    assert sorted(recovered) == [
        "always_3 1 3",
        "always_3 2 3",
        "third_time_lucky 1 3",
        "third_time_lucky 2 3",
    ]


def test_failure_handlers_list_and_get(server: ServerProcess, tmp_path: Path) -> None:
    spec = tmp_path / "wf.yaml"
    spec.write_text(SPEC)
    workflow_id = torc_json(server.url, "workflows", "create", str(spec), cwd=tmp_path)["id"]
    [handler] = torc_json(server.url, "failure-handlers", "list", str(workflow_id), cwd=tmp_path)
    assert handler["name"] == "flaky" and '"max_retries": 2' in handler["rules"]
    again = torc_json(server.url, "failure-handlers", "get", str(handler["id"]), cwd=tmp_path)
    assert again == handler


PENDING_SPEC = """
name: decide
use_pending_failed: true
failure_handlers:
  - name: only_3
    rules: [{exit_codes: [3], max_retries: 1}]
jobs:
  - name: unhandled          # no handler: waits for a decision
    command: "test -e fixed || exit 4"
  - name: after_unhandled
    command: "true"
    depends_on: [unhandled]
  - name: unmatched          # a handler without a rule for 5: waits too
    command: "exit 5"
    failure_handler: only_3
  - name: after_unmatched
    command: "true"
    depends_on: [unmatched]
  - name: exhausted          # its rule's retries used up: failed, no decision asked
    command: "exit 3"
    failure_handler: only_3
"""


def test_use_pending_failed_leaves_unhandled_failures_for_a_decision(
    server: ServerProcess, tmp_path: Path
) -> None:
    spec = tmp_path / "wf.yaml"
    spec.write_text(PENDING_SPEC)
    out = tmp_path / "out"
    out.mkdir()
    wf = torc_json(server.url, "workflows", "create", str(spec), cwd=out)["id"]
    run = torc(server.url, "run", str(wf), "-o", str(out), "-p", "0.2", cwd=out, expect=1)
    assert "wait for your decision" in run.stdout, run.stdout

    def statuses() -> dict[str, tuple[str, int]]:
        items = httpx.get(f"{server.url}/jobs", timeout=10, params={"workflow_id": wf}).json()[
            "items"
        ]
        return {j["name"]: (j["status"], j["attempt_id"]) for j in items}

    jobs = statuses()
    assert jobs == {
        "unhandled": ("pending_failed", 1),
        "after_unhandled": ("blocked", 1),
        "unmatched": ("pending_failed", 1),
        "after_unmatched": ("blocked", 1),
        "exhausted": ("failed", 2),
    }
    ids = {
        j["name"]: j["id"]
        for j in httpx.get(f"{server.url}/jobs", params={"workflow_id": wf}).json()["items"]
    }
    # A person decides: `unhandled` is retried once its cause is fixed, `unmatched` failed.
    (out / "fixed").touch()
    torc(server.url, "jobs", "retry", str(ids["unhandled"]), cwd=out)
    torc(server.url, "jobs", "fail", str(ids["unmatched"]), cwd=out)
    refused = torc(server.url, "jobs", "fail", str(ids["exhausted"]), cwd=out, expect=None)
    assert refused.returncode != 0 and "only pending_failed" in refused.stderr
    torc(server.url, "run", str(wf), "-o", str(out), "-p", "0.2", cwd=out, expect=1)
    jobs = statuses()
    assert jobs["unhandled"] == ("completed", 2)
    assert jobs["after_unhandled"][0] == "completed"
    assert jobs["unmatched"] == ("failed", 1)
    assert jobs["after_unmatched"][0] == "canceled"
    categories = [
        e["data"]["category"]
        for e in httpx.get(f"{server.url}/events", params={"workflow_id": wf}).json()["items"]
    ]
    assert categories.count("job_pending_failed") == 2
