"""Files, user data, resource requirements, events and RO-Crate entities."""

from __future__ import annotations

from typing import Any

from pydantic import StrictBool

from pytorc.models.common import I64, Name, NonNeg, Number, Str, WireModel


class FileModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    name: Name
    path: Str
    st_mtime: Number | None = None


class FilesModel(WireModel):
    files: list[FileModel]


class CreateFilesResponse(WireModel):
    files: list[FileModel] | None = None


class UserDataModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    name: Name
    is_ephemeral: StrictBool | None = None
    data: Any = None


class UserDataListModel(WireModel):
    user_data: list[UserDataModel]


class CreateUserDataListResponse(WireModel):
    user_data: list[UserDataModel] | None = None


class ResourceRequirementsModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    name: Name
    num_cpus: NonNeg | None = 1
    num_gpus: NonNeg | None = 0
    num_nodes: NonNeg | None = 1
    memory: Name | None = "1m"
    runtime: Name | None = "PT1M"


# --- results, events, compute nodes, schedulers --------------------------------------------


class EventModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    timestamp: I64
    data: Any


class RoCrateEntityModel(WireModel):
    id: I64 | None = None
    workflow_id: I64
    file_id: I64 | None = None
    entity_id: Name
    entity_type: Name
    metadata: dict[str, Any]


class DeleteRoCrateEntitiesResponse(WireModel):
    deleted_count: int
    message: str


# --- pytorc extensions (same base path; documented in the OpenAPI schema) -------------------
