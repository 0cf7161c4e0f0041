"""The base of every wire model and the scalar types they share.

Field names are the contract and are spelled as the published client spells them. Request models
reject wrong JSON types (a string where an int belongs) so bad input is a 422, never a coercion.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

I64 = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
"""An integer SQLite can store; larger values are a 422, not an overflow."""
NonNeg = Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]
Number = StrictFloat | I64
Str = Annotated[StrictStr, Field(max_length=1_000_000)]
Name = Annotated[StrictStr, Field(max_length=10_000)]


class WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --- system -------------------------------------------------------------------------------


class PingResponse(WireModel):
    status: str


class VersionResponse(WireModel):
    version: str
    api_version: str
    git_hash: str | None = None


class ErrorResponse(WireModel):
    error: Any
    errorNum: int | None = None
    errorMessage: str | None = None
    code: int | None = None


class MessageResponse(WireModel):
    message: str


class DeleteCountResponse(WireModel):
    count: int


T = TypeVar("T")


class Page(WireModel, Generic[T]):
    """One page of a list endpoint."""

    items: list[T]
    offset: int
    max_limit: int
    count: int
    total_count: int
    has_more: bool


# --- workflows ----------------------------------------------------------------------------
