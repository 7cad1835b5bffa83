"""LGPD requests about one person: export (access) and erasure, by phone or by CPF/CNPJ."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PHONE_HELP = "The person's WhatsApp number, digits with country and area code (5511912340001; 55 may be left out)"
DOCUMENT_HELP = "The person's CPF or CNPJ, with or without punctuation; compared by its keyed hash, never stored"


class Subject(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    phone: str | None = Field(None, max_length=40, description=PHONE_HELP)
    document: str | None = Field(None, max_length=40, description=DOCUMENT_HELP)

    @field_validator("phone", "document")
    @classmethod
    def no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("text cannot contain NUL (\\u0000) characters")
        return value

    @model_validator(mode="after")
    def exactly_one(self) -> Subject:
        if bool(self.phone) == bool(self.document):
            raise ValueError("give exactly one of phone or document")
        return self


class ExportRequest(Subject):
    pass


class EraseRequest(Subject):
    confirm: bool = Field(False, description="Must be true to erase: the erasure cannot be undone")
    dry_run: bool = Field(False, description="Only show what would be erased (confirm not needed)")

    @model_validator(mode="after")
    def confirmed(self) -> EraseRequest:
        if not self.dry_run and not self.confirm:
            raise ValueError("set confirm to true to erase (it cannot be undone), or dry_run to true to see what "
                             "would be erased")
        return self


class ErasedContact(BaseModel):
    id: uuid.UUID
    phone: str | None = Field(description="Masked (5511*****0001)")
    whatsapp_lid: str | None = Field(description="Masked")
    name: str | None
    document_masked: str | None


class ErasureOut(BaseModel):
    erased: bool = Field(description="false: a dry run, nothing was changed")
    contacts: list[ErasedContact] = Field(description="The person's contacts, as they were before the erasure")
    counts: dict[str, int] = Field(description="contacts, conversations, open_conversations (closed by the "
                                   "erasure), messages (content removed), media, transcripts, tool_calls, "
                                   "csat_answers, notes and labels (deleted), audit_entries")


EXPORT_EXAMPLE: dict[str, Any] = {
    "format": "niochat-privacy-export", "version": 1, "generated_at": "2026-12-10T14:03:00+00:00",
    "tenant": {"slug": "fibranet", "name": "FibraNet Telecom"}, "lookup": "phone",
    "contacts": [{"id": "…", "phone": "5511912340001", "whatsapp_lid": None, "name": "Maria",
                  "document_masked": "***.982.247-**", "sgp_customer_id": "1001", "created_at": "…",
                  "updated_at": "…", "erased_at": None}],
    "conversations": [{"id": "…", "contact_id": "…", "status": "closed", "created_at": "…",
                       "channel": {"provider": "uazapi", "instance": "principal", "name": "WhatsApp"},
                       "messages": [{"id": "…", "created_at": "…", "direction": "inbound", "sender_kind": "customer",
                                     "content_type": "text", "text": "quero a segunda via", "transcript": None,
                                     "media": None, "status": "processed", "intent": "second_copy"}],
                       "tool_calls": [], "csat": None}],
    "audit_log": [],
}
