"""Shared fixtures: one real torc-server per test module, the published client against it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from helpers import ServerProcess, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = start_server(tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Any:
    """torc-client 0.35.0's DefaultApi, unchanged, pointed at the test server."""
    from torc.api import make_api

    return make_api(server.url)


@pytest.fixture
def workflow(api: Any) -> Any:
    """A fresh empty workflow owned by user 'tester'."""
    from torc.openapi_client.models import WorkflowModel

    return api.create_workflow(WorkflowModel(name=f"wf-{uuid.uuid4().hex[:8]}", user="tester"))
