"""Access groups and authentication."""

from __future__ import annotations

from pytorc.models.common import I64, Name, Str, WireModel


class AccessGroupModel(WireModel):
    id: I64 | None = None
    name: Name
    description: Str | None = None
    created_at: Name | None = None


class UserGroupMembershipModel(WireModel):
    id: I64 | None = None
    user_name: Name
    group_id: I64
    role: Name
    created_at: Name | None = None


class WorkflowAccessGroupModel(WireModel):
    workflow_id: int
    group_id: int
    created_at: str | None = None


class AccessCheckResponse(WireModel):
    has_access: bool
    user_name: str
    workflow_id: int
    reason: str | None = None


class ReloadAuthResponse(WireModel):
    message: str
    user_count: int


class ListAccessGroupsResponse(WireModel):
    items: list[AccessGroupModel]
    offset: int
    limit: int
    total_count: int
    has_more: bool


class ListUserGroupMembershipsResponse(WireModel):
    items: list[UserGroupMembershipModel]
    offset: int
    limit: int
    total_count: int
    has_more: bool


# --- RO-Crate -----------------------------------------------------------------------------
