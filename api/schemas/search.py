"""Search results: messages, contacts and protocols matching the agent's words or digits."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.conversations import ContactBrief


class SearchHit(BaseModel):
    kind: str = Field(description="message (its text matched), contact (name, phone or document) or protocol")
    conversation_id: uuid.UUID | None = Field(description="The conversation to open; for a contact, their latest "
                                              "one the user may see")
    contact_id: uuid.UUID
    message_id: uuid.UUID | None = None
    snippet: str = Field(description="Plain text around the match (never HTML)")
    highlights: list[tuple[int, int]] = Field(
        default_factory=list, description="[start, end) character offsets of the matched words in snippet")
    at: datetime = Field(description="When the message was sent, or the conversation's latest activity")
    contact: ContactBrief | None = Field(None, description="Who (name, phone or LID), to list the hit")
    status: str | None = Field(None, description="The conversation's status (bot | waiting | open | closed); null "
                               "for a contact with no conversation the user may see")
