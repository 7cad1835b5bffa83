"""Tenant settings: persona, business hours, reopen window, timezone, the AI model and the SGP connection.

Secrets (the model's API key, the SGP token) are write-only: responses only say whether one is set.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.schemas.channels import http_url
from api.sgp.occurrences import KINDS

FIRST_RESPONSE_TARGET_MINUTES = 15
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
Span = list[str]


def refuse_nulls(model: BaseModel, nullable: tuple[str, ...] = ()) -> BaseModel:
    """In a PATCH a missing key means "unchanged"; an explicit null is only allowed where it removes a value."""
    for name in model.model_fields_set - set(nullable):
        if getattr(model, name) is None:
            raise ValueError(f"{name} cannot be null (leave it out to keep the current value)")
    return model


class Persona(BaseModel):
    company: str | None = Field(None, description="How the bot names the provider; defaults to the tenant name")
    agent_name: str | None = Field(None, description="The bot's name; defaults to Nia")
    emojis: bool = True


class PersonaPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    company: str | None = Field(None, max_length=100)
    agent_name: str | None = Field(None, max_length=60)
    emojis: bool | None = None

    @model_validator(mode="after")
    def no_nulls(self) -> PersonaPatch:
        return refuse_nulls(self, nullable=("company", "agent_name"))


def _spans(value: list[list[str]]) -> list[list[str]]:
    for span in value:
        if len(span) != 2 or not all(HHMM.match(part) for part in span):
            raise ValueError('each span is ["HH:MM", "HH:MM"] (00:00-23:59)')
        if span[0] >= span[1]:
            raise ValueError(f"span {span[0]}-{span[1]}: start must be before end")
    ordered = sorted(value)
    for previous, following in zip(ordered, ordered[1:], strict=False):
        if following[0] < previous[1]:
            raise ValueError(f"spans {previous[0]}-{previous[1]} and {following[0]}-{following[1]} overlap")
    return ordered


class BusinessHours(BaseModel):
    """The whole week; a day left out (or empty) has no human service."""

    model_config = ConfigDict(extra="forbid")
    mon: list[Span] = Field(default_factory=list)
    tue: list[Span] = Field(default_factory=list)
    wed: list[Span] = Field(default_factory=list)
    thu: list[Span] = Field(default_factory=list)
    fri: list[Span] = Field(default_factory=list)
    sat: list[Span] = Field(default_factory=list)
    sun: list[Span] = Field(default_factory=list)

    @field_validator("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    @classmethod
    def valid_spans(cls, value: list[list[str]]) -> list[list[str]]:
        return _spans(value)


class AiSettingsOut(BaseModel):
    base_url: str
    model: str
    api_key_set: bool
    timeout_seconds: float
    temperature: float
    is_active: bool
    transcription_model: str | None = Field(None, description="Transcribes voice notes; null: they are not read")


class AiSettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    base_url: str | None = Field(None, max_length=500, description="Any OpenAI-compatible endpoint")
    model: str | None = Field(None, min_length=1, max_length=200)
    api_key: str | None = Field(None, max_length=2000, description="Write-only; null removes the key")
    timeout_seconds: float | None = Field(None, gt=0, le=120)
    temperature: float | None = Field(None, ge=0, le=2)
    is_active: bool | None = None
    transcription_model: str | None = Field(
        None, min_length=1, max_length=200, description="Audio model at the same endpoint (e.g. whisper-1); null "
        "stops transcribing voice notes (customers are asked to write)")

    @field_validator("base_url")
    @classmethod
    def valid_base_url(cls, value: str | None) -> str | None:
        return None if value is None else http_url(value)

    @model_validator(mode="after")
    def no_nulls(self) -> AiSettingsPatch:
        return refuse_nulls(self, nullable=("api_key", "transcription_model"))


OCCURRENCE_TYPES_HELP = (
    "Ticket kind -> the SGP's occurrence type id (`ocorrenciatipo`), for kinds the names of the SGP's own list "
    f"(GET /api/os/ocorrencia/tipo/list/) do not settle; kinds: {', '.join(KINDS)}. null: names decide every kind")


class SgpSettingsOut(BaseModel):
    base_url: str
    app: str
    token_set: bool
    timeout_seconds: float
    is_active: bool
    occurrence_types: dict[str, int] | None = Field(None, description=OCCURRENCE_TYPES_HELP)


class SgpSettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    base_url: str | None = Field(None, max_length=500)
    app: str | None = Field(None, min_length=1, max_length=200)
    token: str | None = Field(None, min_length=1, max_length=2000, description="Write-only")
    timeout_seconds: float | None = Field(None, gt=0, le=120)
    is_active: bool | None = None
    occurrence_types: dict[str, int] | None = Field(None, description=OCCURRENCE_TYPES_HELP + " (replaces the "
                                                    "whole mapping)", examples=[{"sem_conexao": 2301, "outros": 2305}])

    @field_validator("base_url")
    @classmethod
    def valid_base_url(cls, value: str | None) -> str | None:
        return None if value is None else http_url(value)

    @field_validator("occurrence_types")
    @classmethod
    def valid_occurrence_types(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        if value is None:
            return None
        if unknown := sorted(set(value) - set(KINDS)):
            raise ValueError(f"unknown ticket kind(s) {', '.join(unknown)} (kinds: {', '.join(KINDS)})")
        if bad := sorted(kind for kind, number in value.items() if number <= 0):
            raise ValueError(f"{', '.join(bad)}: an SGP occurrence type id is a positive integer")
        return value

    @model_validator(mode="after")
    def no_nulls(self) -> SgpSettingsPatch:
        return refuse_nulls(self, nullable=("occurrence_types",))


class OccurrenceTypeOut(BaseModel):
    id: int
    name: str
    active: bool


class OccurrenceMappingOut(BaseModel):
    type_id: int | None = Field(description="The `ocorrenciatipo` a ticket of this kind gets; null: refused")
    name: str | None
    source: str | None = Field(description='"setting" (sgp.occurrence_types), "name" (matched in the SGP\'s '
                               'list) or "outros" (no type of its own: the one of outros)')
    error: str | None = Field(description="Why tickets of this kind are refused (also logged when one is)")


class SgpOccurrenceTypesOut(BaseModel):
    types: list[OccurrenceTypeOut] = Field(description="This SGP's ticket types, as it lists them")
    mapping: dict[str, OccurrenceMappingOut] = Field(description="Each NioChat ticket kind and the type it gets")


RETENTION_HELP = (
    "LGPD retention, applied hourly by the worker; null keeps forever (the default). The rows stay so the metrics "
    "keep counting, their content goes")


class Retention(BaseModel):
    messages_days: int | None = Field(None, description="Message texts, voice-note transcripts, media references "
                                      "and survey comments older than this many days are removed")
    media_days: int | None = Field(None, description="Media references (provider link, file name) older than this "
                                   "many days are removed")


class RetentionPatch(BaseModel):
    """Merged field by field; null switches that one off."""

    model_config = ConfigDict(extra="forbid")
    messages_days: int | None = Field(None, ge=1, le=36500)
    media_days: int | None = Field(None, ge=1, le=36500)


class SettingsOut(BaseModel):
    persona: Persona
    business_hours: dict[str, list[Span]]
    reopen_window_minutes: int = Field(description="A customer writing this soon after close reopens the chat")
    phone_handback_minutes: float = Field(
        30, description="After an attendant answering on the instance's phone is silent this long, the bot answers "
        "again (0: never)")
    first_response_target_minutes: int = Field(
        FIRST_RESPONSE_TARGET_MINUTES, description="The time an agent should take to answer first after a handoff "
        "(the workspace shows conversations waiting longer)")
    timezone: str
    ai: AiSettingsOut | None = Field(description="null: no model configured, the rules brain answers")
    sgp: SgpSettingsOut | None
    retention: Retention = Field(default_factory=Retention, description=RETENTION_HELP)


class SettingsPatch(BaseModel):
    """Only the keys given change; persona, ai and sgp are merged field by field, business_hours replaced."""

    model_config = ConfigDict(extra="forbid")
    persona: PersonaPatch | None = None
    business_hours: BusinessHours | None = Field(None, description="null goes back to the default week")
    reopen_window_minutes: int | None = Field(None, ge=0, le=7 * 24 * 60)
    phone_handback_minutes: float | None = Field(None, ge=0, le=7 * 24 * 60)
    first_response_target_minutes: int | None = Field(None, ge=1, le=24 * 60)
    timezone: str | None = None
    ai: AiSettingsPatch | None = None
    sgp: SgpSettingsPatch | None = None
    retention: RetentionPatch | None = Field(None, description=RETENTION_HELP + "; null switches it all off",
                                             examples=[{"messages_days": 365, "media_days": 90}])

    @field_validator("timezone")
    @classmethod
    def valid_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone '{value}' (use an IANA name like America/Sao_Paulo)") from None
        return value

    @model_validator(mode="after")
    def no_nulls(self) -> SettingsPatch:
        return refuse_nulls(self, nullable=("business_hours", "retention"))
