"""Users of a tenant (agents, managers, admins)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from niochat.accounts import EMAIL
from niochat.passwords import MIN_LENGTH

Role = Literal["superadmin", "admin", "manager", "agent"]  # niochat.vocabulary.ROLES; a test keeps them equal


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    role: str
    is_active: bool
    team_ids: list[uuid.UUID]
    capacity: int = Field(description="Open conversations auto-assignment gives them at most")
    last_login_at: datetime | None
    created_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    email: str = Field(max_length=254)
    name: str = Field("", max_length=200, description="Defaults to the e-mail")
    password: str = Field(min_length=MIN_LENGTH, max_length=200)
    role: Role
    team_ids: list[uuid.UUID] = Field(default_factory=list)

    @field_validator("email")
    @classmethod
    def valid_email(cls, value: str) -> str:
        value = value.lower()
        if not EMAIL.match(value):
            raise ValueError("invalid e-mail: expected name@domain")
        return value


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(None, min_length=1, max_length=200)
    role: Role | None = None
    is_active: bool | None = Field(None, description="false disables the user: its tokens stop working at once")
    team_ids: list[uuid.UUID] | None = Field(None, description="Replaces the user's team memberships")
    password: str | None = Field(None, min_length=MIN_LENGTH, max_length=200, description="Sets a new password")
    capacity: int | None = Field(None, ge=0, le=100, description="Open conversations auto-assignment gives at most")
