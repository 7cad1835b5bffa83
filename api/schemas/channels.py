"""WhatsApp channels (one provider instance each) and their webhook URLs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ChannelOut(BaseModel):
    id: uuid.UUID
    provider: str
    name: str
    base_url: str
    instance: str
    connection_status: str
    connection_changed_at: datetime | None
    is_active: bool
    webhook_url_hint: str = Field(description="The webhook URL with its key left out but for its last characters, "
                                  "to recognise it by: the URL itself is shown once, when the channel is created "
                                  "or its key rotated (POST /channels/{id}/rotate-key)")
    created_at: datetime


class ChannelCreated(ChannelOut):
    webhook_url: str = Field(description="Where the provider must post this channel's events. Shown this once: "
                             "only its hash is stored")
    webhook_registered: bool = Field(description="Whether the provider accepted our webhook URL")
    webhook_error: str | None = Field(description="Why registering failed; set the webhook_url by hand then")
    key_kind: Literal["instance", "global", "unknown"] = Field(
        description="instance: the instance's own token; global: the Evolution server's global key (the "
        "instance's token, which its webhooks carry, was fetched with it and stored); unknown: Evolution did not "
        "show the instance's token")
    notices: list[str] = Field(default_factory=list, description="What the provider said that is worth knowing "
                               "(the number is not connected, another webhook was replaced)")


def http_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("must be an http(s) URL")
    return value.rstrip("/")


class ChannelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    provider: Literal["uazapi", "evolution"]  # niochat.vocabulary.PROVIDERS (tests/unit/test_vocabulary.py)
    name: str = Field("", max_length=200, description="Defaults to the instance")
    base_url: str = Field(max_length=500, description="The provider's API, e.g. https://acme.uazapi.com")
    instance: str = Field(min_length=1, max_length=200)
    token: str = Field(min_length=1, max_length=2000, description="Uazapi: the instance's token. Evolution: the "
                       "server's global key or the instance's token. Checked with the provider; write-only")

    @field_validator("base_url")
    @classmethod
    def valid_base_url(cls, value: str) -> str:
        return http_url(value)


class ChannelKeyRotated(ChannelOut):
    webhook_url: str = Field(description="The new webhook URL, registered with the provider. Shown this once; the "
                             "old URL stopped working")
    notices: list[str] = Field(default_factory=list, description="What the provider said that is worth knowing")
