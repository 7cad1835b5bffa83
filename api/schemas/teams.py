"""Teams: the queues conversations wait in for an agent."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from niochat.accounts import SLUG


class TeamOut(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    member_ids: list[uuid.UUID]
    auto_assign: bool = Field(description="Conversations entering its queue go to its least-loaded online member")
    created_at: datetime


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    slug: str = Field(description="2-63 lowercase letters, digits or '-'; the brain hands over by this slug")
    name: str = Field(min_length=1, max_length=200)

    @field_validator("slug")
    @classmethod
    def valid_slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("slug must be 2-63 lowercase letters, digits or '-', starting with a letter or digit")
        return value


class TeamPatch(BaseModel):
    """The name and auto-assignment: the slug is what the brain hands over by, so it stays."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(None, min_length=1, max_length=200)
    auto_assign: bool | None = Field(None, description="Conversations entering its queue go to its least-loaded "
                                                       "online member (api.engine.assignment)")
