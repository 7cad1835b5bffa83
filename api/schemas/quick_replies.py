"""Quick replies: a shortcut an agent types (`/segunda-via`) for a ready text, with variables and maybe a file."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.engine.quick_replies import MEDIA_TYPES, VARIABLES, media_kind, unknown_variables
from api.schemas.channels import http_url
from api.schemas.settings import refuse_nulls
from niochat.tables.workspace import SHORTCUT

SHORTCUT_RE = re.compile(SHORTCUT)
TEXT_HELP = ("What the customer receives; variables: " + ", ".join("{" + name + "} (" + meaning + ")"
                                                                  for name, meaning in VARIABLES.items()))
MEDIA_HELP = (f"An http(s) URL of a file the provider downloads and sends with the text as its caption; ending "
              f"in {', '.join(MEDIA_TYPES)}")


def _shortcut(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.removeprefix("/")
    if len(value) > 40 or not SHORTCUT_RE.match(value):
        raise ValueError("shortcut is up to 40 lower-case letters, digits and single hyphens (e.g. segunda-via)")
    return value


def _template(value: str | None) -> str | None:
    if value is not None and (unknown := unknown_variables(value)):
        raise ValueError(f"unknown variable(s) {', '.join('{' + name + '}' for name in unknown)} "
                         f"(known: {', '.join('{' + name + '}' for name in VARIABLES)})")
    return value


def _media(value: str | None) -> str | None:
    if value is None:
        return None
    value = http_url(value)
    if media_kind(value) is None:
        raise ValueError(f"media_url must name a file ending in {', '.join(MEDIA_TYPES)}")
    return value


class QuickReplyOut(BaseModel):
    id: uuid.UUID
    shortcut: str
    text: str
    media_url: str | None
    team_id: uuid.UUID | None = Field(description="null: for the whole tenant")
    created_at: datetime
    updated_at: datetime


class _Checked(BaseModel):
    """The same checks on a new quick reply and on a change to one."""

    @field_validator("shortcut", check_fields=False)
    @classmethod
    def valid_shortcut(cls, value: str | None) -> str | None:
        return _shortcut(value)

    @field_validator("text", check_fields=False)
    @classmethod
    def valid_text(cls, value: str | None) -> str | None:
        return _template(value)

    @field_validator("media_url", check_fields=False)
    @classmethod
    def valid_media(cls, value: str | None) -> str | None:
        return _media(value)


class QuickReplyCreate(_Checked):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    shortcut: str = Field(description="Typed as /shortcut; unique in the tenant", examples=["segunda-via"])
    text: str = Field(min_length=1, max_length=4096, description=TEXT_HELP)
    media_url: str | None = Field(None, max_length=2000, description=MEDIA_HELP)
    team_id: uuid.UUID | None = Field(None, description="Only this team's agents may use it; null: everyone")


class QuickReplyPatch(_Checked):
    """Only the keys given change; null removes the media or makes it the whole tenant's."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    shortcut: str | None = None
    text: str | None = Field(None, min_length=1, max_length=4096, description=TEXT_HELP)
    media_url: str | None = Field(None, max_length=2000, description=MEDIA_HELP)
    team_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def no_nulls(self) -> QuickReplyPatch:
        return refuse_nulls(self, nullable=("media_url", "team_id"))
