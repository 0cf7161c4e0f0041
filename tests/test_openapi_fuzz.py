"""Schemathesis against the served OpenAPI schema: no request, valid or not, earns a 5xx, and
every answer conforms: a documented status's body to its response schema, its content type to
the documented one, and every error (4xx) to Torc's error body.

One test per operation, so a failure names it, with a bounded number of generated requests each
(positive and negative), sent to a real torc-server process seeded with a workflow so that small
ids exist. The operations are listed at collection time from the app object; the requests are
generated from the schema the process serves.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from helpers import ServerProcess

MAX_EXAMPLES = 20  # per operation; ~130 operations take a minute or two


@schemathesis.check
def torc_error_body(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx answer carries Torc's error body, whatever status it is.

    The served schema documents 422 as FastAPI's HTTPValidationError, whose properties are all
    optional, so response_schema_conformance accepts any object there; and it documents no
    other 4xx (404, 409, 413), so their bodies go unchecked. This checks them all.
    """
    status = response.status_code
    if not 400 <= status < 500:
        return None
    body = json.loads(response.content)
    assert isinstance(body, dict), f"{status} body is not an object: {body!r}"
    assert body.get("errorNum") == status and body.get("code") == status, body
    message = body.get("errorMessage")
    assert isinstance(message, str) and message, body
    assert isinstance(body.get("error"), dict) and body["error"].get("message") == message, body
    return True


def operation_labels() -> list[str]:
    """'METHOD /path' of every operation the app declares."""
    from pytorc.config import ServerSettings
    from pytorc.server.app import create_app
    from pytorc.server.db.connection import Database

    db = Database(":memory:")
    try:
        paths = create_app(ServerSettings(), db).openapi()["paths"]
    finally:
        db.close()
    verbs = ("get", "put", "post", "delete", "patch")
    return [f"{m.upper()} {p}" for p, item in paths.items() for m in item if m in verbs]


def seed(url: str) -> None:
    """A workflow with jobs and a file, so paths such as /workflows/1 and /jobs/1 resolve."""
    with httpx.Client(base_url=url, timeout=30) as http:
        wf = http.post("/workflows", json={"name": "fuzz-seed", "user": "fuzzer"}).json()
        http.post("/files", json={"workflow_id": wf["id"], "name": "in", "path": "/tmp/in"})
        jobs = [{"workflow_id": wf["id"], "name": f"job{i}", "command": "true"} for i in range(3)]
        http.post("/bulk_jobs", json={"jobs": jobs})


@pytest.fixture(scope="module")
def served_schema(server: ServerProcess) -> Any:
    seed(server.url)
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json")


def test_served_schema_lists_every_operation(served_schema: Any) -> None:
    served = sorted(op.ok().label for op in served_schema.get_all_operations())
    assert served == sorted(operation_labels())


def test_every_schema_reference_resolves(server: ServerProcess) -> None:
    schema = httpx.get(f"{server.url}/openapi.json").json()
    names = set(schema["components"]["schemas"])
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schema)))
    assert refs and refs <= names, f"unresolved: {sorted(refs - names)}"
    body = schema["paths"]["/torc-service/v1/workflows/{id}/exchange_jobs"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("ExchangeJobsRequest")


@pytest.mark.parametrize("label", operation_labels())
def test_no_request_earns_a_server_error(served_schema: Any, label: str) -> None:
    operation = served_schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the served schema"
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def no_server_error(case: schemathesis.Case) -> None:
        case.call_and_validate(
            checks=[
                not_a_server_error,
                response_schema_conformance,
                content_type_conformance,
                torc_error_body,
            ],
            timeout=30,
        )

    no_server_error()
