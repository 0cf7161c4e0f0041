"""Access groups, memberships, workflow links and access checks via torc-client 0.35.0."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from torc.openapi_client.exceptions import ApiException
from torc.openapi_client.models import AccessGroupModel, UserGroupMembershipModel, WorkflowModel

from helpers import ServerProcess

MISSING = 10**12


def api_error(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(ApiException) as info:
        call()
    return info.value.status, str(info.value.body)


def group(api: Any, prefix: str = "g") -> Any:
    return api.create_access_group(
        AccessGroupModel(name=f"{prefix}-{uuid.uuid4().hex[:8]}", description="team")
    )


def member(api: Any, group_id: int, user: str, role: str = "member") -> Any:
    return api.add_user_to_group(
        group_id, UserGroupMembershipModel(user_name=user, group_id=group_id, role=role)
    )


def test_group_round_trip(api: Any) -> None:
    g = group(api)
    got = api.get_access_group(g.id)
    assert (got.name, got.description, got.created_at is not None) == (g.name, "team", True)
    status, body = api_error(lambda: api.create_access_group(AccessGroupModel(name=g.name)))
    assert status == 409 and g.name in body
    assert api.delete_access_group(g.id).id == g.id
    status, body = api_error(lambda: api.get_access_group(g.id))
    assert status == 404 and f"access group {g.id} does not exist" in body


def test_group_list_uses_the_access_envelope(api: Any, server: ServerProcess) -> None:
    made = [group(api, "page") for _ in range(3)]
    everything = api.list_access_groups()
    assert everything.limit == 100 and everything.total_count >= 3
    raw = httpx.get(f"{server.url}/access_groups", params={"offset": 1, "limit": 1}).json()
    assert set(raw) == {"items", "offset", "limit", "total_count", "has_more"}
    assert (raw["offset"], raw["limit"], len(raw["items"]), raw["has_more"]) == (1, 1, 1, True)
    ids = [g.id for g in api.list_access_groups(limit=10_000).items]
    assert all(g.id in ids for g in made)
    status, _ = api_error(lambda: api.list_access_groups(limit=10_001))
    assert status == 422


def test_members_add_list_remove(api: Any) -> None:
    g = group(api)
    alice = member(api, g.id, "alice", "admin")
    member(api, g.id, "bob")
    assert (alice.user_name, alice.group_id, alice.role) == ("alice", g.id, "admin")
    listed = api.list_group_members(g.id)
    assert [(m.user_name, m.role) for m in listed.items] == [("alice", "admin"), ("bob", "member")]
    assert (listed.total_count, listed.has_more) == (2, False)
    status, _ = api_error(lambda: member(api, g.id, "alice"))
    assert status == 409

    assert g.id in [x.id for x in api.list_user_groups("bob").items]
    removed = api.remove_user_from_group(g.id, "bob")
    assert removed.user_name == "bob"
    assert g.id not in [x.id for x in api.list_user_groups("bob").items]
    status, body = api_error(lambda: api.remove_user_from_group(g.id, "bob"))
    assert status == 404 and "bob" in body


def test_member_errors_store_nothing(api: Any) -> None:
    g = group(api)
    status, _ = api_error(lambda: member(api, g.id, "carol", "owner"))
    assert status == 422
    other = group(api)
    status, _ = api_error(
        lambda: api.add_user_to_group(
            g.id, UserGroupMembershipModel(user_name="carol", group_id=other.id, role="member")
        )
    )
    assert status == 422
    status, _ = api_error(lambda: member(api, MISSING, "carol"))
    assert status == 404
    assert api.list_group_members(g.id).total_count == 0
    status, _ = api_error(lambda: api.list_group_members(MISSING))
    assert status == 404


def test_workflow_links_and_access_checks(api: Any, workflow: Any) -> None:
    wf = workflow.id
    g = group(api)
    member(api, g.id, "dana")

    assert api.check_workflow_access(wf, "tester").has_access is True  # the owner
    denied = api.check_workflow_access(wf, "dana")
    assert (denied.has_access, denied.user_name, denied.workflow_id) == (False, "dana", wf)

    link = api.add_workflow_to_group(wf, g.id)
    assert (link.workflow_id, link.group_id) == (wf, g.id)
    status, _ = api_error(lambda: api.add_workflow_to_group(wf, g.id))
    assert status == 409
    assert [x.id for x in api.list_workflow_groups(wf).items] == [g.id]
    granted = api.check_workflow_access(wf, "dana")
    assert granted.has_access is True and g.name in granted.reason

    assert api.remove_workflow_from_group(wf, g.id).group_id == g.id
    assert api.check_workflow_access(wf, "dana").has_access is False
    status, _ = api_error(lambda: api.remove_workflow_from_group(wf, g.id))
    assert status == 404


def test_deleting_a_group_removes_its_links(api: Any, workflow: Any) -> None:
    g = group(api)
    member(api, g.id, "erin")
    api.add_workflow_to_group(workflow.id, g.id)
    api.delete_access_group(g.id)
    assert api.list_workflow_groups(workflow.id).total_count == 0
    assert api.check_workflow_access(workflow.id, "erin").has_access is False


def test_link_and_check_errors(api: Any) -> None:
    g = group(api)
    wf = api.create_workflow(WorkflowModel(name="w", user="tester")).id
    for call in (
        lambda: api.add_workflow_to_group(MISSING, g.id),
        lambda: api.add_workflow_to_group(wf, MISSING),
        lambda: api.list_workflow_groups(MISSING),
        lambda: api.check_workflow_access(MISSING, "tester"),
    ):
        status, _ = api_error(call)
        assert status == 404


def test_reload_auth_says_auth_is_not_configured(api: Any) -> None:
    answer = api.reload_auth()
    assert (answer.message, answer.user_count) == ("authentication is not configured", 0)
