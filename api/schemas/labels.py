"""Labels: the tenant's tags (name, colour) agents put on conversations."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.schemas.settings import refuse_nulls

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _color(value: str | None) -> str | None:
    if value is None:
        return None
    if not COLOR.match(value):
        raise ValueError('color is "#rrggbb" (six hexadecimal digits)')
    return value.lower()


class LabelBrief(BaseModel):
    id: uuid.UUID
    name: str
    color: str


class LabelOut(LabelBrief):
    created_at: datetime
    updated_at: datetime


class LabelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=50, description="Unique in the tenant, whatever the case")
    color: str = Field("#64748b", description='"#rrggbb"', examples=["#e11d48"])

    @field_validator("color")
    @classmethod
    def valid_color(cls, value: str) -> str:
        return _color(value)


class LabelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(None, min_length=1, max_length=50)
    color: str | None = Field(None, description='"#rrggbb"')

    @field_validator("color")
    @classmethod
    def valid_color(cls, value: str | None) -> str | None:
        return _color(value)

    @model_validator(mode="after")
    def no_nulls(self) -> LabelPatch:
        return refuse_nulls(self)


class ConversationLabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label_id: uuid.UUID
