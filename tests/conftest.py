"""Shared fixtures: one real torc-server per test module, the published client against it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from helpers import ServerProcess, published_api, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with start_server(tmp_path_factory.mktemp("server")) as srv:
        yield srv


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[Any]:
    """torc-client 0.35.0's DefaultApi, unchanged, pointed at the test server."""
    with published_api(server.url) as api:
        yield api


@pytest.fixture
def workflow(api: Any) -> Any:
    """A fresh empty workflow owned by user 'tester'."""
    from torc.openapi_client.models import WorkflowModel

    return api.create_workflow(WorkflowModel(name=f"wf-{uuid.uuid4().hex[:8]}", user="tester"))
